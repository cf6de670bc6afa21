package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 weights: blocks of 32 {half d; uint8 qs[16]}, element j = (qs[j] &amp; 0xF) - 8 and element
 * j+16 = (qs[j] &gt;&gt; 4) - 8, times d. So lane i &lt; 4 of a block packs the low nibbles of qs[4i..4i+3] and
 * lane i+4 their high nibbles: one byte shuffle copies each block's 16 quant bytes into both lane halves, and
 * after xor 0x8 per nibble a nibble read as a signed 4-bit number is already the element, minus 8 included.
 */
final class Q4_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols, true, nibbleToTop());
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

    @Override
    void unpackRow(long ro, float[] w, int wo, float[] dw, int dwo) {
        int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
            long bo = ro + (long) b * BLOCK;
            dw[dwo + b] = Kernels.f16(data, bo);
            for (int j = 0; j < 16; j += LANES) {
                IntVector v = (IntVector) ByteVector.fromMemorySegment(QB, data, bo + 2 + j, Kernels.LE)
                        .convertShape(VectorOperators.B2I, QI, 0);
                ((FloatVector) v.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).intoArray(w, wo + b * 32 + j);
                ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8).convert(VectorOperators.I2F, 0))
                        .intoArray(w, wo + b * 32 + 16 + j);
            }
        }
    }

    @Override
    int element(long blockOffset, int j) {
        int v = data.get(ValueLayout.JAVA_BYTE, blockOffset + 2 + (j & 15)) & 0xFF;
        return (j < 16 ? v & 0x0F : v >> 4) - 8;
    }

    /** Element k of lane i is the low (i &lt; 4) or high nibble of its byte k, shifted to the top 4 bits. */
    private static int[][] nibbleToTop() {
        int[][] shifts = new int[4][LANES];
        for (int k = 0; k < 4; k++) {
            for (int lane = 0; lane < LANES; lane++) {
                shifts[k][lane] = 28 - (8 * k + (lane % 8 >= 4 ? 4 : 0));
            }
        }
        return shifts;
    }
}
