package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.B;
import static io.splitstream.engine.tensor.Kernels.BL;
import static io.splitstream.engine.tensor.Kernels.F;
import static io.splitstream.engine.tensor.Kernels.L;
import static io.splitstream.engine.tensor.Kernels.LE;
import static io.splitstream.engine.tensor.Kernels.PARTS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights: blocks of 32 {half d; int8 qs[32]}. Multiplication quantizes the activations to Q8_0
 * (llama.cpp's path) and sums exact per-block integer dots scaled by d_w*d_x in block order
 * ({@code sumf += sumi * d_w * d_x}), exactly like ggml's scalar kernel.
 */
final class Q8_0Matrix extends WeightMatrix {
    private static final int BLOCK = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
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
    Object prepare(float[] x, int batch) {
        return Kernels.quantizeQ8(x, batch, cols);
    }

    @Override
    void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        Kernels.Q8Activations a = (Kernels.Q8Activations) prepared;
        float[] q = a.q();
        float[] d = a.d();
        int n = cols;
        int nb = n / 32;
        for (int r = rowFrom; r < rowTo; r++) {
            long ro = r * rowBytes;
            int bt = 0;
            for (; bt + 4 <= batch; bt += 4) {
                dot4(ro, q, d, n, nb, bt, out, r);
            }
            for (; bt < batch; bt++) {
                dot1(ro, q, d, n, nb, bt, out, r);
            }
        }
    }

    // Kept as separate small methods so that C2 compiles each path on its own (one big method with both
    // paths was seen to fall out of C2 and run orders of magnitude slower).
    private void dot4(long ro, float[] q, float[] d, int n, int nb, int bt, float[] out, int r) {
        int x0 = bt * n, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
        int d0 = bt * nb, d1 = d0 + nb, d2 = d1 + nb, d3 = d2 + nb;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        for (int blk = 0; blk < nb; blk++) {
            long bo = ro + (long) blk * BLOCK;
            float dw = Kernels.f16(data, bo);
            int xo = blk * 32;
            FloatVector p0 = FloatVector.zero(F), p1 = FloatVector.zero(F), p2 = FloatVector.zero(F), p3 = FloatVector.zero(F);
            for (int j = 0; j < 32; j += BL) {
                ByteVector bv = ByteVector.fromMemorySegment(B, data, bo + 2 + j, LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector w = Kernels.widen(bv, p);
                    int o = xo + j + p * L;
                    p0 = w.fma(FloatVector.fromArray(F, q, x0 + o), p0);
                    p1 = w.fma(FloatVector.fromArray(F, q, x1 + o), p1);
                    p2 = w.fma(FloatVector.fromArray(F, q, x2 + o), p2);
                    p3 = w.fma(FloatVector.fromArray(F, q, x3 + o), p3);
                }
            }
            s0 += Kernels.isum(p0) * dw * d[d0 + blk];
            s1 += Kernels.isum(p1) * dw * d[d1 + blk];
            s2 += Kernels.isum(p2) * dw * d[d2 + blk];
            s3 += Kernels.isum(p3) * dw * d[d3 + blk];
        }
        out[bt * rows + r] = s0;
        out[(bt + 1) * rows + r] = s1;
        out[(bt + 2) * rows + r] = s2;
        out[(bt + 3) * rows + r] = s3;
    }

    private void dot1(long ro, float[] q, float[] d, int n, int nb, int bt, float[] out, int r) {
        int x0 = bt * n;
        int d0 = bt * nb;
        float s0 = 0f;
        for (int blk = 0; blk < nb; blk++) {
            long bo = ro + (long) blk * BLOCK;
            float dw = Kernels.f16(data, bo);
            int xo = x0 + blk * 32;
            FloatVector p0 = FloatVector.zero(F);
            for (int j = 0; j < 32; j += BL) {
                ByteVector bv = ByteVector.fromMemorySegment(B, data, bo + 2 + j, LE);
                for (int p = 0; p < PARTS; p++) {
                    p0 = Kernels.widen(bv, p).fma(FloatVector.fromArray(F, q, xo + j + p * L), p0);
                }
            }
            s0 += Kernels.isum(p0) * dw * d[d0 + blk];
        }
        out[bt * rows + r] = s0;
    }
}
