package io.splitstream.engine.kv;

/**
 * Per-layer element storage for token slots; a slot holds one token's keys and values for all KV heads.
 * Attention reads through {@link #dotKey} and {@link #addValue} so it does not care how elements are stored.
 */
sealed interface KvStorage permits F32KvStorage, Q8KvStorage {

    void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset);

    /** q · key(slot, kvHead). */
    float dotKey(int layer, int slot, int kvHead, float[] q, int qOffset);

    /** out += weight · value(slot, kvHead). */
    void addValue(int layer, int slot, int kvHead, float weight, float[] out, int outOffset);

    /** Reads a slot back as floats (for export and for copying between slots). */
    void load(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset);

    long bytesPerSlot();

    static KvStorage create(KvPrecision precision, int layers, int slots, int kvHeads, int headDim) {
        return switch (precision) {
            case F32 -> new F32KvStorage(layers, slots, kvHeads, headDim);
            case Q8 -> new Q8KvStorage(layers, slots, kvHeads, headDim);
        };
    }
}
