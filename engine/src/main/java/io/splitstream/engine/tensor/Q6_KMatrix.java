package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.B;
import static io.splitstream.engine.tensor.Kernels.BL;
import static io.splitstream.engine.tensor.Kernels.L;
import static io.splitstream.engine.tensor.Kernels.LE;
import static io.splitstream.engine.tensor.Kernels.PARTS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of 256 {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d}.
 *
 * <p>Multiplication dequantizes each row to float and dots it with the float activations (llama.cpp
 * quantizes the activations to Q8_K instead; results differ by that quantization error).
 */
final class Q6_KMatrix extends WeightMatrix.DequantizingMatrix {
    static final int BLOCK = 210;

    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        int nb = cols / 256;
        int y = offset;
        for (int i = 0; i < nb; i++) {
            long bo = ro + (long) i * BLOCK;
            float d = Kernels.f16(data, bo + 208);
            long ql = bo;
            long qh = bo + 128;
            long sc = bo + 192;
            for (int n = 0; n < 256; n += 128) {
                for (int l = 0; l < 32; l += BL) {
                    int is = l / 16;
                    float s1 = d * data.get(ValueLayout.JAVA_BYTE, sc + is);
                    float s2 = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2);
                    float s3 = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4);
                    float s4 = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6);
                    ByteVector qlA = ByteVector.fromMemorySegment(B, data, ql + l, LE);
                    ByteVector qlB = ByteVector.fromMemorySegment(B, data, ql + l + 32, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, data, qh + l, LE);
                    ByteVector q1 = qlA.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q2 = qlB.and((byte) 0xF).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q3 = qlA.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF).or(h.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q4 = qlB.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF).or(h.lanewise(VectorOperators.LSHR, 6).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    for (int part = 0; part < PARTS; part++) {
                        int o = y + l + part * L;
                        Kernels.widen(q1, part).mul(s1).intoArray(dst, o);
                        Kernels.widen(q2, part).mul(s2).intoArray(dst, o + 32);
                        Kernels.widen(q3, part).mul(s3).intoArray(dst, o + 64);
                        Kernels.widen(q4, part).mul(s4).intoArray(dst, o + 96);
                    }
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }
}
