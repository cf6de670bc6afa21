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
 * Q4_K weights: super-blocks of 256 {half d; half dmin; uint8 scales[12]; uint8 qs[128]} with eight
 * 32-element sub-blocks whose 6-bit scale/min come from ggml's get_scale_min_k4.
 *
 * <p>Multiplication dequantizes each row to float and dots it with the float activations (llama.cpp
 * quantizes the activations to Q8_K instead; results differ by that quantization error).
 */
final class Q4_KMatrix extends WeightMatrix.DequantizingMatrix {
    static final int BLOCK = 144;

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    /** ggml's get_scale_min_k4: returns (scale &lt;&lt; 8) | min for sub-block j of the 12 scale bytes. */
    static int scaleMinK4(int j, MemorySegment s, long scalesOff) {
        int d;
        int m;
        if (j < 4) {
            d = u8(s, scalesOff + j) & 63;
            m = u8(s, scalesOff + j + 4) & 63;
        } else {
            d = (u8(s, scalesOff + j + 4) & 0xF) | ((u8(s, scalesOff + j - 4) >> 6) << 4);
            m = (u8(s, scalesOff + j + 4) >> 4) | ((u8(s, scalesOff + j) >> 6) << 4);
        }
        return (d << 8) | m;
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        int nb = cols / 256;
        int y = offset;
        for (int i = 0; i < nb; i++) {
            long bo = ro + (long) i * BLOCK;
            float d = Kernels.f16(data, bo);
            float min = Kernels.f16(data, bo + 2);
            long scales = bo + 4;
            long q = bo + 16;
            int is = 0;
            for (int j = 0; j < 256; j += 64) {
                int sm = scaleMinK4(is, data, scales);
                float d1 = d * (sm >> 8);
                float m1 = min * (sm & 0xFF);
                sm = scaleMinK4(is + 1, data, scales);
                float d2 = d * (sm >> 8);
                float m2 = min * (sm & 0xFF);
                for (int l = 0; l < 32; l += BL) {
                    ByteVector b = ByteVector.fromMemorySegment(B, data, q + l, LE);
                    ByteVector lo = b.and((byte) 0x0F);
                    ByteVector hi = b.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F);
                    for (int part = 0; part < PARTS; part++) {
                        Kernels.widen(lo, part).mul(d1).sub(m1).intoArray(dst, y + l + part * L);
                        Kernels.widen(hi, part).mul(d2).sub(m2).intoArray(dst, y + 32 + l + part * L);
                    }
                }
                y += 64;
                q += 32;
                is += 2;
            }
        }
    }
}
