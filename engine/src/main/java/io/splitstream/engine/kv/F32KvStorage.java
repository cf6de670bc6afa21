package io.splitstream.engine.kv;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Exact float storage. */
final class F32KvStorage implements KvStorage {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private final float[][] keys;
    private final float[][] values;
    private final int kvDim;
    private final int headDim;

    F32KvStorage(int layers, int slots, int kvHeads, int headDim) {
        this.kvDim = kvHeads * headDim;
        this.headDim = headDim;
        keys = new float[layers][Math.multiplyExact(slots, kvDim)];
        values = new float[layers][Math.multiplyExact(slots, kvDim)];
    }

    @Override
    public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        System.arraycopy(k, kOffset, keys[layer], slot * kvDim, kvDim);
        System.arraycopy(v, vOffset, values[layer], slot * kvDim, kvDim);
    }

    @Override
    public float dotKey(int layer, int slot, int kvHead, float[] q, int qOffset) {
        float[] k = keys[layer];
        int base = slot * kvDim + kvHead * headDim;
        int i = 0;
        float sum = 0f;
        if (headDim >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (; i <= headDim - S.length(); i += S.length()) {
                acc = FloatVector.fromArray(S, q, qOffset + i).fma(FloatVector.fromArray(S, k, base + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < headDim; i++) {
            sum += q[qOffset + i] * k[base + i];
        }
        return sum;
    }

    @Override
    public void addValue(int layer, int slot, int kvHead, float weight, float[] out, int outOffset) {
        float[] v = values[layer];
        int base = slot * kvDim + kvHead * headDim;
        int i = 0;
        if (headDim >= S.length()) {
            FloatVector w = FloatVector.broadcast(S, weight);
            for (; i <= headDim - S.length(); i += S.length()) {
                FloatVector.fromArray(S, v, base + i).fma(w, FloatVector.fromArray(S, out, outOffset + i))
                        .intoArray(out, outOffset + i);
            }
        }
        for (; i < headDim; i++) {
            out[outOffset + i] += weight * v[base + i];
        }
    }

    @Override
    public void load(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        System.arraycopy(keys[layer], slot * kvDim, k, kOffset, kvDim);
        System.arraycopy(values[layer], slot * kvDim, v, vOffset, kvDim);
    }

    @Override
    public long bytesPerSlot() {
        return 2L * kvDim * Float.BYTES * keys.length;
    }
}
