package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 weights: blocks of 32 {half d; uint8 qs[16]}, element j = (qs[j] &amp; 0xF) - 8 and element
 * j+16 = (qs[j] &gt;&gt; 4) - 8, times d. Repacked as four words per block: word w holds qs[4w..4w+3], so its
 * nibble p is element 4w + p/2, plus 16 for the high nibbles (odd p), plus 8.
 *
 * <p>The kernels multiply two nibbles per 32-bit integer lane. Masking a word shifted down by 4k with 0x000F000F
 * leaves nibbles a = k and b = k+4 as {@code n_a + 2^16 n_b}; times the activation pair {@code x_b + 2^16 x_a} that
 * is {@code n_a x_b + 2^16 (n_a x_a + n_b x_b)} modulo 2^32, so one multiply does two multiply-adds and the wanted
 * sum sits in the upper half. Over a block the lower half (at most 16 * 15 * 127 in magnitude) stays inside 16
 * signed bits; the upper half is the block's sum of unsigned nibbles times x modulo 2^16, and the true sum,
 * sum((n-8)x), lies within 16 signed bits (at most 32 * 8 * 127), so subtracting 8*sum(x) - 2^15 (the 2^15 rounds
 * the lower half away) and shifting right by 16 gives it exactly. Per LANES rows a pair costs a shift, an and, a
 * multiply and an add for 32 multiply-adds, where floats need an and, a convert and two fused multiply-adds; the
 * block sums are the same integers as {@link Q8_0Matrix}'s float kernels form, so results are exact in the same way.
 */
final class Q4_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 18;
    /** Nibble k and nibble k+4 of a word, once shifted down by 4k. */
    private static final int PAIR = 0x000F000F;
    /** Starts a block's sums so that an arithmetic shift right by 16 rounds their lower half away. */
    private static final int ROUND = 0x8000;
    private static final int[] ELEMENT_OF = elementOf();

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols, 0);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
            long bo = ro + (long) b * BLOCK;
            float d = Kernels.f16(data, bo);
            int o = offset + b * 32;
            for (int j = 0; j < 16; j++) {
                int v = data.get(ValueLayout.JAVA_BYTE, bo + 2 + j) & 0xFF;
                dst[o + j] = ((v & 0x0F) - 8) * d;
                dst[o + j + 16] = ((v >> 4) - 8) * d;
            }
        }
    }

    @Override
    Object prepare(float[] x, int batch, ComputePool pool) {
        tiles();
        if (batch >= TOKEN_LANES_MIN) {
            return TokenMajorPairs.quantize(x, batch, cols, pool);
        }
        return batch >= TOKEN_GROUP_MIN ? TokenGroupPairs.quantize(x, batch, cols)
                : NibblePairActivations.quantize(x, batch, cols);
    }

    @Override
    void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        if (prepared instanceof TokenMajorPairs a) {
            tokenLanes(new PairPrefill(a), a.tp(), batch, out, rowFrom, rowTo);
            return;
        }
        if (prepared instanceof TokenGroupPairs a) {
            for (int group = 0; group * GROUP < batch; group++) {
                eightTokensPairs(a, group, out, rowFrom, rowTo);
            }
            return;
        }
        NibblePairActivations a = (NibblePairActivations) prepared;
        int t = 0;
        for (; batch - t >= 2; t += 4) {
            fourTokensPairs(a, t, Math.min(t + 1, batch - 1), Math.min(t + 2, batch - 1), Math.min(t + 3, batch - 1),
                    out, rowFrom, rowTo);
        }
        if (t < batch) {
            oneTokenPairs(a, t, out, rowFrom, rowTo);
        }
    }

    /**
     * Prefill: a tile is unpacked into signed weight pairs {@code q_{k+16} + (q_k << 16)}, which multiply token
     * lanes holding {@code x_k + (x_{k+16} << 16)}: the upper half collects {@code x_k q_k + x_{k+16} q_{k+16}},
     * the lower one at most 16 * 8 * 127 over a block, so with the accumulator started at 2^15 the block sum is
     * one arithmetic shift.
     */
    private final class PairPrefill implements PrefillKernel {
        private final TokenMajorPairs a;
        private final int[] w = new int[blocks * 16 * LANES];
        private final float[] dw = new float[blocks * LANES];

        PairPrefill(TokenMajorPairs a) {
            this.a = a;
        }

        @Override
        public void unpack(int tile, int blkFrom, int blkTo) {
            unpackPairs(tile, blkFrom, blkTo, w, dw);
        }

        @Override
        public void pass(int tv, int lane, int blkFrom, int blkTo, float[] sums, int at) {
            tokenTilePairs(a, tv, w, dw, lane, blkFrom, blkTo, sums, at);
        }

        @Override
        public int activationBytesPerBlock() {
            return 16 * Integer.BYTES;
        }
    }

    /**
     * Blocks [blkFrom, blkTo) of a tile's weights as signed pairs {@code q_{k+16} + (q_k << 16)} to
     * {@code w[(blk*16 + k)*LANES + lane]}, their scales to dw.
     */
    private void unpackPairs(int tile, int blkFrom, int blkTo, int[] w, float[] dw) {
        MemorySegment tiled = tiles();
        tileScales(tiled, tile, blkFrom, blkTo, dw);
        for (int blk = blkFrom; blk < blkTo; blk++) {
            long o = wordsAt(tile, blk);
            for (int word = 0; word < 4; word++) {
                IntVector v = IntVector.fromMemorySegment(QI, tiled, o + 4L * LANES * word, LE);
                for (int i = 0; i < 4; i++) {
                    IntVector lo = v.lanewise(VectorOperators.LSHR, 8 * i).and(0xF).sub(8);
                    IntVector hi = v.lanewise(VectorOperators.LSHR, 8 * i + 4).and(0xF).sub(8);
                    hi.add(lo.lanewise(VectorOperators.LSHL, 16)).intoArray(w, (blk * 16 + 4 * word + i) * LANES);
                }
            }
        }
    }

    /** {@link PrefillKernel#pass} over an unpacked tile: sixteen accumulators, eight rows by two token vectors. */
    private void tokenTilePairs(TokenMajorPairs a, int tv, int[] w, float[] dw, int lane, int blkFrom, int blkTo,
            float[] sums, int at) {
        int[] q = a.pairs();
        float[] d = a.d();
        int tp = a.tp();
        for (int blk = blkFrom; blk < blkTo; blk++) {
            IntVector a00 = IntVector.broadcast(QI, ROUND), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            IntVector a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
            int xo = blk * 16 * tp + tv;
            int wo = blk * 16 * LANES + lane;
            for (int k = 0; k < 16; k++) {
                IntVector x0 = IntVector.fromArray(QI, q, xo + k * tp);
                IntVector x1 = IntVector.fromArray(QI, q, xo + k * tp + LANES);
                int wk = wo + k * LANES;
                int w0 = w[wk];
                a00 = a00.add(x0.mul(w0));
                a01 = a01.add(x1.mul(w0));
                int w1 = w[wk + 1];
                a10 = a10.add(x0.mul(w1));
                a11 = a11.add(x1.mul(w1));
                int w2 = w[wk + 2];
                a20 = a20.add(x0.mul(w2));
                a21 = a21.add(x1.mul(w2));
                int w3 = w[wk + 3];
                a30 = a30.add(x0.mul(w3));
                a31 = a31.add(x1.mul(w3));
                int w4 = w[wk + 4];
                a40 = a40.add(x0.mul(w4));
                a41 = a41.add(x1.mul(w4));
                int w5 = w[wk + 5];
                a50 = a50.add(x0.mul(w5));
                a51 = a51.add(x1.mul(w5));
                int w6 = w[wk + 6];
                a60 = a60.add(x0.mul(w6));
                a61 = a61.add(x1.mul(w6));
                int w7 = w[wk + 7];
                a70 = a70.add(x0.mul(w7));
                a71 = a71.add(x1.mul(w7));
            }
            FloatVector dx0 = FloatVector.fromArray(QF, d, blk * tp + tv);
            FloatVector dx1 = FloatVector.fromArray(QF, d, blk * tp + tv + LANES);
            int dl = blk * LANES + lane;
            FloatVector.fromArray(QF, sums, at).add(((FloatVector) a00.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl]).mul(dx0)).intoArray(sums, at);
            FloatVector.fromArray(QF, sums, at + LANES).add(((FloatVector) a01.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl]).mul(dx1)).intoArray(sums, at + LANES);
            FloatVector.fromArray(QF, sums, at + 2 * LANES).add(((FloatVector) a10.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 1]).mul(dx0)).intoArray(sums, at + 2 * LANES);
            FloatVector.fromArray(QF, sums, at + 3 * LANES).add(((FloatVector) a11.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 1]).mul(dx1)).intoArray(sums, at + 3 * LANES);
            FloatVector.fromArray(QF, sums, at + 4 * LANES).add(((FloatVector) a20.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 2]).mul(dx0)).intoArray(sums, at + 4 * LANES);
            FloatVector.fromArray(QF, sums, at + 5 * LANES).add(((FloatVector) a21.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 2]).mul(dx1)).intoArray(sums, at + 5 * LANES);
            FloatVector.fromArray(QF, sums, at + 6 * LANES).add(((FloatVector) a30.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 3]).mul(dx0)).intoArray(sums, at + 6 * LANES);
            FloatVector.fromArray(QF, sums, at + 7 * LANES).add(((FloatVector) a31.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 3]).mul(dx1)).intoArray(sums, at + 7 * LANES);
            FloatVector.fromArray(QF, sums, at + 8 * LANES).add(((FloatVector) a40.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 4]).mul(dx0)).intoArray(sums, at + 8 * LANES);
            FloatVector.fromArray(QF, sums, at + 9 * LANES).add(((FloatVector) a41.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 4]).mul(dx1)).intoArray(sums, at + 9 * LANES);
            FloatVector.fromArray(QF, sums, at + 10 * LANES).add(((FloatVector) a50.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 5]).mul(dx0)).intoArray(sums, at + 10 * LANES);
            FloatVector.fromArray(QF, sums, at + 11 * LANES).add(((FloatVector) a51.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 5]).mul(dx1)).intoArray(sums, at + 11 * LANES);
            FloatVector.fromArray(QF, sums, at + 12 * LANES).add(((FloatVector) a60.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 6]).mul(dx0)).intoArray(sums, at + 12 * LANES);
            FloatVector.fromArray(QF, sums, at + 13 * LANES).add(((FloatVector) a61.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 6]).mul(dx1)).intoArray(sums, at + 13 * LANES);
            FloatVector.fromArray(QF, sums, at + 14 * LANES).add(((FloatVector) a70.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 7]).mul(dx0)).intoArray(sums, at + 14 * LANES);
            FloatVector.fromArray(QF, sums, at + 15 * LANES).add(((FloatVector) a71.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw[dl + 7]).mul(dx1)).intoArray(sums, at + 15 * LANES);
        }
    }

    /**
     * Activation rows quantized by {@link #quantizeBlock}, laid out for {@link PairPrefill}: token t's pair k of
     * block blk, {@code x_k + (x_{k+16} << 16)}, at {@code pairs[(blk*16 + k)*tp + t]}, its d at
     * {@code d[blk*tp + t]}, with tp the {@link #paddedTokens padded} batch.
     */
    record TokenMajorPairs(int[] pairs, float[] d, int tp) {
        static TokenMajorPairs quantize(float[] x, int batch, int n, ComputePool pool) {
            int tp = paddedTokens(batch);
            int[] pairs = new int[n / 2 * tp];
            float[] d = new float[n / 32 * tp];
            quantizeBlocks(x, batch, n, pool, (blk, t, dq, q) -> {
                d[blk * tp + t] = dq;
                for (int k = 0; k < 16; k++) {
                    pairs[(blk * 16 + k) * tp + t] = q[k] + (q[k + 16] << 16);
                }
            });
            return new TokenMajorPairs(pairs, d, tp);
        }
    }

    /** Token t against the tiles covering rows [rowFrom, rowTo), two nibbles per multiply (class comment). */
    private void oneTokenPairs(NibblePairActivations a, int t, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        int[] xp = a.pairs();
        int[] offsets = a.offsets();
        float[] dx = a.d();
        float[] sums = new float[LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s = FloatVector.zero(QF);
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long wo = wordsAt(tile, blk);
                IntVector v0 = IntVector.fromMemorySegment(QI, tiled, wo, LE);
                IntVector v1 = IntVector.fromMemorySegment(QI, tiled, wo + 4L * LANES, LE);
                IntVector v2 = IntVector.fromMemorySegment(QI, tiled, wo + 8L * LANES, LE);
                IntVector v3 = IntVector.fromMemorySegment(QI, tiled, wo + 12L * LANES, LE);
                int tb = t * blocks + blk;
                int xo = tb * 16;
                IntVector acc0 = v0.and(PAIR).mul(xp[xo]);
                IntVector acc1 = v1.and(PAIR).mul(xp[xo + 4]);
                IntVector acc2 = v2.and(PAIR).mul(xp[xo + 8]);
                IntVector acc3 = v3.and(PAIR).mul(xp[xo + 12]);
                acc0 = acc0.add(v0.lanewise(VectorOperators.LSHR, 4).and(PAIR).mul(xp[xo + 1]));
                acc1 = acc1.add(v1.lanewise(VectorOperators.LSHR, 4).and(PAIR).mul(xp[xo + 5]));
                acc2 = acc2.add(v2.lanewise(VectorOperators.LSHR, 4).and(PAIR).mul(xp[xo + 9]));
                acc3 = acc3.add(v3.lanewise(VectorOperators.LSHR, 4).and(PAIR).mul(xp[xo + 13]));
                acc0 = acc0.add(v0.lanewise(VectorOperators.LSHR, 8).and(PAIR).mul(xp[xo + 2]));
                acc1 = acc1.add(v1.lanewise(VectorOperators.LSHR, 8).and(PAIR).mul(xp[xo + 6]));
                acc2 = acc2.add(v2.lanewise(VectorOperators.LSHR, 8).and(PAIR).mul(xp[xo + 10]));
                acc3 = acc3.add(v3.lanewise(VectorOperators.LSHR, 8).and(PAIR).mul(xp[xo + 14]));
                acc0 = acc0.add(v0.lanewise(VectorOperators.LSHR, 12).and(PAIR).mul(xp[xo + 3]));
                acc1 = acc1.add(v1.lanewise(VectorOperators.LSHR, 12).and(PAIR).mul(xp[xo + 7]));
                acc2 = acc2.add(v2.lanewise(VectorOperators.LSHR, 12).and(PAIR).mul(xp[xo + 11]));
                acc3 = acc3.add(v3.lanewise(VectorOperators.LSHR, 12).and(PAIR).mul(xp[xo + 15]));
                IntVector blockSum = acc0.add(acc1).add(acc2.add(acc3)).sub(offsets[tb]).lanewise(VectorOperators.ASHR, 16);
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s = s.add(((FloatVector) blockSum.convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[tb]));
            }
            s.intoArray(sums, 0);
            storeTile(sums, 0, tile, t, out, rowFrom, rowTo);
        }
    }

    /** Tokens t0..t3 (repeats allowed) against the tiles covering rows [rowFrom, rowTo): one field pair, four tokens. */
    private void fourTokensPairs(NibblePairActivations a, int t0, int t1, int t2, int t3, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        int[] xp = a.pairs();
        int[] offsets = a.offsets();
        float[] dx = a.d();
        float[] sums = new float[4 * LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s0 = FloatVector.zero(QF), s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long o = wordsAt(tile, blk);
                int b0 = t0 * blocks + blk, b1 = t1 * blocks + blk, b2 = t2 * blocks + blk, b3 = t3 * blocks + blk;
                IntVector a0 = IntVector.zero(QI), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                for (int w = 0; w < 4; w += 2) {
                    long wo = o + 4L * LANES * w;
                    IntVector v = IntVector.fromMemorySegment(QI, tiled, wo, LE);
                    IntVector u = IntVector.fromMemorySegment(QI, tiled, wo + 4L * LANES, LE);
                    for (int k = 0; k < 4; k++) {
                        IntVector fv = v.lanewise(VectorOperators.LSHR, 4 * k).and(PAIR);
                        IntVector fu = u.lanewise(VectorOperators.LSHR, 4 * k).and(PAIR);
                        int xv = 4 * w + k, xu = xv + 4;
                        a0 = a0.add(fv.mul(xp[b0 * 16 + xv]));
                        c0 = c0.add(fu.mul(xp[b0 * 16 + xu]));
                        a1 = a1.add(fv.mul(xp[b1 * 16 + xv]));
                        c1 = c1.add(fu.mul(xp[b1 * 16 + xu]));
                        a2 = a2.add(fv.mul(xp[b2 * 16 + xv]));
                        c2 = c2.add(fu.mul(xp[b2 * 16 + xu]));
                        a3 = a3.add(fv.mul(xp[b3 * 16 + xv]));
                        c3 = c3.add(fu.mul(xp[b3 * 16 + xu]));
                    }
                }
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s0 = s0.add(((FloatVector) a0.add(c0).sub(offsets[b0]).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[b0]));
                s1 = s1.add(((FloatVector) a1.add(c1).sub(offsets[b1]).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[b1]));
                s2 = s2.add(((FloatVector) a2.add(c2).sub(offsets[b2]).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[b2]));
                s3 = s3.add(((FloatVector) a3.add(c3).sub(offsets[b3]).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[b3]));
            }
            s0.intoArray(sums, 0);
            s1.intoArray(sums, LANES);
            s2.intoArray(sums, 2 * LANES);
            s3.intoArray(sums, 3 * LANES);
            storeFourTiles(sums, tile, t0, t1, t2, t3, out, rowFrom, rowTo);
        }
    }

    /**
     * Group {@code group} of eight tokens against the tiles covering rows [rowFrom, rowTo): each nibble pair is
     * taken out of its word once for all eight, whose activations, side by side, are read at fixed offsets from
     * one index. Measured in one process: an index per token (C2 spilled them) was 12-16% slower, and a loop over
     * the four words 8-15% slower than this written-out block.
     */
    private void eightTokensPairs(TokenGroupPairs a, int group, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        int[] xp = a.pairs();
        int[] starts = a.starts();
        float[] dx = a.d();
        float[] sums = new float[GROUP * LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s0 = FloatVector.zero(QF), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long o = wordsAt(tile, blk);
                int gb = (group * blocks + blk) * GROUP;
                IntVector a0 = IntVector.broadcast(QI, starts[gb]), a1 = IntVector.broadcast(QI, starts[gb + 1]);
                IntVector a2 = IntVector.broadcast(QI, starts[gb + 2]), a3 = IntVector.broadcast(QI, starts[gb + 3]);
                IntVector a4 = IntVector.broadcast(QI, starts[gb + 4]), a5 = IntVector.broadcast(QI, starts[gb + 5]);
                IntVector a6 = IntVector.broadcast(QI, starts[gb + 6]), a7 = IntVector.broadcast(QI, starts[gb + 7]);
                int p = gb * 16;
                IntVector v = IntVector.fromMemorySegment(QI, tiled, o, LE);
                IntVector f = v.and(PAIR);
                a0 = a0.add(f.mul(xp[p])); a1 = a1.add(f.mul(xp[p + 1])); a2 = a2.add(f.mul(xp[p + 2])); a3 = a3.add(f.mul(xp[p + 3]));
                a4 = a4.add(f.mul(xp[p + 4])); a5 = a5.add(f.mul(xp[p + 5])); a6 = a6.add(f.mul(xp[p + 6])); a7 = a7.add(f.mul(xp[p + 7]));
                f = v.lanewise(VectorOperators.LSHR, 4).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 8])); a1 = a1.add(f.mul(xp[p + 9])); a2 = a2.add(f.mul(xp[p + 10])); a3 = a3.add(f.mul(xp[p + 11]));
                a4 = a4.add(f.mul(xp[p + 12])); a5 = a5.add(f.mul(xp[p + 13])); a6 = a6.add(f.mul(xp[p + 14])); a7 = a7.add(f.mul(xp[p + 15]));
                f = v.lanewise(VectorOperators.LSHR, 8).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 16])); a1 = a1.add(f.mul(xp[p + 17])); a2 = a2.add(f.mul(xp[p + 18])); a3 = a3.add(f.mul(xp[p + 19]));
                a4 = a4.add(f.mul(xp[p + 20])); a5 = a5.add(f.mul(xp[p + 21])); a6 = a6.add(f.mul(xp[p + 22])); a7 = a7.add(f.mul(xp[p + 23]));
                f = v.lanewise(VectorOperators.LSHR, 12).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 24])); a1 = a1.add(f.mul(xp[p + 25])); a2 = a2.add(f.mul(xp[p + 26])); a3 = a3.add(f.mul(xp[p + 27]));
                a4 = a4.add(f.mul(xp[p + 28])); a5 = a5.add(f.mul(xp[p + 29])); a6 = a6.add(f.mul(xp[p + 30])); a7 = a7.add(f.mul(xp[p + 31]));
                v = IntVector.fromMemorySegment(QI, tiled, o + 4L * LANES, LE);
                f = v.and(PAIR);
                a0 = a0.add(f.mul(xp[p + 32])); a1 = a1.add(f.mul(xp[p + 33])); a2 = a2.add(f.mul(xp[p + 34])); a3 = a3.add(f.mul(xp[p + 35]));
                a4 = a4.add(f.mul(xp[p + 36])); a5 = a5.add(f.mul(xp[p + 37])); a6 = a6.add(f.mul(xp[p + 38])); a7 = a7.add(f.mul(xp[p + 39]));
                f = v.lanewise(VectorOperators.LSHR, 4).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 40])); a1 = a1.add(f.mul(xp[p + 41])); a2 = a2.add(f.mul(xp[p + 42])); a3 = a3.add(f.mul(xp[p + 43]));
                a4 = a4.add(f.mul(xp[p + 44])); a5 = a5.add(f.mul(xp[p + 45])); a6 = a6.add(f.mul(xp[p + 46])); a7 = a7.add(f.mul(xp[p + 47]));
                f = v.lanewise(VectorOperators.LSHR, 8).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 48])); a1 = a1.add(f.mul(xp[p + 49])); a2 = a2.add(f.mul(xp[p + 50])); a3 = a3.add(f.mul(xp[p + 51]));
                a4 = a4.add(f.mul(xp[p + 52])); a5 = a5.add(f.mul(xp[p + 53])); a6 = a6.add(f.mul(xp[p + 54])); a7 = a7.add(f.mul(xp[p + 55]));
                f = v.lanewise(VectorOperators.LSHR, 12).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 56])); a1 = a1.add(f.mul(xp[p + 57])); a2 = a2.add(f.mul(xp[p + 58])); a3 = a3.add(f.mul(xp[p + 59]));
                a4 = a4.add(f.mul(xp[p + 60])); a5 = a5.add(f.mul(xp[p + 61])); a6 = a6.add(f.mul(xp[p + 62])); a7 = a7.add(f.mul(xp[p + 63]));
                v = IntVector.fromMemorySegment(QI, tiled, o + 8L * LANES, LE);
                f = v.and(PAIR);
                a0 = a0.add(f.mul(xp[p + 64])); a1 = a1.add(f.mul(xp[p + 65])); a2 = a2.add(f.mul(xp[p + 66])); a3 = a3.add(f.mul(xp[p + 67]));
                a4 = a4.add(f.mul(xp[p + 68])); a5 = a5.add(f.mul(xp[p + 69])); a6 = a6.add(f.mul(xp[p + 70])); a7 = a7.add(f.mul(xp[p + 71]));
                f = v.lanewise(VectorOperators.LSHR, 4).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 72])); a1 = a1.add(f.mul(xp[p + 73])); a2 = a2.add(f.mul(xp[p + 74])); a3 = a3.add(f.mul(xp[p + 75]));
                a4 = a4.add(f.mul(xp[p + 76])); a5 = a5.add(f.mul(xp[p + 77])); a6 = a6.add(f.mul(xp[p + 78])); a7 = a7.add(f.mul(xp[p + 79]));
                f = v.lanewise(VectorOperators.LSHR, 8).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 80])); a1 = a1.add(f.mul(xp[p + 81])); a2 = a2.add(f.mul(xp[p + 82])); a3 = a3.add(f.mul(xp[p + 83]));
                a4 = a4.add(f.mul(xp[p + 84])); a5 = a5.add(f.mul(xp[p + 85])); a6 = a6.add(f.mul(xp[p + 86])); a7 = a7.add(f.mul(xp[p + 87]));
                f = v.lanewise(VectorOperators.LSHR, 12).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 88])); a1 = a1.add(f.mul(xp[p + 89])); a2 = a2.add(f.mul(xp[p + 90])); a3 = a3.add(f.mul(xp[p + 91]));
                a4 = a4.add(f.mul(xp[p + 92])); a5 = a5.add(f.mul(xp[p + 93])); a6 = a6.add(f.mul(xp[p + 94])); a7 = a7.add(f.mul(xp[p + 95]));
                v = IntVector.fromMemorySegment(QI, tiled, o + 12L * LANES, LE);
                f = v.and(PAIR);
                a0 = a0.add(f.mul(xp[p + 96])); a1 = a1.add(f.mul(xp[p + 97])); a2 = a2.add(f.mul(xp[p + 98])); a3 = a3.add(f.mul(xp[p + 99]));
                a4 = a4.add(f.mul(xp[p + 100])); a5 = a5.add(f.mul(xp[p + 101])); a6 = a6.add(f.mul(xp[p + 102])); a7 = a7.add(f.mul(xp[p + 103]));
                f = v.lanewise(VectorOperators.LSHR, 4).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 104])); a1 = a1.add(f.mul(xp[p + 105])); a2 = a2.add(f.mul(xp[p + 106])); a3 = a3.add(f.mul(xp[p + 107]));
                a4 = a4.add(f.mul(xp[p + 108])); a5 = a5.add(f.mul(xp[p + 109])); a6 = a6.add(f.mul(xp[p + 110])); a7 = a7.add(f.mul(xp[p + 111]));
                f = v.lanewise(VectorOperators.LSHR, 8).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 112])); a1 = a1.add(f.mul(xp[p + 113])); a2 = a2.add(f.mul(xp[p + 114])); a3 = a3.add(f.mul(xp[p + 115]));
                a4 = a4.add(f.mul(xp[p + 116])); a5 = a5.add(f.mul(xp[p + 117])); a6 = a6.add(f.mul(xp[p + 118])); a7 = a7.add(f.mul(xp[p + 119]));
                f = v.lanewise(VectorOperators.LSHR, 12).and(PAIR);
                a0 = a0.add(f.mul(xp[p + 120])); a1 = a1.add(f.mul(xp[p + 121])); a2 = a2.add(f.mul(xp[p + 122])); a3 = a3.add(f.mul(xp[p + 123]));
                a4 = a4.add(f.mul(xp[p + 124])); a5 = a5.add(f.mul(xp[p + 125])); a6 = a6.add(f.mul(xp[p + 126])); a7 = a7.add(f.mul(xp[p + 127]));
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s0 = s0.add(((FloatVector) a0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb]));
                s1 = s1.add(((FloatVector) a1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 1]));
                s2 = s2.add(((FloatVector) a2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 2]));
                s3 = s3.add(((FloatVector) a3.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 3]));
                s4 = s4.add(((FloatVector) a4.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 4]));
                s5 = s5.add(((FloatVector) a5.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 5]));
                s6 = s6.add(((FloatVector) a6.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 6]));
                s7 = s7.add(((FloatVector) a7.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[gb + 7]));
            }
            s0.intoArray(sums, 0);
            s1.intoArray(sums, LANES);
            s2.intoArray(sums, 2 * LANES);
            s3.intoArray(sums, 3 * LANES);
            s4.intoArray(sums, 4 * LANES);
            s5.intoArray(sums, 5 * LANES);
            s6.intoArray(sums, 6 * LANES);
            s7.intoArray(sums, 7 * LANES);
            storeGroup(sums, tile, group, a.batch(), out, rowFrom, rowTo);
        }
    }

    /**
     * Activation rows quantized to Q8_0 ({@link #quantizeBlock}) for {@link #eightTokensPairs}, in the
     * {@link #GROUP} layout: at slot s of token t, block blk, its scale in d and the start of its block sum,
     * {@code 2^15 - (8 * sum(x) << 16)}, in starts; {@link NibblePairActivations}'s pair x at
     * {@code pairs[(s - i)*16 + x*GROUP + i]}, i the token's lane in its group.
     */
    record TokenGroupPairs(int[] pairs, int[] starts, float[] d, int batch) {
        static TokenGroupPairs quantize(float[] x, int batch, int cols) {
            int blocks = cols / 32;
            int slots = groupSlots(batch, blocks);
            int[] pairs = new int[slots * 16];
            int[] starts = new int[slots];
            float[] d = new float[slots];
            quantizeBlocks(x, batch, cols, null, (blk, t, dq, q) -> {
                int at = groupSlot(t, blk, blocks);
                int lane = t % GROUP;
                d[at] = dq;
                starts[at] = -nibblePairs(q, pairs, (at - lane) * 16 + lane, GROUP);
            });
            return new TokenGroupPairs(pairs, starts, d, batch);
        }
    }

    /**
     * Activation rows quantized to Q8_0 ({@link #quantizeBlock}) for the row-lane kernels: per token t and block,
     * at tb = t*blocks + block, {@code pairs[tb*16 + 4w + k] = x_b + (x_a << 16)} for word w's nibbles a = k and
     * b = k+4, {@code offsets[tb] = (8 * sum(x) << 16) - 2^15} and {@code d[tb]} the block's scale.
     */
    record NibblePairActivations(int[] pairs, int[] offsets, float[] d) {
        static NibblePairActivations quantize(float[] x, int batch, int cols) {
            int blocks = cols / 32;
            int[] pairs = new int[batch * blocks * 16];
            int[] offsets = new int[batch * blocks];
            float[] d = new float[batch * blocks];
            quantizeBlocks(x, batch, cols, null, (blk, t, dq, q) -> {
                int tb = t * blocks + blk;
                d[tb] = dq;
                offsets[tb] = nibblePairs(q, pairs, tb * 16, 1);
            });
            return new NibblePairActivations(pairs, offsets, d);
        }
    }

    /**
     * A quantized block's 16 activation pairs, {@code x_b + (x_a << 16)} for word w's nibbles a = k and b = k+4,
     * to {@code dst[at + (4w + k) * stride]}; returns the block's offset {@code (8 * sum(x) << 16) - 2^15}.
     */
    private static int nibblePairs(int[] q, int[] dst, int at, int stride) {
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            sum += q[j];
        }
        for (int w = 0; w < 4; w++) {
            for (int k = 0; k < 4; k++) {
                int xa = q[ELEMENT_OF[w * 8 + k]];
                int xb = q[ELEMENT_OF[w * 8 + k + 4]];
                dst[at + (4 * w + k) * stride] = xb + (xa << 16);
            }
        }
        return ((8 * sum) << 16) - ROUND;
    }

    private static int[] elementOf() {
        int[] e = new int[32];
        for (int w = 0; w < 4; w++) {
            for (int p = 0; p < 8; p++) {
                e[w * 8 + p] = 16 * (p % 2) + 4 * w + p / 2;
            }
        }
        return e;
    }
}
