package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0 weights: blocks of 32 {half d; uint8 qs[16]}, element j = (qs[j] &amp; 0xF) - 8 and element
 * j+16 = (qs[j] &gt;&gt; 4) - 8, times d. Repacked as four words per block: word w holds qs[4w..4w+3], so its
 * field p (a nibble) is element 4w + p/2, plus 16 for the high nibbles (odd p), plus 8.
 */
final class Q4_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols, 4, 8, elementOf(), 0x80000000);
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
