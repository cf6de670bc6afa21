package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;

/** bfloat16 weights: each row is widened to float (bits &lt;&lt; 16) and dotted in float. */
final class BF16Matrix extends WeightMatrix.DequantizingMatrix {
    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        for (int i = 0; i < cols; i++) {
            dst[offset + i] = Float.intBitsToFloat(data.get(Kernels.SHORT_LE, ro + 2L * i) << 16);
        }
    }
}
