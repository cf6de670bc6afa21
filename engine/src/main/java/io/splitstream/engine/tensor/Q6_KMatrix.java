package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int qlA = data.get(ValueLayout.JAVA_BYTE, ql + l) & 0xFF;
                    int qlB = data.get(ValueLayout.JAVA_BYTE, ql + l + 32) & 0xFF;
                    int h = data.get(ValueLayout.JAVA_BYTE, qh + l) & 0xFF;
                    int q1 = ((qlA & 0xF) | (((h >> 0) & 3) << 4)) - 32;
                    int q2 = ((qlB & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                    int q3 = ((qlA >> 4) | (((h >> 4) & 3) << 4)) - 32;
                    int q4 = ((qlB >> 4) | (((h >> 6) & 3) << 4)) - 32;
                    dst[y + l] = d * data.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                    dst[y + l + 32] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                    dst[y + l + 64] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                    dst[y + l + 96] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }
}
