package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights: blocks of 32 {half d; int8 qs[32]}. Repacked as eight words per block: word w holds
 * qs[4w..4w+3], so its field p (a byte) is element 4w + p; the lower three bytes are stored xor 0x80, so they
 * read unsigned (plus 128), and the top one signed.
 *
 * <p>The kernels work in floats. A field is taken out with one mask ({@code and}), which leaves it scaled by
 * 2^(8p); the activation it multiplies was scaled by 2^-(8p) when it was quantized, so the product is exact, and
 * the offsets come off as 128*sum(x) per block. So one field costs an and, a convert and a fused multiply-add for
 * LANES rows, and no lane crosses another. Integer-valued floats below 2^24 add exactly in any order. (Q4_0's
 * trick of two products per 32-bit multiply does not fit bytes: their products overflow 16 bits.)
 */
final class Q8_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 34;
    /** Quants (bytes) per word. */
    private static final int FIELDS = 4;
    /** What an unsigned field (all but the top one) exceeds its element by. */
    private static final int OFFSET = 128;
    /** 2^-(8p): what the activation a field p multiplies is scaled by (exact: a power of two). */
    private static final float[] FIELD_SCALE = {1f, 0x1p-8f, 0x1p-16f, 0x1p-24f};
    /** Field p's mask in every lane, at [p*LANES, (p+1)*LANES): loaded as a vector, never held in an object. */
    private static final int[] FIELD_MASKS = new int[FIELDS * LANES];

    static {
        for (int p = 0; p < FIELDS; p++) {
            java.util.Arrays.fill(FIELD_MASKS, p * LANES, (p + 1) * LANES, 0xFF << (8 * p));
        }
    }

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols, 0x00808080);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
            long bo = ro + (long) b * BLOCK;
            float d = Kernels.f16(data, bo);
            for (int j = 0; j < 32; j++) {
                dst[offset + b * 32 + j] = data.get(ValueLayout.JAVA_BYTE, bo + 2 + j) * d;
            }
        }
    }

    @Override
    Object prepare(float[] x, int batch, ComputePool pool) {
        tiles();
        if (batch >= TOKEN_LANES_MIN) {
            return TokenMajorQ8.quantize(x, batch, cols, pool);
        }
        return batch >= TOKEN_GROUP_MIN ? TokenGroupQ8.quantize(x, batch, cols) : rowLaneActivations(x, batch);
    }

    @Override
    void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        if (prepared instanceof TokenMajorQ8 t) {
            tokenLanes(new FloatPrefill(t), t.tp(), batch, out, rowFrom, rowTo);
            return;
        }
        if (prepared instanceof TokenGroupQ8 g) {
            for (int group = 0; group * GROUP < batch; group++) {
                eightTokens(g, group, out, rowFrom, rowTo);
            }
            return;
        }
        RowLaneQ8 a = (RowLaneQ8) prepared;
        int t = 0;
        for (; batch - t >= 2; t += 4) {
            fourTokens(a, t, Math.min(t + 1, batch - 1), Math.min(t + 2, batch - 1), Math.min(t + 3, batch - 1),
                    out, rowFrom, rowTo);
        }
        if (t < batch) {
            oneToken(a, t, out, rowFrom, rowTo);
        }
    }

    /** Token t against the tiles covering rows [rowFrom, rowTo). */
    private void oneToken(RowLaneQ8 a, int t, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        float[] xs = a.xs();
        float[] ox = a.ox();
        float[] dx = a.dx();
        float[] sums = new float[LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s = FloatVector.zero(QF);
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long o = wordsAt(tile, blk);
                int tb = t * blocks + blk;
                FloatVector acc0 = FloatVector.zero(QF), acc1 = acc0, acc2 = acc0, acc3 = acc0;
                for (int w = 0; w < words; w += 4) {
                    long wo = o + 4L * LANES * w;
                    IntVector v0 = IntVector.fromMemorySegment(QI, tiled, wo, LE);
                    IntVector v1 = IntVector.fromMemorySegment(QI, tiled, wo + 4L * LANES, LE);
                    IntVector v2 = IntVector.fromMemorySegment(QI, tiled, wo + 8L * LANES, LE);
                    IntVector v3 = IntVector.fromMemorySegment(QI, tiled, wo + 12L * LANES, LE);
                    int x0 = tb * 32 + w * FIELDS;
                    int x1 = x0 + FIELDS, x2 = x1 + FIELDS, x3 = x2 + FIELDS;
                    for (int p = 0; p < FIELDS; p++) {
                        IntVector m = IntVector.fromArray(QI, FIELD_MASKS, p * LANES);
                        acc0 = ((FloatVector) v0.and(m).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(QF, xs[x0 + p]), acc0);
                        acc1 = ((FloatVector) v1.and(m).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(QF, xs[x1 + p]), acc1);
                        acc2 = ((FloatVector) v2.and(m).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(QF, xs[x2 + p]), acc2);
                        acc3 = ((FloatVector) v3.and(m).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(QF, xs[x3 + p]), acc3);
                    }
                }
                FloatVector blockSum = acc0.add(acc1).add(acc2.add(acc3)).sub(ox[tb]);
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s = s.add(blockSum.mul(dw).mul(dx[tb]));
            }
            s.intoArray(sums, 0);
            storeTile(sums, 0, tile, t, out, rowFrom, rowTo);
        }
    }

    /** Tokens t0..t3 (repeats allowed) against the tiles covering rows [rowFrom, rowTo). */
    private void fourTokens(RowLaneQ8 a, int t0, int t1, int t2, int t3, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        float[] xs = a.xs();
        float[] ox = a.ox();
        float[] dx = a.dx();
        float[] sums = new float[4 * LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s0 = FloatVector.zero(QF), s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long o = wordsAt(tile, blk);
                int b0 = t0 * blocks + blk, b1 = t1 * blocks + blk, b2 = t2 * blocks + blk, b3 = t3 * blocks + blk;
                FloatVector a0 = FloatVector.zero(QF), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                for (int w = 0; w < words; w += 2) {
                    long wo = o + 4L * LANES * w;
                    IntVector v = IntVector.fromMemorySegment(QI, tiled, wo, LE);
                    IntVector u = IntVector.fromMemorySegment(QI, tiled, wo + 4L * LANES, LE);
                    int xv = w * FIELDS, xu = xv + FIELDS;
                    for (int p = 0; p < FIELDS; p++) {
                        IntVector m = IntVector.fromArray(QI, FIELD_MASKS, p * LANES);
                        FloatVector fv = (FloatVector) v.and(m).convert(VectorOperators.I2F, 0);
                        FloatVector fu = (FloatVector) u.and(m).convert(VectorOperators.I2F, 0);
                        a0 = fv.fma(FloatVector.broadcast(QF, xs[b0 * 32 + xv + p]), a0);
                        c0 = fu.fma(FloatVector.broadcast(QF, xs[b0 * 32 + xu + p]), c0);
                        a1 = fv.fma(FloatVector.broadcast(QF, xs[b1 * 32 + xv + p]), a1);
                        c1 = fu.fma(FloatVector.broadcast(QF, xs[b1 * 32 + xu + p]), c1);
                        a2 = fv.fma(FloatVector.broadcast(QF, xs[b2 * 32 + xv + p]), a2);
                        c2 = fu.fma(FloatVector.broadcast(QF, xs[b2 * 32 + xu + p]), c2);
                        a3 = fv.fma(FloatVector.broadcast(QF, xs[b3 * 32 + xv + p]), a3);
                        c3 = fu.fma(FloatVector.broadcast(QF, xs[b3 * 32 + xu + p]), c3);
                    }
                }
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s0 = s0.add(a0.add(c0).sub(ox[b0]).mul(dw).mul(dx[b0]));
                s1 = s1.add(a1.add(c1).sub(ox[b1]).mul(dw).mul(dx[b1]));
                s2 = s2.add(a2.add(c2).sub(ox[b2]).mul(dw).mul(dx[b2]));
                s3 = s3.add(a3.add(c3).sub(ox[b3]).mul(dw).mul(dx[b3]));
            }
            s0.intoArray(sums, 0);
            s1.intoArray(sums, LANES);
            s2.intoArray(sums, 2 * LANES);
            s3.intoArray(sums, 3 * LANES);
            storeFourTiles(sums, tile, t0, t1, t2, t3, out, rowFrom, rowTo);
        }
    }

    /**
     * Group {@code group} of eight tokens against the tiles covering rows [rowFrom, rowTo): each field is widened
     * once for all eight, whose activations, side by side, are read at fixed offsets from one index; eight
     * accumulators cover the fused multiply-add's latency. (Written out over all eight words it was no faster.)
     */
    private void eightTokens(TokenGroupQ8 a, int group, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        float[] xs = a.xs();
        float[] starts = a.starts();
        float[] dx = a.dx();
        float[] sums = new float[GROUP * LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s0 = FloatVector.zero(QF), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            for (int blk = 0; blk < blocks; blk++) {
                long pair = scalesAt(tile, blk);
                long o = wordsAt(tile, blk);
                int gb = (group * blocks + blk) * GROUP;
                FloatVector a0 = FloatVector.broadcast(QF, starts[gb]), a1 = FloatVector.broadcast(QF, starts[gb + 1]);
                FloatVector a2 = FloatVector.broadcast(QF, starts[gb + 2]), a3 = FloatVector.broadcast(QF, starts[gb + 3]);
                FloatVector a4 = FloatVector.broadcast(QF, starts[gb + 4]), a5 = FloatVector.broadcast(QF, starts[gb + 5]);
                FloatVector a6 = FloatVector.broadcast(QF, starts[gb + 6]), a7 = FloatVector.broadcast(QF, starts[gb + 7]);
                for (int w = 0; w < words; w++) {
                    IntVector v = IntVector.fromMemorySegment(QI, tiled, o + 4L * LANES * w, LE);
                    int x = (gb + w) * FIELDS * GROUP;
                    FloatVector f = (FloatVector) v.and(IntVector.fromArray(QI, FIELD_MASKS, 0)).convert(VectorOperators.I2F, 0);
                    a0 = f.fma(FloatVector.broadcast(QF, xs[x]), a0); a1 = f.fma(FloatVector.broadcast(QF, xs[x + 1]), a1);
                    a2 = f.fma(FloatVector.broadcast(QF, xs[x + 2]), a2); a3 = f.fma(FloatVector.broadcast(QF, xs[x + 3]), a3);
                    a4 = f.fma(FloatVector.broadcast(QF, xs[x + 4]), a4); a5 = f.fma(FloatVector.broadcast(QF, xs[x + 5]), a5);
                    a6 = f.fma(FloatVector.broadcast(QF, xs[x + 6]), a6); a7 = f.fma(FloatVector.broadcast(QF, xs[x + 7]), a7);
                    f = (FloatVector) v.and(IntVector.fromArray(QI, FIELD_MASKS, LANES)).convert(VectorOperators.I2F, 0);
                    a0 = f.fma(FloatVector.broadcast(QF, xs[x + 8]), a0); a1 = f.fma(FloatVector.broadcast(QF, xs[x + 9]), a1);
                    a2 = f.fma(FloatVector.broadcast(QF, xs[x + 10]), a2); a3 = f.fma(FloatVector.broadcast(QF, xs[x + 11]), a3);
                    a4 = f.fma(FloatVector.broadcast(QF, xs[x + 12]), a4); a5 = f.fma(FloatVector.broadcast(QF, xs[x + 13]), a5);
                    a6 = f.fma(FloatVector.broadcast(QF, xs[x + 14]), a6); a7 = f.fma(FloatVector.broadcast(QF, xs[x + 15]), a7);
                    f = (FloatVector) v.and(IntVector.fromArray(QI, FIELD_MASKS, 2 * LANES)).convert(VectorOperators.I2F, 0);
                    a0 = f.fma(FloatVector.broadcast(QF, xs[x + 16]), a0); a1 = f.fma(FloatVector.broadcast(QF, xs[x + 17]), a1);
                    a2 = f.fma(FloatVector.broadcast(QF, xs[x + 18]), a2); a3 = f.fma(FloatVector.broadcast(QF, xs[x + 19]), a3);
                    a4 = f.fma(FloatVector.broadcast(QF, xs[x + 20]), a4); a5 = f.fma(FloatVector.broadcast(QF, xs[x + 21]), a5);
                    a6 = f.fma(FloatVector.broadcast(QF, xs[x + 22]), a6); a7 = f.fma(FloatVector.broadcast(QF, xs[x + 23]), a7);
                    f = (FloatVector) v.and(IntVector.fromArray(QI, FIELD_MASKS, 3 * LANES)).convert(VectorOperators.I2F, 0);
                    a0 = f.fma(FloatVector.broadcast(QF, xs[x + 24]), a0); a1 = f.fma(FloatVector.broadcast(QF, xs[x + 25]), a1);
                    a2 = f.fma(FloatVector.broadcast(QF, xs[x + 26]), a2); a3 = f.fma(FloatVector.broadcast(QF, xs[x + 27]), a3);
                    a4 = f.fma(FloatVector.broadcast(QF, xs[x + 28]), a4); a5 = f.fma(FloatVector.broadcast(QF, xs[x + 29]), a5);
                    a6 = f.fma(FloatVector.broadcast(QF, xs[x + 30]), a6); a7 = f.fma(FloatVector.broadcast(QF, xs[x + 31]), a7);
                }
                IntVector sh = IntVector.fromMemorySegment(QI, tiled, pair, LE).lanewise(VectorOperators.LSHL, (blk & 1) << 4);
                FloatVector dw = ((FloatVector) sh.lanewise(VectorOperators.LSHR, SCALE_SHIFT).and(SCALE_BITS).or(sh.and(0x80000000))
                        .convert(VectorOperators.REINTERPRET_I2F, 0)).mul(0x1p112f);
                s0 = s0.add(a0.mul(dw).mul(dx[gb]));
                s1 = s1.add(a1.mul(dw).mul(dx[gb + 1]));
                s2 = s2.add(a2.mul(dw).mul(dx[gb + 2]));
                s3 = s3.add(a3.mul(dw).mul(dx[gb + 3]));
                s4 = s4.add(a4.mul(dw).mul(dx[gb + 4]));
                s5 = s5.add(a5.mul(dw).mul(dx[gb + 5]));
                s6 = s6.add(a6.mul(dw).mul(dx[gb + 6]));
                s7 = s7.add(a7.mul(dw).mul(dx[gb + 7]));
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
     * Prefill: a tile is widened to integer-valued floats (lane = row), and eight of its rows at a time have each
     * element broadcast and fused-multiply-added against that element of 2*LANES tokens (exact: integer sums);
     * every block is then added as {@code sum += blockSum * d_w * d_x}, lane by lane: the scalar order, so results
     * are bit-identical to the row-lane paths.
     */
    private final class FloatPrefill implements PrefillKernel {
        private final TokenMajorQ8 a;
        private final float[] w = new float[blocks * 32 * LANES];
        private final float[] dw = new float[blocks * LANES];

        FloatPrefill(TokenMajorQ8 a) {
            this.a = a;
        }

        @Override
        public void unpack(int tile, int blkFrom, int blkTo) {
            unpackTile(tile, blkFrom, blkTo, w, dw);
        }

        @Override
        public void pass(int tv, int lane, int blkFrom, int blkTo, float[] sums, int at) {
            tokenTile(a, tv, w, dw, lane, blkFrom, blkTo, sums, at);
        }

        @Override
        public int activationBytesPerBlock() {
            return 32 * Float.BYTES;
        }
    }

    /**
     * Blocks [blkFrom, blkTo) of tile rows lane..lane+7 against tokens [tv, tv + 2*LANES), added to
     * {@code sums[at + i*2*LANES + t - tv]}. Sixteen accumulators keep both FMA pipes busy through their latency;
     * the row sums live in {@code sums} (touched once per block) to leave the registers to them.
     */
    private void tokenTile(TokenMajorQ8 a, int tv, float[] w, float[] dw, int lane, int blkFrom, int blkTo,
            float[] sums, int at) {
        float[] q = a.q();
        float[] d = a.d();
        int tp = a.tp();
        for (int blk = blkFrom; blk < blkTo; blk++) {
            FloatVector a00 = FloatVector.zero(QF), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            FloatVector a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
            int xo = blk * 32 * tp + tv;
            int wo = blk * 32 * LANES + lane;
            for (int j = 0; j < 32; j++) {
                FloatVector x0 = FloatVector.fromArray(QF, q, xo + j * tp);
                FloatVector x1 = FloatVector.fromArray(QF, q, xo + j * tp + LANES);
                int wj = wo + j * LANES;
                FloatVector w0 = FloatVector.broadcast(QF, w[wj]);
                a00 = w0.fma(x0, a00);
                a01 = w0.fma(x1, a01);
                FloatVector w1 = FloatVector.broadcast(QF, w[wj + 1]);
                a10 = w1.fma(x0, a10);
                a11 = w1.fma(x1, a11);
                FloatVector w2 = FloatVector.broadcast(QF, w[wj + 2]);
                a20 = w2.fma(x0, a20);
                a21 = w2.fma(x1, a21);
                FloatVector w3 = FloatVector.broadcast(QF, w[wj + 3]);
                a30 = w3.fma(x0, a30);
                a31 = w3.fma(x1, a31);
                FloatVector w4 = FloatVector.broadcast(QF, w[wj + 4]);
                a40 = w4.fma(x0, a40);
                a41 = w4.fma(x1, a41);
                FloatVector w5 = FloatVector.broadcast(QF, w[wj + 5]);
                a50 = w5.fma(x0, a50);
                a51 = w5.fma(x1, a51);
                FloatVector w6 = FloatVector.broadcast(QF, w[wj + 6]);
                a60 = w6.fma(x0, a60);
                a61 = w6.fma(x1, a61);
                FloatVector w7 = FloatVector.broadcast(QF, w[wj + 7]);
                a70 = w7.fma(x0, a70);
                a71 = w7.fma(x1, a71);
            }
            FloatVector dx0 = FloatVector.fromArray(QF, d, blk * tp + tv);
            FloatVector dx1 = FloatVector.fromArray(QF, d, blk * tp + tv + LANES);
            int dl = blk * LANES + lane;
            FloatVector.fromArray(QF, sums, at).add(a00.mul(dw[dl]).mul(dx0)).intoArray(sums, at);
            FloatVector.fromArray(QF, sums, at + LANES).add(a01.mul(dw[dl]).mul(dx1)).intoArray(sums, at + LANES);
            FloatVector.fromArray(QF, sums, at + 2 * LANES).add(a10.mul(dw[dl + 1]).mul(dx0)).intoArray(sums, at + 2 * LANES);
            FloatVector.fromArray(QF, sums, at + 3 * LANES).add(a11.mul(dw[dl + 1]).mul(dx1)).intoArray(sums, at + 3 * LANES);
            FloatVector.fromArray(QF, sums, at + 4 * LANES).add(a20.mul(dw[dl + 2]).mul(dx0)).intoArray(sums, at + 4 * LANES);
            FloatVector.fromArray(QF, sums, at + 5 * LANES).add(a21.mul(dw[dl + 2]).mul(dx1)).intoArray(sums, at + 5 * LANES);
            FloatVector.fromArray(QF, sums, at + 6 * LANES).add(a30.mul(dw[dl + 3]).mul(dx0)).intoArray(sums, at + 6 * LANES);
            FloatVector.fromArray(QF, sums, at + 7 * LANES).add(a31.mul(dw[dl + 3]).mul(dx1)).intoArray(sums, at + 7 * LANES);
            FloatVector.fromArray(QF, sums, at + 8 * LANES).add(a40.mul(dw[dl + 4]).mul(dx0)).intoArray(sums, at + 8 * LANES);
            FloatVector.fromArray(QF, sums, at + 9 * LANES).add(a41.mul(dw[dl + 4]).mul(dx1)).intoArray(sums, at + 9 * LANES);
            FloatVector.fromArray(QF, sums, at + 10 * LANES).add(a50.mul(dw[dl + 5]).mul(dx0)).intoArray(sums, at + 10 * LANES);
            FloatVector.fromArray(QF, sums, at + 11 * LANES).add(a51.mul(dw[dl + 5]).mul(dx1)).intoArray(sums, at + 11 * LANES);
            FloatVector.fromArray(QF, sums, at + 12 * LANES).add(a60.mul(dw[dl + 6]).mul(dx0)).intoArray(sums, at + 12 * LANES);
            FloatVector.fromArray(QF, sums, at + 13 * LANES).add(a61.mul(dw[dl + 6]).mul(dx1)).intoArray(sums, at + 13 * LANES);
            FloatVector.fromArray(QF, sums, at + 14 * LANES).add(a70.mul(dw[dl + 7]).mul(dx0)).intoArray(sums, at + 14 * LANES);
            FloatVector.fromArray(QF, sums, at + 15 * LANES).add(a71.mul(dw[dl + 7]).mul(dx1)).intoArray(sums, at + 15 * LANES);
        }
    }

    /**
     * Blocks [blkFrom, blkTo) of a tile's elements as integer-valued floats to {@code w[(blk*32 + e)*LANES + lane]},
     * their scales to dw.
     */
    private void unpackTile(int tile, int blkFrom, int blkTo, float[] w, float[] dw) {
        MemorySegment tiled = tiles();
        tileScales(tiled, tile, blkFrom, blkTo, dw);
        for (int blk = blkFrom; blk < blkTo; blk++) {
            long o = wordsAt(tile, blk);
            for (int word = 0; word < words; word++) {
                IntVector v = IntVector.fromMemorySegment(QI, tiled, o + 4L * LANES * word, LE);
                for (int p = 0; p < FIELDS - 1; p++) {
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 8 * p).and(0xFF).sub(OFFSET)
                            .convert(VectorOperators.I2F, 0))
                            .intoArray(w, (blk * 32 + 4 * word + p) * LANES);
                }
                ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                        .intoArray(w, (blk * 32 + 4 * word + 3) * LANES);
            }
        }
    }

    /**
     * Activations for the row-lane paths, per batch row t and block b: {@code xs[(t*blocks + b)*32 + w*fields + p]}
     * = the quant that word w's field p multiplies, times 2^-(8p); {@code ox} = offset * the sum of
     * the quants that the unsigned fields multiply; {@code dx} = the block's d.
     */
    record RowLaneQ8(float[] xs, float[] ox, float[] dx) {
    }

    private RowLaneQ8 rowLaneActivations(float[] x, int batch) {
        float[] xs = new float[batch * blocks * 32];
        float[] ox = new float[batch * blocks];
        float[] dx = new float[batch * blocks];
        quantizeBlocks(x, batch, cols, null, (blk, t, d, q) -> {
            int tb = t * blocks + blk;
            dx[tb] = d;
            ox[tb] = scaledFields(q, xs, tb * 32, 1);
        });
        return new RowLaneQ8(xs, ox, dx);
    }

    /**
     * A quantized block's activations as the row-lane kernels read them, element j times 2^-(8p) for its field
     * p = j % FIELDS, to {@code dst[at + j * stride]}; returns the block's offset, OFFSET times the sum of the
     * elements that unsigned fields multiply.
     */
    private static float scaledFields(int[] q, float[] dst, int at, int stride) {
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int p = j % FIELDS;
            dst[at + j * stride] = q[j] * FIELD_SCALE[p];
            sum += p < FIELDS - 1 ? q[j] : 0;
        }
        return OFFSET * sum;
    }

    /**
     * Activations for {@link #eightTokens}, in the {@link #GROUP} layout: at slot s of token t, block blk, its d
     * in dx and minus its offset (where its block sum starts) in starts; {@link RowLaneQ8}'s element j at
     * {@code xs[(s - i)*32 + j*GROUP + i]}, i the token's lane in its group.
     */
    record TokenGroupQ8(float[] xs, float[] starts, float[] dx, int batch) {
        static TokenGroupQ8 quantize(float[] x, int batch, int cols) {
            int blocks = cols / 32;
            int slots = groupSlots(batch, blocks);
            float[] xs = new float[slots * 32];
            float[] starts = new float[slots];
            float[] dx = new float[slots];
            quantizeBlocks(x, batch, cols, null, (blk, t, d, q) -> {
                int at = groupSlot(t, blk, blocks);
                int lane = t % GROUP;
                dx[at] = d;
                starts[at] = -scaledFields(q, xs, (at - lane) * 32 + lane, GROUP);
            });
            return new TokenGroupQ8(xs, starts, dx, batch);
        }
    }

    /**
     * Activation rows quantized by {@link #quantizeBlock}, laid out for the prefill kernel: token t's element j of
     * block blk at {@code q[(blk*32 + j)*tp + t]}, its d at {@code d[blk*tp + t]}, with tp the
     * {@link #paddedTokens padded} batch.
     */
    record TokenMajorQ8(float[] q, float[] d, int tp) {
        static TokenMajorQ8 quantize(float[] x, int batch, int n, ComputePool pool) {
            int tp = paddedTokens(batch);
            float[] q = new float[n * tp];
            float[] d = new float[n / 32 * tp];
            quantizeBlocks(x, batch, n, pool, (blk, t, dq, block) -> {
                d[blk * tp + t] = dq;
                for (int j = 0; j < 32; j++) {
                    q[(blk * 32 + j) * tp + t] = block[j];
                }
            });
            return new TokenMajorQ8(q, d, tp);
        }
    }
}
