package io.splitstream.engine.gguf;

/** Metadata value types, numbered as in the GGUF specification. */
public enum GgufValueType {
    UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64;

    static GgufValueType fromId(int id, long offset) {
        if (id < 0 || id >= values().length) {
            throw new GgufFormatException("unknown metadata value type " + id, offset);
        }
        return values()[id];
    }
}
