package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights: blocks of 32 {half d; int8 qs[32]}. Block g of a group sits 34g bytes in, so its 32 quants
 * are the int lanes [8g, 8g+8) of a vector loaded 2g bytes later than the first block's: one load per block,
 * blended, and never past the group's last byte.
 */
final class Q8_0Matrix extends Q8DotMatrix {
    private static final int BLOCK = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols, false, byteToTop());
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
    void unpackRow(long ro, float[] w, int wo, float[] dw, int dwo) {
        int nb = cols / 32;
        for (int b = 0; b < nb; b++) {
            long bo = ro + (long) b * BLOCK;
            dw[dwo + b] = Kernels.f16(data, bo);
            for (int j = 0; j < 32; j += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(QB, data, bo + 2 + j, Kernels.LE)
                        .convertShape(VectorOperators.B2F, QF, 0)).intoArray(w, wo + b * 32 + j);
            }
        }
    }

    @Override
    int element(long blockOffset, int j) {
        return data.get(ValueLayout.JAVA_BYTE, blockOffset + 2 + j);
    }

    /** Element k of a lane is its byte k: shifted to the top byte, then back with sign extension. */
    private static int[][] byteToTop() {
        int[][] shifts = new int[4][LANES];
        for (int k = 0; k < 4; k++) {
            java.util.Arrays.fill(shifts[k], 24 - 8 * k);
        }
        return shifts;
    }
}
