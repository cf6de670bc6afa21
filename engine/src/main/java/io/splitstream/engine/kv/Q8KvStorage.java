package io.splitstream.engine.kv;

/** int8 storage with one scale per token and KV head; see {@link KvPrecision#Q8}. */
final class Q8KvStorage implements KvStorage {
    private final byte[][] keys;
    private final byte[][] values;
    private final float[][] keyScales;
    private final float[][] valueScales;
    private final int kvHeads;
    private final int headDim;

    Q8KvStorage(int layers, int slots, int kvHeads, int headDim) {
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        int elements = Math.multiplyExact(slots, kvHeads * headDim);
        keys = new byte[layers][elements];
        values = new byte[layers][elements];
        keyScales = new float[layers][slots * kvHeads];
        valueScales = new float[layers][slots * kvHeads];
    }

    @Override
    public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            int at = (slot * kvHeads + h);
            keyScales[layer][at] = quantize(k, kOffset + h * headDim, keys[layer], at * headDim);
            valueScales[layer][at] = quantize(v, vOffset + h * headDim, values[layer], at * headDim);
        }
    }

    private float quantize(float[] src, int from, byte[] dst, int to) {
        float max = 0f;
        for (int i = 0; i < headDim; i++) {
            max = Math.max(max, Math.abs(src[from + i]));
        }
        float scale = max / 127f;
        float inverse = scale == 0f ? 0f : 1f / scale;
        for (int i = 0; i < headDim; i++) {
            dst[to + i] = (byte) Math.round(src[from + i] * inverse);
        }
        return scale;
    }

    @Override
    public float dotKey(int layer, int slot, int kvHead, float[] q, int qOffset) {
        int at = slot * kvHeads + kvHead;
        byte[] k = keys[layer];
        int base = at * headDim;
        float sum = 0f;
        for (int i = 0; i < headDim; i++) {
            sum += q[qOffset + i] * k[base + i];
        }
        return sum * keyScales[layer][at];
    }

    @Override
    public void addValue(int layer, int slot, int kvHead, float weight, float[] out, int outOffset) {
        int at = slot * kvHeads + kvHead;
        byte[] v = values[layer];
        int base = at * headDim;
        float w = weight * valueScales[layer][at];
        for (int i = 0; i < headDim; i++) {
            out[outOffset + i] += w * v[base + i];
        }
    }

    @Override
    public void load(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            int at = slot * kvHeads + h;
            for (int i = 0; i < headDim; i++) {
                k[kOffset + h * headDim + i] = keys[layer][at * headDim + i] * keyScales[layer][at];
                v[vOffset + h * headDim + i] = values[layer][at * headDim + i] * valueScales[layer][at];
            }
        }
    }

    @Override
    public long bytesPerSlot() {
        return 2L * kvHeads * (headDim + Float.BYTES) * keys.length;
    }
}
