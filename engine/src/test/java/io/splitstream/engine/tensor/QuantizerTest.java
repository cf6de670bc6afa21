package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class QuantizerTest {

    static float[] roundTrip(GgmlType t, float[] x) {
        MemorySegment s = Arena.ofAuto().allocate(t.bytesFor(x.length));
        Quantizer.quantizeRow(t, x, 0, x.length, s, 0);
        float[] y = new float[x.length];
        WeightMatrix.of(t, s, 1, x.length).dequantizeRow(0, y, 0);
        return y;
    }

    static double relRms(float[] x, float[] y) {
        double e = 0;
        double n = 0;
        for (int i = 0; i < x.length; i++) {
            e += (x[i] - y[i]) * (double) (x[i] - y[i]);
            n += x[i] * (double) x[i];
        }
        return Math.sqrt(e / n);
    }

    @Test
    void floatTypes() {
        Random rnd = new Random(1);
        float[] x = WeightMatrixTest.gaussian(rnd, 1000, 3f);
        assertArrayEquals(x, roundTrip(GgmlType.F32, x));
        float[] h = roundTrip(GgmlType.F16, x);
        float[] b = roundTrip(GgmlType.BF16, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], h[i], Math.abs(x[i]) * 0x1p-11 + 0x1p-24);
            assertEquals(x[i], b[i], Math.abs(x[i]) * 0x1p-8);
        }
        // ggml bf16 rounding: nearest even, NaN quieted
        assertEquals((short) 0x3F80, Quantizer.toBf16(1.0f));
        assertEquals((short) 0x3F80, Quantizer.toBf16(Float.intBitsToFloat(0x3F808000))); // tie -> even
        assertEquals((short) 0x3F82, Quantizer.toBf16(Float.intBitsToFloat(0x3F818000))); // tie -> even (up)
        assertEquals((short) 0x7FC0, Quantizer.toBf16(Float.intBitsToFloat(0x7F800001)));
    }

    @Test
    void q8_0RoundTripAndRounding() {
        Random rnd = new Random(2);
        float[] x = WeightMatrixTest.gaussian(rnd, 32 * 64, 1f);
        float[] y = roundTrip(GgmlType.Q8_0, x);
        for (int blk = 0; blk < 64; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[blk * 32 + j]));
            for (int j = 0; j < 32; j++) {
                int i = blk * 32 + j;
                assertEquals(x[i], y[i], amax / 127 * 0.5f * 1.01f + amax * 1e-3f, "element " + i);
            }
        }
        // roundf rounds half away from zero: d = 127/127 = 1, values +-0.5, +-1.5, +-2.5
        float[] t = new float[32];
        t[0] = 127f;
        t[1] = 0.5f;
        t[2] = -0.5f;
        t[3] = 2.5f;
        t[4] = -2.5f;
        t[5] = 1.49f;
        MemorySegment s = Arena.ofAuto().allocate(34);
        Quantizer.quantizeRow(GgmlType.Q8_0, t, 0, 32, s, 0);
        assertEquals(Float.floatToFloat16(1f), s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
        byte[] q = s.asSlice(2, 32).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(new byte[] {127, 1, -1, 3, -3, 1}, java.util.Arrays.copyOf(q, 6));
        // all-zero block
        MemorySegment z = Arena.ofAuto().allocate(34);
        Quantizer.quantizeRow(GgmlType.Q8_0, new float[32], 0, 32, z, 0);
        assertTrue(java.util.Arrays.equals(new byte[34], z.toArray(ValueLayout.JAVA_BYTE)));
    }

    @Test
    void q4_0RoundTripAndKnownBlock() {
        Random rnd = new Random(3);
        float[] x = WeightMatrixTest.gaussian(rnd, 32 * 64, 1f);
        float[] y = roundTrip(GgmlType.Q4_0, x);
        for (int blk = 0; blk < 64; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[blk * 32 + j]));
            for (int j = 0; j < 32; j++) {
                int i = blk * 32 + j;
                assertEquals(x[i], y[i], amax / 8 * 1.01f, "element " + i);
            }
        }
        assertTrue(relRms(x, y) < 0.12, "rms " + relRms(x, y));
        // x = j - 16: max = -16 -> d = 2, id = 0.5, q = min(15, (int)(0.5*(j-16) + 8.5))
        float[] t = new float[32];
        for (int j = 0; j < 32; j++) t[j] = j - 16;
        MemorySegment s = Arena.ofAuto().allocate(18);
        Quantizer.quantizeRow(GgmlType.Q4_0, t, 0, 32, s, 0);
        assertEquals(Float.floatToFloat16(2f), s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (0.5f * (j - 16) + 8.5f));
            int hi = Math.min(15, (int) (0.5f * (j) + 8.5f));
            assertEquals((byte) (lo | (hi << 4)), s.get(ValueLayout.JAVA_BYTE, 2 + j), "byte " + j);
        }
    }

    @Test
    void kQuantsRoundTrip() {
        Random rnd = new Random(4);
        float[] x = WeightMatrixTest.gaussian(rnd, 256 * 32, 0.02f);
        double e4 = relRms(x, roundTrip(GgmlType.Q4_K, x));
        double e6 = relRms(x, roundTrip(GgmlType.Q6_K, x));
        assertTrue(e4 < 0.10, "Q4_K relative rms " + e4);
        assertTrue(e6 < 0.03, "Q6_K relative rms " + e6);
        assertTrue(e6 < e4);
        // degenerate inputs: zeros, constants, single spikes
        float[] z = new float[512];
        assertArrayEquals(z, roundTrip(GgmlType.Q4_K, z), 0f);
        assertArrayEquals(z, roundTrip(GgmlType.Q6_K, z), 0f); // ggml yields -0.0 here
        float[] c = new float[256];
        java.util.Arrays.fill(c, 0.75f);
        float[] c4 = roundTrip(GgmlType.Q4_K, c);
        float[] c6 = roundTrip(GgmlType.Q6_K, c);
        for (int i = 0; i < 256; i++) {
            assertEquals(0.75f, c4[i], 0.75f * 0.05f);
            assertEquals(0.75f, c6[i], 0.75f * 0.02f);
        }
        float[] spike = new float[256];
        spike[100] = -5f;
        assertEquals(-5f, roundTrip(GgmlType.Q6_K, spike)[100], 0.05f);
        assertEquals(-5f, roundTrip(GgmlType.Q4_K, spike)[100], 0.2f);
    }

    @Test
    void offsetsAreHonoured() {
        Random rnd = new Random(5);
        float[] x = WeightMatrixTest.gaussian(rnd, 600, 1f);
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16}) {
            int n = t.blockSize() == 256 ? 256 : 64;
            MemorySegment a = Arena.ofAuto().allocate(t.bytesFor(n) + 7);
            MemorySegment b = Arena.ofAuto().allocate(t.bytesFor(n));
            float[] part = java.util.Arrays.copyOfRange(x, 13, 13 + n);
            Quantizer.quantizeRow(t, x, 13, n, a, 7);
            Quantizer.quantizeRow(t, part, 0, n, b, 0);
            assertArrayEquals(b.toArray(ValueLayout.JAVA_BYTE), a.asSlice(7).toArray(ValueLayout.JAVA_BYTE), t.toString());
        }
    }

    // ------------------------------------------------------------ llama-quantize bit-exactness on real files

    /** Minimal GGUF tensor-table reader (self-contained; the engine's reader lives in another package). */
    record Tensor(String name, long[] dims, int type, MemorySegment data) {
    }

    static Map<String, Tensor> readGguf(Path path, Arena arena) throws IOException {
        MemorySegment f;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            f = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        long[] pos = {0};
        var i32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        var i64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        java.util.function.LongSupplier u32 = () -> { long v = f.get(i32, pos[0]) & 0xFFFFFFFFL; pos[0] += 4; return v; };
        java.util.function.LongSupplier u64 = () -> { long v = f.get(i64, pos[0]); pos[0] += 8; return v; };
        java.util.function.Supplier<String> str = () -> {
            long n = u64.getAsLong();
            String s = new String(f.asSlice(pos[0], n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            pos[0] += n;
            return s;
        };
        assertEquals(0x46554747L, u32.getAsLong());
        u32.getAsLong();
        long nTensors = u64.getAsLong();
        long nKv = u64.getAsLong();
        long alignment = 32;
        int[] sizes = {1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8};
        for (long k = 0; k < nKv; k++) {
            String key = str.get();
            int type = (int) u32.getAsLong();
            if (key.equals("general.alignment")) {
                alignment = f.get(i32, pos[0]);
            }
            skipValue(type, pos, f, sizes, u32, u64);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        String[] names = new String[(int) nTensors];
        long[][] dims = new long[(int) nTensors][];
        int[] types = new int[(int) nTensors];
        long[] offs = new long[(int) nTensors];
        for (int t = 0; t < nTensors; t++) {
            names[t] = str.get();
            int nd = (int) u32.getAsLong();
            dims[t] = new long[nd];
            for (int d = 0; d < nd; d++) dims[t][d] = u64.getAsLong();
            types[t] = (int) u32.getAsLong();
            offs[t] = u64.getAsLong();
        }
        long dataStart = (pos[0] + alignment - 1) / alignment * alignment;
        for (int t = 0; t < nTensors; t++) {
            long n = 1;
            for (long d : dims[t]) n *= d;
            long bytes;
            try {
                bytes = GgmlType.fromId(types[t]).bytesFor(n);
            } catch (IllegalArgumentException e) {
                continue;
            }
            tensors.put(names[t], new Tensor(names[t], dims[t], types[t], f.asSlice(dataStart + offs[t], bytes)));
        }
        return tensors;
    }

    private static void skipValue(int type, long[] pos, MemorySegment f, int[] sizes,
                                  java.util.function.LongSupplier u32, java.util.function.LongSupplier u64) {
        if (type == 8) {
            long n = u64.getAsLong();
            pos[0] += n;
        } else if (type == 9) {
            int et = (int) u32.getAsLong();
            long n = u64.getAsLong();
            for (long i = 0; i < n; i++) skipValue(et, pos, f, sizes, u32, u64);
        } else {
            pos[0] += sizes[type];
        }
    }

    @Test
    void bitIdenticalToLlamaQuantizeOnRealModels() throws IOException {
        Path f32 = Path.of("../shared/models/stories260K.gguf");
        Assumptions.assumeTrue(Files.exists(f32), "model files not present");
        int compared = 0;
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> src = readGguf(f32, arena);
            for (String q : new String[] {"../shared/models/stories260K-Q8_0-mixed.gguf", "../shared/models/stories260K-Q4_0-mixed.gguf"}) {
                Path qp = Path.of(q);
                if (!Files.exists(qp)) continue;
                for (Tensor t : readGguf(qp, arena).values()) {
                    Tensor s = src.get(t.name());
                    if (s == null || s.type() != 0 || t.type() == 0) continue;
                    GgmlType type = GgmlType.fromId(t.type());
                    float[] x = s.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                    MemorySegment mine = Arena.ofAuto().allocate(type.bytesFor(x.length));
                    int rowLen = (int) t.dims()[0];
                    for (int r = 0; r < x.length / rowLen; r++) {
                        Quantizer.quantizeRow(type, x, r * rowLen, rowLen, mine, r * type.bytesFor(rowLen));
                    }
                    assertArrayEquals(t.data().toArray(ValueLayout.JAVA_BYTE), mine.toArray(ValueLayout.JAVA_BYTE),
                            q + " " + t.name() + " " + type);
                    // and the matrix view dequantizes / multiplies consistently with the source
                    if (t.dims().length == 2) {
                        int rows = (int) t.dims()[1];
                        WeightMatrix m = WeightMatrix.of(type, t.data(), rows, rowLen);
                        float[] xin = WeightMatrixTest.gaussian(new Random(compared), rowLen * 3, 1f);
                        float[] out = new float[rows * 3];
                        m.multiply(xin, 3, out, null);
                        WeightMatrixTest.checkAgainstReference(m, xin, 3, out);
                    }
                    compared++;
                }
            }
        }
        System.out.println("compared " + compared + " quantized tensors with llama-quantize output");
        assertTrue(compared > 0);
    }
}
