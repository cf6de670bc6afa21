package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.F;
import static io.splitstream.engine.tensor.Kernels.FLOAT_LE;
import static io.splitstream.engine.tensor.Kernels.L;
import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** F32 weights: float dot straight from the segment. */
final class F32Matrix extends WeightMatrix {
    F32Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F32, data, rows, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        MemorySegment.copy(data, FLOAT_LE, row * rowBytes, dst, offset, cols);
    }

    @Override
    void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        int n = cols;
        for (int r = rowFrom; r < rowTo; r++) {
            long ro = r * rowBytes;
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                int x0 = b * n, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
                FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
                FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
                int i = 0;
                for (; i <= n - 2 * L; i += 2 * L) {
                    FloatVector wv = FloatVector.fromMemorySegment(F, data, ro + 4L * i, LE);
                    a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                    a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                    a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                    a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
                    FloatVector wu = FloatVector.fromMemorySegment(F, data, ro + 4L * (i + L), LE);
                    b0 = wu.fma(FloatVector.fromArray(F, x, x0 + i + L), b0);
                    b1 = wu.fma(FloatVector.fromArray(F, x, x1 + i + L), b1);
                    b2 = wu.fma(FloatVector.fromArray(F, x, x2 + i + L), b2);
                    b3 = wu.fma(FloatVector.fromArray(F, x, x3 + i + L), b3);
                }
                if (i <= n - L) {
                    FloatVector wv = FloatVector.fromMemorySegment(F, data, ro + 4L * i, LE);
                    a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                    a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                    a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                    a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
                    i += L;
                }
                float s0 = Kernels.hsum(a0.add(b0)), s1 = Kernels.hsum(a1.add(b1));
                float s2 = Kernels.hsum(a2.add(b2)), s3 = Kernels.hsum(a3.add(b3));
                for (; i < n; i++) {
                    float wi = data.get(FLOAT_LE, ro + 4L * i);
                    s0 += wi * x[x0 + i];
                    s1 += wi * x[x1 + i];
                    s2 += wi * x[x2 + i];
                    s3 += wi * x[x3 + i];
                }
                out[b * rows + r] = s0;
                out[(b + 1) * rows + r] = s1;
                out[(b + 2) * rows + r] = s2;
                out[(b + 3) * rows + r] = s3;
            }
            for (; b < batch; b++) {
                int x0 = b * n;
                FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F);
                int i = 0;
                for (; i <= n - 2 * L; i += 2 * L) {
                    a0 = FloatVector.fromMemorySegment(F, data, ro + 4L * i, LE).fma(FloatVector.fromArray(F, x, x0 + i), a0);
                    b0 = FloatVector.fromMemorySegment(F, data, ro + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, x0 + i + L), b0);
                }
                if (i <= n - L) {
                    a0 = FloatVector.fromMemorySegment(F, data, ro + 4L * i, LE).fma(FloatVector.fromArray(F, x, x0 + i), a0);
                    i += L;
                }
                float s = Kernels.hsum(a0.add(b0));
                for (; i < n; i++) {
                    s += data.get(FLOAT_LE, ro + 4L * i) * x[x0 + i];
                }
                out[b * rows + r] = s;
            }
        }
    }
}
