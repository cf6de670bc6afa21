package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WeightMatrixTest {

    private static ComputePool pool2;
    private static ComputePool pool3;

    @BeforeAll
    static void pools() {
        pool2 = new ComputePool(2);
        pool3 = new ComputePool(3);
    }

    @AfterAll
    static void closePools() {
        pool2.close();
        pool3.close();
    }

    // ---------------------------------------------------------------- helpers

    static MemorySegment segment(byte[] bytes) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, bytes.length), 64);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return s;
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static short h(float f) {
        return Float.floatToFloat16(f);
    }

    static float[] gaussian(Random rnd, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * scale;
        }
        return v;
    }

    static MemorySegment quantize(GgmlType type, float[] w, int rows, int cols) {
        long rowBytes = type.bytesFor(cols);
        MemorySegment s = Arena.ofAuto().allocate(rowBytes * rows, 64);
        for (int r = 0; r < rows; r++) {
            Quantizer.quantizeRow(type, w, r * cols, cols, s, r * rowBytes);
        }
        return s;
    }

    static float[] dequantizeAll(WeightMatrix m) {
        float[] all = new float[m.rows() * m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, all, r * m.cols());
        }
        return all;
    }

    // ---------------------------------------------------------------- dequantize: hand-built blocks

    @Test
    void dequantizeF32() {
        ByteBuffer b = le(4 * 6);
        float[] v = {1.5f, -2f, 0f, 3.25f, 1e-20f, -7f};
        for (float f : v) b.putFloat(f);
        WeightMatrix m = WeightMatrix.of(GgmlType.F32, segment(b.array()), 2, 3);
        float[] out = new float[8];
        m.dequantizeRow(1, out, 2);
        assertArrayEquals(new float[] {0, 0, 3.25f, 1e-20f, -7f, 0, 0, 0}, out);
    }

    @Test
    void dequantizeF16() {
        ByteBuffer b = le(2 * 5);
        short[] bits = {0x3C00, (short) 0xC000, 0x3800, 0x7BFF, 0x0001};
        for (short s : bits) b.putShort(s);
        WeightMatrix m = WeightMatrix.of(GgmlType.F16, segment(b.array()), 1, 5);
        float[] out = new float[5];
        m.dequantizeRow(0, out, 0);
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 65504f, (float) Math.pow(2, -24)}, out);
    }

    @Test
    void dequantizeBF16() {
        ByteBuffer b = le(2 * 4);
        short[] bits = {0x3F80, (short) 0xC040, 0x4049, 0};
        for (short s : bits) b.putShort(s);
        WeightMatrix m = WeightMatrix.of(GgmlType.BF16, segment(b.array()), 2, 2);
        float[] out = new float[4];
        m.dequantizeRow(0, out, 0);
        m.dequantizeRow(1, out, 2);
        assertArrayEquals(new float[] {1f, -3f, 3.140625f, 0f}, out);
    }

    @Test
    void dequantizeQ8_0() {
        ByteBuffer b = le(34 * 2);
        b.putShort(h(0.5f));
        for (int j = 0; j < 32; j++) b.put((byte) (j - 16));
        b.putShort(h(-0.25f));
        for (int j = 0; j < 32; j++) b.put((byte) (127 - 8 * j));
        WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, segment(b.array()), 1, 64);
        float[] out = new float[64];
        m.dequantizeRow(0, out, 0);
        for (int j = 0; j < 32; j++) {
            assertEquals((j - 16) * 0.5f, out[j]);
            assertEquals((127 - 8 * j) * -0.25f, out[32 + j]);
        }
    }

    @Test
    void dequantizeQ4_0() {
        ByteBuffer b = le(18);
        b.putShort(h(2f));
        for (int j = 0; j < 16; j++) b.put((byte) (j | ((15 - j) << 4)));
        WeightMatrix m = WeightMatrix.of(GgmlType.Q4_0, segment(b.array()), 1, 32);
        float[] out = new float[32];
        m.dequantizeRow(0, out, 0);
        for (int j = 0; j < 16; j++) {
            assertEquals((j - 8) * 2f, out[j]);
            assertEquals((15 - j - 8) * 2f, out[16 + j]);
        }
    }

    @Test
    void dequantizeQ4_K() {
        int[] sc = {1, 2, 63, 10, 17, 33, 48, 5};
        int[] mn = {0, 3, 7, 62, 16, 40, 1, 63};
        float d = 0.5f;
        float dmin = 0.25f;
        byte[] scales = new byte[12];
        for (int j = 0; j < 4; j++) {
            scales[j] = (byte) (sc[j] | ((sc[j + 4] >> 4) << 6));
            scales[j + 4] = (byte) (mn[j] | ((mn[j + 4] >> 4) << 6));
            scales[j + 8] = (byte) ((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
        }
        int[] q = new int[256];
        for (int k = 0; k < 256; k++) q[k] = (k * 7 + 3) % 16;
        ByteBuffer b = le(144);
        b.putShort(h(d)).putShort(h(dmin)).put(scales);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) b.put((byte) (q[c * 64 + l] | (q[c * 64 + 32 + l] << 4)));
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.Q4_K, segment(b.array()), 1, 256);
        float[] out = new float[256];
        m.dequantizeRow(0, out, 0);
        for (int k = 0; k < 256; k++) {
            int s = k / 32;
            float d1 = d * sc[s];
            float m1 = dmin * mn[s];
            assertEquals(d1 * q[k] - m1, out[k], "element " + k);
        }
    }

    @Test
    void dequantizeQ6_K() {
        float d = 0.125f;
        byte[] sc = new byte[16];
        for (int i = 0; i < 16; i++) sc[i] = (byte) ((i * 13 % 41) - 20);
        sc[3] = 127;
        sc[4] = -128;
        int[] q = new int[256];
        for (int k = 0; k < 256; k++) q[k] = (k * 11 + 5) % 64;
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int n = 0, qlo = 0, qho = 0; n < 256; n += 128, qlo += 64, qho += 32) {
            for (int l = 0; l < 32; l++) {
                ql[qlo + l] = (byte) ((q[n + l] & 0xF) | ((q[n + l + 64] & 0xF) << 4));
                ql[qlo + l + 32] = (byte) ((q[n + l + 32] & 0xF) | ((q[n + l + 96] & 0xF) << 4));
                qh[qho + l] = (byte) ((q[n + l] >> 4) | ((q[n + l + 32] >> 4) << 2) | ((q[n + l + 64] >> 4) << 4)
                        | ((q[n + l + 96] >> 4) << 6));
            }
        }
        ByteBuffer b = le(210);
        b.put(ql).put(qh).put(sc).putShort(h(d));
        WeightMatrix m = WeightMatrix.of(GgmlType.Q6_K, segment(b.array()), 1, 256);
        float[] out = new float[256];
        m.dequantizeRow(0, out, 0);
        for (int k = 0; k < 256; k++) {
            assertEquals(d * sc[k / 16] * (q[k] - 32), out[k], "element " + k);
        }
    }

    // ---------------------------------------------------------------- validation

    @Test
    void malformedShapesThrow() {
        MemorySegment s = Arena.ofAuto().allocate(34 * 4);
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q8_0, s, 2, 48));
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q8_0, s, 3, 64));
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q8_0, s, 0, 64));
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q4_K, s, 1, 64));
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.F32, s, 35, 1));
        WeightMatrix ok = WeightMatrix.of(GgmlType.Q8_0, s, 2, 64);
        assertEquals(2, ok.rows());
        assertEquals(64, ok.cols());
        assertEquals(GgmlType.Q8_0, ok.type());
        assertThrows(IllegalArgumentException.class, () -> ok.multiply(new float[63], 1, new float[2], null));
        assertThrows(IllegalArgumentException.class, () -> ok.multiply(new float[128], 2, new float[3], null));
        assertThrows(IndexOutOfBoundsException.class, () -> ok.multiply(new float[64], 1, new float[2], 1, 3));
        assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantizeRow(GgmlType.Q4_0, new float[40], 0, 40, s, 0));
    }

    // ---------------------------------------------------------------- multiply

    /**
     * Scalar emulation of ggml's Q8_0 activation quantization + integer block dot in ggml's scalar order:
     * {@code sumf += sumi * d_w * d_x} block by block.
     */
    static float ggmlIntegerDot(WeightMatrix m, int row, float[] x, int xOff) {
        MemorySegment s = m.data();
        long ro = row * m.rowBytes();
        int nb = m.cols() / 32;
        float sumf = 0;
        for (int blk = 0; blk < nb; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xOff + blk * 32 + j]));
            // ggml's x86 SIMD quantize_row_q8_0 (what llama.cpp runs for activations on x86):
            // d = amax/127 stored as F16, q = round-half-even(x * (127/amax)).
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0.0f;
            float dx = Float.float16ToFloat(Float.floatToFloat16(d));
            int[] prod = new int[32];
            float dw;
            if (m.type() == GgmlType.Q8_0) {
                long bo = ro + 34L * blk;
                dw = Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), bo));
                for (int j = 0; j < 32; j++) {
                    prod[j] = s.get(ValueLayout.JAVA_BYTE, bo + 2 + j) * (int) Math.rint(x[xOff + blk * 32 + j] * id);
                }
            } else {
                long bo = ro + 18L * blk;
                dw = Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), bo));
                for (int j = 0; j < 16; j++) {
                    int v = s.get(ValueLayout.JAVA_BYTE, bo + 2 + j) & 0xFF;
                    prod[j] = ((v & 0xF) - 8) * (int) Math.rint(x[xOff + blk * 32 + j] * id);
                    prod[j + 16] = ((v >> 4) - 8) * (int) Math.rint(x[xOff + blk * 32 + j + 16] * id);
                }
            }
            int sumi = 0;
            for (int p : prod) {
                sumi += p;
            }
            sumf += sumi * dw * dx;
        }
        return sumf;
    }

    static void checkAgainstReference(WeightMatrix m, float[] x, int batch, float[] out) {
        float[] w = dequantizeAll(m);
        boolean integerPath = m.type() == GgmlType.Q8_0 || m.type() == GgmlType.Q4_0;
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < m.rows(); r++) {
                double expected;
                double tol;
                if (integerPath) {
                    expected = ggmlIntegerDot(m, r, x, b * m.cols());
                    tol = 0; // bit-exact: same per-block integer sums, same float order
                } else {
                    double sum = 0;
                    double a = 0;
                    for (int c = 0; c < m.cols(); c++) {
                        double p = (double) w[r * m.cols() + c] * x[b * m.cols() + c];
                        sum += p;
                        a += Math.abs(p);
                    }
                    expected = sum;
                    tol = 2e-6 * a + 1e-30;
                }
                float got = out[b * m.rows() + r];
                assertTrue(Math.abs(got - expected) <= tol,
                        m + " b=" + b + " r=" + r + ": got " + got + " expected " + expected + " tol " + tol);
            }
        }
    }

    static final GgmlType[] ALL = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q6_K};

    static int[] colsFor(GgmlType t) {
        return switch (t) {
            case F32, F16, BF16 -> new int[] {5, 17, 67, 96, 300};
            case Q8_0, Q4_0 -> new int[] {32, 96, 288, 2048};
            case Q4_K, Q6_K -> new int[] {256, 768};
        };
    }

    @Test
    void multiplyMatchesReferenceForAllTypesAndShapes() {
        Random rnd = new Random(42);
        for (GgmlType t : ALL) {
            for (int cols : colsFor(t)) {
                for (int rows : new int[] {1, 3, 7, 33}) {
                    float[] wf = gaussian(rnd, rows * cols, 0.05f);
                    WeightMatrix m = WeightMatrix.of(t, quantize(t, wf, rows, cols), rows, cols);
                    int batch = 1 + rnd.nextInt(9);
                    float[] x = gaussian(rnd, batch * cols, 1f);
                    float[] out = new float[batch * rows];
                    m.multiply(x, batch, out, null);
                    checkAgainstReference(m, x, batch, out);
                }
            }
        }
    }

    @Test
    void batchedEqualsPerRowAndThreadCountsAgree() {
        Random rnd = new Random(7);
        for (GgmlType t : ALL) {
            int[] allCols = colsFor(t);
            int cols = allCols[allCols.length - 1];
            int rows = 37;
            float[] wf = gaussian(rnd, rows * cols, 0.1f);
            WeightMatrix m = WeightMatrix.of(t, quantize(t, wf, rows, cols), rows, cols);
            // 1-4 row lanes, 5-24 groups of eight (one to three), 25 token lanes
            for (int batch : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 24, 25}) {
                float[] x = gaussian(rnd, batch * cols, 1f);
                float[] out1 = new float[batch * rows];
                m.multiply(x, batch, out1, (ComputePool) null);
                checkAgainstReference(m, x, batch, out1);
                // each batch row on its own
                for (int b = 0; b < batch; b++) {
                    float[] xb = new float[cols];
                    System.arraycopy(x, b * cols, xb, 0, cols);
                    float[] ob = new float[rows];
                    m.multiply(xb, 1, ob, null);
                    for (int r = 0; r < rows; r++) {
                        assertEquals(ob[r], out1[b * rows + r], t + " batch=" + batch + " b=" + b + " r=" + r);
                    }
                }
                float[] out2 = new float[batch * rows];
                m.multiply(x, batch, out2, pool2);
                assertArrayEquals(out1, out2, t + " 2 threads batch " + batch);
                float[] out3 = new float[batch * rows];
                m.multiply(x, batch, out3, pool3);
                assertArrayEquals(out1, out3, t + " 3 threads batch " + batch);
                // row ranges
                float[] outR = new float[batch * rows];
                m.multiply(x, batch, outR, 0, 10);
                m.multiply(x, batch, outR, 10, 11);
                m.multiply(x, batch, outR, 11, rows);
                assertArrayEquals(out1, outR, t + " ranges batch " + batch);
            }
        }
    }

    @Test
    void prefillBatchesMatchTheReferenceAndTheDecodePathsBitForBit() {
        Random rnd = new Random(11);
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            // 4096 columns take the prefill driver through several runs of blocks (Q8_0: 7 at batch 70)
            for (int cols : new int[] {32, 96, 2048, 4096}) {
                int rows = 37;
                WeightMatrix m = WeightMatrix.of(t, quantize(t, gaussian(rnd, rows * cols, 0.05f), rows, cols), rows, cols);
                for (int batch : new int[] {32, 33, 64, 70}) {
                    float[] x = gaussian(rnd, batch * cols, 1f);
                    float[] out = new float[batch * rows];
                    m.multiply(x, batch, out, pool3);
                    checkAgainstReference(m, x, batch, out);
                    // row ranges that split tiles and passes
                    float[] outR = new float[batch * rows];
                    m.multiply(x, batch, outR, 0, 10);
                    m.multiply(x, batch, outR, 10, 11);
                    m.multiply(x, batch, outR, 11, rows);
                    assertArrayEquals(out, outR, t + " cols=" + cols + " ranges batch " + batch);
                    for (int b : new int[] {0, batch - 1}) {
                        float[] ob = new float[rows];
                        m.multiply(java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), 1, ob, null);
                        for (int r = 0; r < rows; r++) {
                            assertEquals(ob[r], out[b * rows + r], t + " cols=" + cols + " batch=" + batch + " b=" + b + " r=" + r);
                        }
                    }
                }
            }
        }
    }

    /**
     * Quants and activations at their extremes (nibbles 0 and 15, bytes -128 and 127, activations +-127 after
     * quantization), where the integer kernels' 16-bit halves and float sums come closest to their limits.
     */
    @Test
    void extremeQuantsAndActivationsStayExact() {
        Random rnd = new Random(5);
        int rows = 48;
        int cols = 256;
        int[][] xSigns = {{1}, {-1}, {1, -1}, {1, 1, -1, -1}};
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            int blockBytes = (int) t.bytesFor(32);
            byte[] bytes = new byte[rows * cols / 32 * blockBytes];
            for (int r = 0; r < rows; r++) {
                int pattern = r % 6;
                for (int blk = 0; blk < cols / 32; blk++) {
                    int bo = (r * cols / 32 + blk) * blockBytes;
                    // Scales of every kind the tiles keep as F16: subnormal, negative, zero, tiny and large.
                    float[] scaleKinds = {0.5f + blk, 3e-6f, -0.75f, 0f, 6.2e-5f, -60000f, 1e-7f, 0.01f};
                    short d = h(scaleKinds[(r + blk) % scaleKinds.length]);
                    bytes[bo] = (byte) d;
                    bytes[bo + 1] = (byte) (d >> 8);
                    for (int j = 2; j < blockBytes; j++) {
                        bytes[bo + j] = (byte) switch (pattern) {
                            case 0 -> 0x00;
                            case 1 -> 0xFF;
                            case 2 -> t == GgmlType.Q8_0 ? 0x80 : 0x0F;
                            case 3 -> t == GgmlType.Q8_0 ? 0x7F : 0xF0;
                            case 4 -> j % 2 == 0 ? 0x80 : 0x7F;
                            default -> rnd.nextInt(256);
                        };
                    }
                }
            }
            WeightMatrix m = WeightMatrix.of(t, segment(bytes), rows, cols);
            for (int[] signs : xSigns) {
                for (int batch : new int[] {1, 3, 32}) {
                    float[] x = new float[batch * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = signs[i % signs.length] * (i % 64 < 32 ? 1f : 1 + i % 3); // first blocks: all quants +-127
                    }
                    float[] out = new float[batch * rows];
                    m.multiply(x, batch, out, pool2);
                    checkAgainstReference(m, x, batch, out);
                }
            }
        }
    }

    @Test
    void nonFiniteScalesAreRefused() {
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NaN}) {
                int blockBytes = (int) t.bytesFor(32);
                byte[] bytes = new byte[3 * 2 * blockBytes];
                short d = h(bad);
                int bo = (2 * 2 + 1) * blockBytes; // row 2, block 1
                bytes[bo] = (byte) d;
                bytes[bo + 1] = (byte) (d >> 8);
                WeightMatrix m = WeightMatrix.of(t, segment(bytes), 3, 64);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, m::prepareForMultiply);
                assertTrue(e.getMessage().contains("row 2, block 1 has a non-finite scale"), e.getMessage());
            }
        }
    }

    @Test
    void multiplyEachEqualsSeparateMultiplies() {
        Random rnd = new Random(21);
        int cols = 256;
        GgmlType[][] kinds = {{GgmlType.Q4_0, GgmlType.Q4_0, GgmlType.Q4_0}, {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q8_0},
                {GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F32}};
        int[] rows = {300, 40, 77};
        for (GgmlType[] types : kinds) {
            WeightMatrix[] ms = new WeightMatrix[types.length];
            for (int i = 0; i < types.length; i++) {
                ms[i] = WeightMatrix.of(types[i], quantize(types[i], gaussian(rnd, rows[i] * cols, 0.05f), rows[i], cols), rows[i], cols);
            }
            for (int batch : new int[] {1, 3, 20}) {
                float[] x = gaussian(rnd, batch * cols, 1f);
                for (ComputePool pool : new ComputePool[] {null, pool2, pool3}) {
                    float[][] outs = new float[types.length][];
                    for (int i = 0; i < types.length; i++) {
                        outs[i] = new float[batch * rows[i]];
                    }
                    WeightMatrix.multiplyEach(ms, x, batch, outs, pool);
                    for (int i = 0; i < types.length; i++) {
                        float[] alone = new float[batch * rows[i]];
                        ms[i].multiply(x, batch, alone, null);
                        assertArrayEquals(alone, outs[i], java.util.Arrays.toString(types) + " matrix " + i + " batch " + batch);
                    }
                }
            }
        }
        WeightMatrix a = WeightMatrix.of(GgmlType.F32, quantize(GgmlType.F32, new float[64], 2, 32), 2, 32);
        WeightMatrix b = WeightMatrix.of(GgmlType.F32, quantize(GgmlType.F32, new float[64], 1, 64), 1, 64);
        assertThrows(IllegalArgumentException.class,
                () -> WeightMatrix.multiplyEach(new WeightMatrix[] {a, b}, new float[64], 1, new float[][] {new float[2], new float[1]}, null));
    }

    @Test
    void largeMatrixUsesThreadsAndMatches() {
        Random rnd = new Random(3);
        int rows = 301;
        int cols = 2048;
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F32, GgmlType.Q6_K}) {
            WeightMatrix m = WeightMatrix.of(t, quantize(t, gaussian(rnd, rows * cols, 0.02f), rows, cols), rows, cols);
            for (int batch : new int[] {1, 4, 5}) {
                float[] x = gaussian(rnd, batch * cols, 1f);
                float[] a = new float[batch * rows];
                float[] b = new float[batch * rows];
                m.multiply(x, batch, a, null);
                m.multiply(x, batch, b, pool2);
                assertArrayEquals(a, b);
                checkAgainstReference(m, x, batch, a);
            }
        }
    }

    @Test
    void heapSegmentsWork() {
        Random rnd = new Random(11);
        float[] wf = gaussian(rnd, 4 * 64, 1f);
        MemorySegment native_ = quantize(GgmlType.Q4_0, wf, 4, 64);
        byte[] bytes = native_.toArray(ValueLayout.JAVA_BYTE);
        WeightMatrix m = WeightMatrix.of(GgmlType.Q4_0, MemorySegment.ofArray(bytes), 4, 64);
        float[] x = gaussian(rnd, 64, 1f);
        float[] out = new float[4];
        m.multiply(x, 1, out, null);
        checkAgainstReference(m, x, 1, out);
    }
}
