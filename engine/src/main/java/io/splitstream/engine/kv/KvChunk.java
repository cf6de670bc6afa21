package io.splitstream.engine.kv;

/**
 * One layer's keys and values for a range of a sequence's positions, as floats: {@code tokens × kvDim} each,
 * position-major. The wire format (and any int8 payload) is the transport's business.
 */
public record KvChunk(int layer, int fromPosition, int tokens, float[] keys, float[] values) {
    public KvChunk {
        if (keys.length != values.length || tokens <= 0 || keys.length % tokens != 0) {
            throw new IllegalArgumentException("inconsistent KV chunk: " + tokens + " tokens, "
                    + keys.length + " keys, " + values.length + " values");
        }
    }
}
