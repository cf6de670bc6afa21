package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weights in 32-element blocks with an F16 scale (Q8_0, Q4_0), multiplied the way llama.cpp does: the
 * activations are quantized to Q8_0, every block's integer dot is exact, and the row's sum is accumulated in
 * block order as {@code sum += sumi * d_w * d_x} (ggml's scalar order: with it our Q8_0 greedy output matches
 * llama.cpp's golden data token for token; ggml's AVX2 order, eight lanes fused-multiply-added, was tried and
 * departs once in 512 tokens, because llama.cpp's other kernels are not bit-identical to ours either).
 *
 * <p>How it is fast: the old kernel widened bytes to float and reduced each block with a full horizontal sum,
 * which cost more than the block's multiply-adds. Here each int lane of a weight vector packs four elements of
 * one block (lane i: elements 4i..4i+3); element k of every lane is extracted with two shifts, converted to
 * float and multiplied with activations that {@link #prepare} stored k-major, so four FMAs give eight exact
 * partial sums per block, and three in-block rotations add them up. A vector of L float lanes covers L/8
 * blocks (two with AVX-512), so all of that runs at the preferred width. Each decoded weight vector serves four
 * batch rows. Integer sums are exact in float (|sum| &lt; 2^24), so none of this reordering changes a bit.
 */
abstract sealed class Q8DotMatrix extends WeightMatrix permits Q8_0Matrix, Q4_0Matrix {

    /** Float species: the preferred width, but at least the 8 lanes of one block. */
    static final VectorSpecies<Float> QF = Kernels.L >= 8 ? Kernels.F : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> QI = QF.withLanes(int.class);
    static final int LANES = QF.length();
    /** Blocks per vector: 1 or 2 (Kernels refuses widths over 512 bits). */
    static final int GROUP = LANES / 8;

    /** Lanes of the g-th block of a group. */
    static final VectorMask<Integer>[] BLOCK_LANES = blockLanes(QI);

    /**
     * Q4_0: block g's 16 quant bytes are int lanes [4g, 4g+4) of a vector loaded 2g bytes after the group's first
     * quant byte; lanes 8g+i and 8g+i+4 both take word i of them (low and high nibbles), picked from the
     * GROUP (at most two) loads by one two-vector permute.
     */
    private static final IntVector NIBBLE_SOURCES = nibbleSources();
    /** Rotations by 4, 2 and 1 within each block's 8 lanes: three fold-and-adds leave block b's sum in lane 8b. */
    private static final VectorShuffle<Float>[] FOLD = folds();

    private final int blockBytes;
    private final int blocks;
    private final int groups;
    private final int fullGroups;
    /** Q4_0: 4-bit elements (true); Q8_0: bytes. */
    private final boolean nibbles;
    /** Per element k, the per-lane left shift that puts the element in the top bits of its int lane. */
    private final IntVector[] toTop;
    /** The right shift (arithmetic) that then sign-extends it: 24 for bytes, 28 for nibbles. */
    private final int fromTop;

    Q8DotMatrix(GgmlType type, MemorySegment data, int rows, int cols, boolean nibbles, int[][] toTop) {
        super(type, data, rows, cols);
        this.blockBytes = (int) type.bytesFor(32);
        this.blocks = cols / 32;
        this.groups = (blocks + GROUP - 1) / GROUP;
        this.fullGroups = blocks / GROUP;
        this.nibbles = nibbles;
        this.toTop = new IntVector[4];
        for (int k = 0; k < 4; k++) {
            this.toTop[k] = IntVector.fromArray(QI, toTop[k], 0);
        }
        this.fromTop = nibbles ? 28 : 24;
    }

    @Override
    final Object prepare(float[] x, int batch) {
        return Q8Activations.quantize(x, batch, cols);
    }

    @Override
    final void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        Q8Activations a = (Q8Activations) prepared;
        int batch4 = batch - batch % 4;
        if (batch4 > 0) {
            batchRowsByFour(a, batch4, out, rowFrom, rowTo);
        }
        for (int bt = batch4; bt < batch; bt++) {
            weightRowsByFour(a, bt, out, rowFrom, rowTo);
        }
    }

    // The two paths below are separate methods so that each gets its own profile and compilation: compiled
    // inside one method, the path a prefill had not taken was later recompiled badly and decode ran 2x slower.

    /** Batch rows [0, batch4) four at a time against each weight row. */
    private void batchRowsByFour(Q8Activations a, int batch4, float[] out, int rowFrom, int rowTo) {
        float[] sums = new float[4];
        for (int r = rowFrom; r < rowTo; r++) {
            long ro = r * rowBytes;
            int vectorGroups = vectorGroups(ro);
            for (int bt = 0; bt < batch4; bt += 4) {
                dot4(ro, vectorGroups, a.q(), a.d(), bt, sums);
                for (int t = 0; t < 4; t++) {
                    out[(bt + t) * rows + r] = finish(sums[t], ro, vectorGroups, a.q(), a.d(), bt + t);
                }
            }
        }
    }

    /**
     * Batch row bt against four weight rows at a time: their block sums first, then their four sequential sums
     * interleaved, which hides the latency of each row's chain of additions (rows past the range repeat the last).
     */
    private void weightRowsByFour(Q8Activations a, int bt, float[] out, int rowFrom, int rowTo) {
        float[] blockSums = new float[4 * groups * LANES];
        for (int r = rowFrom; r < rowTo; r += 4) {
            int r1 = Math.min(r + 1, rowTo - 1), r2 = Math.min(r + 2, rowTo - 1), r3 = Math.min(r + 3, rowTo - 1);
            long ro0 = r * rowBytes, ro1 = r1 * rowBytes, ro2 = r2 * rowBytes, ro3 = r3 * rowBytes;
            int vectorGroups = vectorGroups(ro3);
            int stride = groups * LANES;
            blockSums(ro0, vectorGroups, a.q(), bt, blockSums, 0);
            blockSums(ro1, vectorGroups, a.q(), bt, blockSums, stride);
            blockSums(ro2, vectorGroups, a.q(), bt, blockSums, 2 * stride);
            blockSums(ro3, vectorGroups, a.q(), bt, blockSums, 3 * stride);
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            int d0 = bt * groups * GROUP;
            for (int blk = 0; blk < vectorGroups * GROUP; blk++) {
                int at = (blk / GROUP) * LANES + 8 * (blk % GROUP);
                float dx = a.d()[d0 + blk];
                long bo = (long) blk * blockBytes;
                s0 += blockSums[at] * Kernels.f16(data, ro0 + bo) * dx;
                s1 += blockSums[stride + at] * Kernels.f16(data, ro1 + bo) * dx;
                s2 += blockSums[2 * stride + at] * Kernels.f16(data, ro2 + bo) * dx;
                s3 += blockSums[3 * stride + at] * Kernels.f16(data, ro3 + bo) * dx;
            }
            out[bt * rows + r] = finish(s0, ro0, vectorGroups, a.q(), a.d(), bt);
            out[bt * rows + r1] = finish(s1, ro1, vectorGroups, a.q(), a.d(), bt);
            out[bt * rows + r2] = finish(s2, ro2, vectorGroups, a.q(), a.d(), bt);
            out[bt * rows + r3] = finish(s3, ro3, vectorGroups, a.q(), a.d(), bt);
        }
    }

    /**
     * How many of the row's groups the vector loop takes: whole groups whose loads (up to 4 + vector bytes past
     * the group's start: past its end for Q4_0) stay inside the data. The rest, at most one group per row except
     * near the data's end, go through {@link #finish}.
     */
    private int vectorGroups(long ro) {
        long room = data.byteSize() - 4 - QI.vectorByteSize() - ro;
        return room < 0 ? 0 : (int) Math.min(fullGroups, room / ((long) GROUP * blockBytes) + 1);
    }

    // The vector loops below are written out in full, not split into helpers, and hold no masked loads: a helper
    // that C2 compiled on its own first is not inlined later ("already compiled into a big method"), and a vector
    // that passes through a call or merges with a slow path is boxed, which made these kernels 3-10x slower. For
    // the same reason dot4 and dot1 are separate methods.

    /** Sums of batch rows bt..bt+3 over the row's first {@code vectorGroups} groups, to {@code sums}. */
    private void dot4(long ro, int vectorGroups, float[] q, float[] d, int bt, float[] sums) {
        int qs = groups * 4 * LANES;
        int ds = groups * GROUP;
        int q0 = bt * qs, q1 = q0 + qs, q2 = q1 + qs, q3 = q2 + qs;
        int d0 = bt * ds, d1 = d0 + ds, d2 = d1 + ds, d3 = d2 + ds;
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f;
        for (int g = 0; g < vectorGroups; g++) {
            long offset = ro + (long) g * GROUP * blockBytes;
            IntVector v = IntVector.fromMemorySegment(QI, data, offset + 2, LE);
            if (nibbles) {
                v = NIBBLE_SOURCES.selectFrom(v, GROUP == 1 ? v : IntVector.fromMemorySegment(QI, data, offset + 4, LE))
                        .lanewise(VectorOperators.XOR, 0x88888888);
            } else if (GROUP > 1) {
                v = v.blend(IntVector.fromMemorySegment(QI, data, offset + 4, LE), BLOCK_LANES[1]);
            }
            float dw0 = Kernels.f16(data, offset);
            float dw1 = GROUP > 1 ? Kernels.f16(data, offset + blockBytes) : 0f;
            FloatVector w0 = (FloatVector) v.lanewise(VectorOperators.LSHL, toTop[0]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0);
            FloatVector w1 = (FloatVector) v.lanewise(VectorOperators.LSHL, toTop[1]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0);
            FloatVector w2 = (FloatVector) v.lanewise(VectorOperators.LSHL, toTop[2]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0);
            FloatVector w3 = (FloatVector) v.lanewise(VectorOperators.LSHL, toTop[3]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0);
            int qo = g * 4 * LANES;
            FloatVector s0 = w0.mul(FloatVector.fromArray(QF, q, q0 + qo));
            FloatVector s1 = w0.mul(FloatVector.fromArray(QF, q, q1 + qo));
            FloatVector s2 = w0.mul(FloatVector.fromArray(QF, q, q2 + qo));
            FloatVector s3 = w0.mul(FloatVector.fromArray(QF, q, q3 + qo));
            s0 = w1.fma(FloatVector.fromArray(QF, q, q0 + qo + LANES), s0);
            s1 = w1.fma(FloatVector.fromArray(QF, q, q1 + qo + LANES), s1);
            s2 = w1.fma(FloatVector.fromArray(QF, q, q2 + qo + LANES), s2);
            s3 = w1.fma(FloatVector.fromArray(QF, q, q3 + qo + LANES), s3);
            s0 = w2.fma(FloatVector.fromArray(QF, q, q0 + qo + 2 * LANES), s0);
            s1 = w2.fma(FloatVector.fromArray(QF, q, q1 + qo + 2 * LANES), s1);
            s2 = w2.fma(FloatVector.fromArray(QF, q, q2 + qo + 2 * LANES), s2);
            s3 = w2.fma(FloatVector.fromArray(QF, q, q3 + qo + 2 * LANES), s3);
            s0 = w3.fma(FloatVector.fromArray(QF, q, q0 + qo + 3 * LANES), s0);
            s1 = w3.fma(FloatVector.fromArray(QF, q, q1 + qo + 3 * LANES), s1);
            s2 = w3.fma(FloatVector.fromArray(QF, q, q2 + qo + 3 * LANES), s2);
            s3 = w3.fma(FloatVector.fromArray(QF, q, q3 + qo + 3 * LANES), s3);
            s0 = s0.add(s0.rearrange(FOLD[0]));
            s0 = s0.add(s0.rearrange(FOLD[1]));
            s0 = s0.add(s0.rearrange(FOLD[2]));
            sum0 += s0.lane(0) * dw0 * d[d0 + g * GROUP];
            if (GROUP > 1) {
                sum0 += s0.lane(8) * dw1 * d[d0 + g * GROUP + 1];
            }
            s1 = s1.add(s1.rearrange(FOLD[0]));
            s1 = s1.add(s1.rearrange(FOLD[1]));
            s1 = s1.add(s1.rearrange(FOLD[2]));
            sum1 += s1.lane(0) * dw0 * d[d1 + g * GROUP];
            if (GROUP > 1) {
                sum1 += s1.lane(8) * dw1 * d[d1 + g * GROUP + 1];
            }
            s2 = s2.add(s2.rearrange(FOLD[0]));
            s2 = s2.add(s2.rearrange(FOLD[1]));
            s2 = s2.add(s2.rearrange(FOLD[2]));
            sum2 += s2.lane(0) * dw0 * d[d2 + g * GROUP];
            if (GROUP > 1) {
                sum2 += s2.lane(8) * dw1 * d[d2 + g * GROUP + 1];
            }
            s3 = s3.add(s3.rearrange(FOLD[0]));
            s3 = s3.add(s3.rearrange(FOLD[1]));
            s3 = s3.add(s3.rearrange(FOLD[2]));
            sum3 += s3.lane(0) * dw0 * d[d3 + g * GROUP];
            if (GROUP > 1) {
                sum3 += s3.lane(8) * dw1 * d[d3 + g * GROUP + 1];
            }
        }
        sums[0] = sum0;
        sums[1] = sum1;
        sums[2] = sum2;
        sums[3] = sum3;
    }

    /**
     * Batch row bt's exact integer sum of every block of the row's first {@code vectorGroups} groups: block b of
     * group g to {@code out[o + g*LANES + 8b]} (the other lanes hold partial sums).
     */
    private void blockSums(long ro, int vectorGroups, float[] q, int bt, float[] out, int o) {
        int q0 = bt * groups * 4 * LANES;
        for (int g = 0; g < vectorGroups; g++) {
            long offset = ro + (long) g * GROUP * blockBytes;
            IntVector v = IntVector.fromMemorySegment(QI, data, offset + 2, LE);
            if (nibbles) {
                v = NIBBLE_SOURCES.selectFrom(v, GROUP == 1 ? v : IntVector.fromMemorySegment(QI, data, offset + 4, LE))
                        .lanewise(VectorOperators.XOR, 0x88888888);
            } else if (GROUP > 1) {
                v = v.blend(IntVector.fromMemorySegment(QI, data, offset + 4, LE), BLOCK_LANES[1]);
            }
            int qo = q0 + g * 4 * LANES;
            FloatVector s = ((FloatVector) v.lanewise(VectorOperators.LSHL, toTop[0]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(QF, q, qo));
            s = ((FloatVector) v.lanewise(VectorOperators.LSHL, toTop[1]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(QF, q, qo + LANES), s);
            s = ((FloatVector) v.lanewise(VectorOperators.LSHL, toTop[2]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(QF, q, qo + 2 * LANES), s);
            s = ((FloatVector) v.lanewise(VectorOperators.LSHL, toTop[3]).lanewise(VectorOperators.ASHR, fromTop).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(QF, q, qo + 3 * LANES), s);
            s = s.add(s.rearrange(FOLD[0]));
            s = s.add(s.rearrange(FOLD[1]));
            s.add(s.rearrange(FOLD[2])).intoArray(out, o + g * LANES);
        }
    }

    /** Adds the blocks of the groups from {@code fromGroup} on to {@code sum} (batch row bt) in scalar code. */
    private float finish(float sum, long ro, int fromGroup, float[] q, float[] d, int bt) {
        for (int blk = fromGroup * GROUP; blk < blocks; blk++) {
            int g = blk / GROUP;
            int b = blk % GROUP;
            int qo = (bt * groups + g) * 4 * LANES;
            long offset = ro + (long) blk * blockBytes;
            int sumi = 0;
            for (int j = 0; j < 32; j++) {
                sumi += element(offset, j) * (int) q[qo + (j & 3) * LANES + 8 * b + (j >> 2)];
            }
            sum += sumi * Kernels.f16(data, offset) * d[(bt * groups + g) * GROUP + b];
        }
        return sum;
    }

    /** Element j (0..31) of the block at {@code blockOffset}, as an integer. */
    abstract int element(long blockOffset, int j);

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds() {
        VectorShuffle<Float>[] folds = new VectorShuffle[3];
        for (int i = 0; i < 3; i++) {
            int shift = 4 >> i;
            folds[i] = VectorShuffle.fromOp(QF, lane -> (lane & ~7) | ((lane + shift) & 7));
        }
        return folds;
    }

    private static IntVector nibbleSources() {
        int[] source = new int[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            int g = lane / 8;
            source[lane] = g * LANES + 4 * g + lane % 4;
        }
        return IntVector.fromArray(QI, source, 0);
    }

    @SuppressWarnings("unchecked")
    private static <E> VectorMask<E>[] blockLanes(VectorSpecies<E> species) {
        VectorMask<E>[] masks = new VectorMask[GROUP];
        for (int g = 0; g < GROUP; g++) {
            boolean[] bits = new boolean[LANES];
            for (int i = 0; i < 8; i++) {
                bits[8 * g + i] = true;
            }
            masks[g] = VectorMask.fromArray(species, bits, 0);
        }
        return masks;
    }

    /**
     * Activation rows quantized to Q8_0 exactly as ggml's x86 quantize_row_q8_0 (d = amax/127 rounded to F16,
     * q = round-half-even of x*127/amax), laid out for {@link Q8DotMatrix}: per batch row and block group,
     * {@code q[k*LANES + 8g + i]} = element 4i+k of block g, and {@code d[g]} = block g's d (zero past
     * the row's end).
     */
    record Q8Activations(float[] q, float[] d) {
        static Q8Activations quantize(float[] x, int batch, int n) {
            int blocks = n / 32;
            int groups = (blocks + GROUP - 1) / GROUP;
            float[] q = new float[batch * groups * 4 * LANES];
            float[] d = new float[batch * groups * GROUP];
            for (int b = 0; b < batch; b++) {
                for (int blk = 0; blk < blocks; blk++) {
                    int xo = b * n + blk * 32;
                    float amax = 0f;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(x[xo + j]));
                    }
                    // ggml's x86 SIMD quantize_row_q8_0 (what llama.cpp runs here, and what the golden data used), not
                    // the scalar _ref: the inverse scale is 127/amax and rounding is half-to-even (_mm256_round_ps).
                    float id = amax != 0f ? 127f / amax : 0.0f;
                    int g = blk / GROUP;
                    int lane = 8 * (blk % GROUP);
                    int qo = (b * groups + g) * 4 * LANES + lane;
                    for (int j = 0; j < 32; j++) {
                        q[qo + (j & 3) * LANES + (j >> 2)] = (float) Math.rint(x[xo + j] * id);
                    }
                    float dd = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                    d[(b * groups + g) * GROUP + blk % GROUP] = dd;
                }
            }
            return new Q8Activations(q, d);
        }
    }
}
