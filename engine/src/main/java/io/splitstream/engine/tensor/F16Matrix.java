package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;

/** IEEE half weights: each row is widened to float (Float.float16ToFloat) and dotted in float. */
final class F16Matrix extends WeightMatrix.DequantizingMatrix {
    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        for (int i = 0; i < cols; i++) {
            dst[offset + i] = Float.float16ToFloat(data.get(Kernels.SHORT_LE, ro + 2L * i));
        }
    }
}
