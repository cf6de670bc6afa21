package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorShape;
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
    /** One byte per float lane: quant bytes widened lane for lane to int or float. */
    static final VectorSpecies<Byte> QB = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    /** Batches of at least this many rows take {@link #tokenLanes} (prefill); smaller ones the decode paths. */
    static final int TOKEN_LANES_MIN = LANES;
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
        return batch >= TOKEN_LANES_MIN ? TokenMajorQ8.quantize(x, batch, cols) : Q8Activations.quantize(x, batch, cols);
    }

    @Override
    final void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        if (prepared instanceof TokenMajorQ8 t) {
            tokenLanes(t, batch, out, rowFrom, rowTo);
            return;
        }
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

    /**
     * Prefill: float lanes hold batch rows (tokens), so nothing is reduced across lanes and the scale step runs
     * for many tokens at once. Four weight rows at a time are widened to integer-valued floats; each of their
     * elements is broadcast and fused-multiply-added against that element of 2*LANES tokens (exact: integer
     * sums), then every block is added as {@code sum += blockSum * d_w * d_x}, lane by lane: the scalar order, so
     * results are bit-identical to the decode paths. Rows past the range repeat the last.
     */
    private void tokenLanes(TokenMajorQ8 a, int batch, float[] out, int rowFrom, int rowTo) {
        int n = blocks * 32;
        float[] w = new float[4 * n];
        float[] dw = new float[4 * blocks];
        float[] sums = new float[4 * 2 * LANES];
        for (int r = rowFrom; r < rowTo; r += 4) {
            for (int i = 0; i < 4; i++) {
                unpackRow(Math.min(r + i, rowTo - 1) * rowBytes, w, i * n, dw, i * blocks);
            }
            for (int tv = 0; tv < a.tp(); tv += 2 * LANES) {
                tokenTile(a, tv, w, dw, sums);
                for (int i = 0; i < 4 && r + i < rowTo; i++) {
                    for (int t = tv; t < Math.min(batch, tv + 2 * LANES); t++) {
                        out[t * rows + r + i] = sums[i * 2 * LANES + t - tv];
                    }
                }
            }
        }
    }

    /** Four unpacked weight rows against tokens [tv, tv + 2*LANES): to {@code sums[i*2*LANES + t - tv]}. */
    private void tokenTile(TokenMajorQ8 a, int tv, float[] w, float[] dw, float[] sums) {
        float[] q = a.q();
        float[] d = a.d();
        int tp = a.tp();
        int n = blocks * 32;
        FloatVector s00 = FloatVector.zero(QF), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        for (int blk = 0; blk < blocks; blk++) {
            FloatVector a00 = FloatVector.zero(QF), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            int xo = blk * 32 * tp + tv;
            int wo = blk * 32;
            for (int j = 0; j < 32; j++) {
                FloatVector x0 = FloatVector.fromArray(QF, q, xo + j * tp);
                FloatVector x1 = FloatVector.fromArray(QF, q, xo + j * tp + LANES);
                FloatVector w0 = FloatVector.broadcast(QF, w[wo + j]);
                a00 = w0.fma(x0, a00);
                a01 = w0.fma(x1, a01);
                FloatVector w1 = FloatVector.broadcast(QF, w[n + wo + j]);
                a10 = w1.fma(x0, a10);
                a11 = w1.fma(x1, a11);
                FloatVector w2 = FloatVector.broadcast(QF, w[2 * n + wo + j]);
                a20 = w2.fma(x0, a20);
                a21 = w2.fma(x1, a21);
                FloatVector w3 = FloatVector.broadcast(QF, w[3 * n + wo + j]);
                a30 = w3.fma(x0, a30);
                a31 = w3.fma(x1, a31);
            }
            FloatVector dx0 = FloatVector.fromArray(QF, d, blk * tp + tv);
            FloatVector dx1 = FloatVector.fromArray(QF, d, blk * tp + tv + LANES);
            s00 = s00.add(a00.mul(dw[blk]).mul(dx0));
            s01 = s01.add(a01.mul(dw[blk]).mul(dx1));
            s10 = s10.add(a10.mul(dw[blocks + blk]).mul(dx0));
            s11 = s11.add(a11.mul(dw[blocks + blk]).mul(dx1));
            s20 = s20.add(a20.mul(dw[2 * blocks + blk]).mul(dx0));
            s21 = s21.add(a21.mul(dw[2 * blocks + blk]).mul(dx1));
            s30 = s30.add(a30.mul(dw[3 * blocks + blk]).mul(dx0));
            s31 = s31.add(a31.mul(dw[3 * blocks + blk]).mul(dx1));
        }
        s00.intoArray(sums, 0);
        s01.intoArray(sums, LANES);
        s10.intoArray(sums, 2 * LANES);
        s11.intoArray(sums, 3 * LANES);
        s20.intoArray(sums, 4 * LANES);
        s21.intoArray(sums, 5 * LANES);
        s30.intoArray(sums, 6 * LANES);
        s31.intoArray(sums, 7 * LANES);
    }

    /**
     * Writes the row at byte offset {@code ro} as integer-valued floats in element order to {@code w[wo ..]} and
     * its block scales to {@code dw[dwo ..]}.
     */
    abstract void unpackRow(long ro, float[] w, int wo, float[] dw, int dwo);

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
     * One 32-block of activations quantized to Q8_0 exactly as ggml's x86 SIMD quantize_row_q8_0 (what llama.cpp
     * runs here, and what the golden data used), not the scalar _ref: d = amax/127 rounded to F16, and
     * q = round-half-even of x*127/amax (_mm256_round_ps). Writes q in element order to {@code q}; returns d.
     */
    static float quantizeBlock(float[] x, int xo, float[] q) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[xo + j]));
        }
        float id = amax != 0f ? 127f / amax : 0.0f;
        for (int j = 0; j < 32; j++) {
            q[j] = (float) Math.rint(x[xo + j] * id);
        }
        return Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
    }

    /**
     * Activation rows quantized by {@link #quantizeBlock}, laid out for the decode paths: per batch row and block
     * group, {@code q[k*LANES + 8g + i]} = element 4i+k of block g, and {@code d[g]} = block g's d (zero past
     * the row's end).
     */
    record Q8Activations(float[] q, float[] d) {
        static Q8Activations quantize(float[] x, int batch, int n) {
            int blocks = n / 32;
            int groups = (blocks + GROUP - 1) / GROUP;
            float[] q = new float[batch * groups * 4 * LANES];
            float[] d = new float[batch * groups * GROUP];
            float[] block = new float[32];
            for (int b = 0; b < batch; b++) {
                for (int blk = 0; blk < blocks; blk++) {
                    int g = blk / GROUP;
                    d[(b * groups + g) * GROUP + blk % GROUP] = quantizeBlock(x, b * n + blk * 32, block);
                    int qo = (b * groups + g) * 4 * LANES + 8 * (blk % GROUP);
                    for (int j = 0; j < 32; j++) {
                        q[qo + (j & 3) * LANES + (j >> 2)] = block[j];
                    }
                }
            }
            return new Q8Activations(q, d);
        }
    }

    /**
     * Activation rows quantized by {@link #quantizeBlock}, laid out for {@link #tokenLanes}: token t's element j
     * of block blk at {@code q[(blk*32 + j)*tp + t]}, its d at {@code d[blk*tp + t]}, with tp the batch rounded
     * up to a multiple of 2*LANES (the padding tokens are zero).
     */
    record TokenMajorQ8(float[] q, float[] d, int tp) {
        static TokenMajorQ8 quantize(float[] x, int batch, int n) {
            int blocks = n / 32;
            int tp = (batch + 2 * LANES - 1) / (2 * LANES) * (2 * LANES);
            float[] q = new float[blocks * 32 * tp];
            float[] d = new float[blocks * tp];
            float[] block = new float[32];
            for (int t = 0; t < batch; t++) {
                for (int blk = 0; blk < blocks; blk++) {
                    d[blk * tp + t] = quantizeBlock(x, t * n + blk * 32, block);
                    for (int j = 0; j < 32; j++) {
                        q[(blk * 32 + j) * tp + t] = block[j];
                    }
                }
            }
            return new TokenMajorQ8(q, d, tp);
        }
    }
}
