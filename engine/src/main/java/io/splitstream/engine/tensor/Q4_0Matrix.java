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
 * field p (a nibble) is element 4w + p/2, plus 16 for the high nibbles (odd p), plus 8.
 *
 * <p>A single token (decode) takes its own kernel, {@link #oneTokenPairs}: it multiplies two nibbles per int
 * lane at once. Masking a word with 0x000F000F leaves nibbles a and b as {@code n_a + 2^16 n_b}; times the
 * activation pair {@code x_b + 2^16 x_a} that is {@code n_a x_b + 2^16 (n_a x_a + n_b x_b)} modulo 2^32, so one
 * 32-bit multiply does two multiply-adds and the wanted sum sits in the upper half. Over a block the lower half
 * (at most 16 * 15 * 127 in magnitude) stays inside 16 signed bits and comes off exactly; the upper half is
 * then the block's sum of unsigned nibbles times x modulo 2^16, and the true sum, sum((n-8)x), lies within 16
 * signed bits (at most 32 * 8 * 127), so subtracting 8*sum(x) modulo 2^16 gives it exactly. Per 16 rows that is
 * a shift, an and, a multiply and an add for 32 multiply-adds, against an and, a convert and two fused
 * multiply-adds in the float kernels; results are the same integers, so bit-identical.
 */
final class Q4_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 18;
    /** Nibble p and nibble p+4 of a word, once shifted down by 4p. */
    private static final int PAIR = 0x000F000F;
    /** The top nibble is stored xor 8 (signed, for the float kernels); this undoes it in the pair (3, 7). */
    private static final int TOP_FLIP = 0x00080000;
    private static final int[] ELEMENT_OF = elementOf();

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols, 4, 8, ELEMENT_OF, 0x80000000);
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
        if (batch != 1) {
            return super.prepare(x, batch, pool);
        }
        tiles();
        return NibblePairActivations.quantize(x, blocks);
    }

    @Override
    void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        if (prepared instanceof NibblePairActivations a) {
            oneTokenPairs(a, out, rowFrom, rowTo);
        } else {
            super.multiplyPrepared(prepared, x, batch, out, rowFrom, rowTo);
        }
    }

    /** One token against the tiles covering rows [rowFrom, rowTo), two nibbles per multiply (class comment). */
    private void oneTokenPairs(NibblePairActivations a, float[] out, int rowFrom, int rowTo) {
        MemorySegment tiled = tiles();
        int[] xp = a.pairs();
        int[] offsets = a.offsets();
        float[] dx = a.d();
        float[] sums = new float[LANES];
        for (int tile = rowFrom / LANES; tile * LANES < rowTo; tile++) {
            FloatVector s = FloatVector.zero(QF);
            for (int blk = 0; blk < blocks; blk++) {
                long o = ((long) tile * blocks + blk) * blockTileBytes;
                long wo = o + 4L * LANES;
                IntVector v0 = IntVector.fromMemorySegment(QI, tiled, wo, LE);
                IntVector v1 = IntVector.fromMemorySegment(QI, tiled, wo + 4L * LANES, LE);
                IntVector v2 = IntVector.fromMemorySegment(QI, tiled, wo + 8L * LANES, LE);
                IntVector v3 = IntVector.fromMemorySegment(QI, tiled, wo + 12L * LANES, LE);
                int xo = blk * 16;
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
                acc0 = acc0.add(v0.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.XOR, TOP_FLIP).and(PAIR).mul(xp[xo + 3]));
                acc1 = acc1.add(v1.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.XOR, TOP_FLIP).and(PAIR).mul(xp[xo + 7]));
                acc2 = acc2.add(v2.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.XOR, TOP_FLIP).and(PAIR).mul(xp[xo + 11]));
                acc3 = acc3.add(v3.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.XOR, TOP_FLIP).and(PAIR).mul(xp[xo + 15]));
                IntVector total = acc0.add(acc1).add(acc2.add(acc3));
                IntVector low = total.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
                IntVector blockSum = total.sub(low).sub(offsets[blk]).lanewise(VectorOperators.ASHR, 16);
                FloatVector dw = FloatVector.fromMemorySegment(QF, tiled, o, LE);
                s = s.add(((FloatVector) blockSum.convert(VectorOperators.I2F, 0)).mul(dw).mul(dx[blk]));
            }
            s.intoArray(sums, 0);
            storeTile(sums, 0, tile, 0, out, rowFrom, rowTo);
        }
    }

    /**
     * One token's activations quantized to Q8_0 ({@link #quantizeBlock}) for {@link #oneTokenPairs}: per block b,
     * {@code pairs[b*16 + 4w + k] = x_b + (x_a << 16)} for word w's nibbles a = k and b = k+4;
     * {@code offsets[b] = (8 * sum(x)) << 16}; {@code d[b]} the block's scale.
     */
    record NibblePairActivations(int[] pairs, int[] offsets, float[] d) {
        static NibblePairActivations quantize(float[] x, int blocks) {
            int[] pairs = new int[blocks * 16];
            int[] offsets = new int[blocks];
            float[] d = new float[blocks];
            float[] q = new float[32];
            for (int b = 0; b < blocks; b++) {
                d[b] = quantizeBlock(x, b * 32, q);
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    sum += (int) q[j];
                }
                offsets[b] = (8 * sum) << 16;
                for (int w = 0; w < 4; w++) {
                    for (int k = 0; k < 4; k++) {
                        int xa = (int) q[ELEMENT_OF[w * 8 + k]];
                        int xb = (int) q[ELEMENT_OF[w * 8 + k + 4]];
                        pairs[b * 16 + 4 * w + k] = xb + (xa << 16);
                    }
                }
            }
            return new NibblePairActivations(pairs, offsets, d);
        }
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
