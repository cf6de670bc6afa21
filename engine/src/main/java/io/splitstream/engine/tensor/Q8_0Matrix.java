package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 weights: blocks of 32 {half d; int8 qs[32]}. Repacked as eight words per block: word w holds
 * qs[4w..4w+3], so its field p (a byte) is element 4w + p.
 */
final class Q8_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols, 8, 128, java.util.stream.IntStream.range(0, 32).toArray(), 0x00808080);
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
}
