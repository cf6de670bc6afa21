package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.F;
import static io.splitstream.engine.tensor.Kernels.L;
import static io.splitstream.engine.tensor.Kernels.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** bfloat16 weights: each row is widened to float (bits &lt;&lt; 16, vectorized) and dotted in float. */
final class BF16Matrix extends WeightMatrix.DequantizingMatrix {
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int SL = S.length();
    private static final int SPARTS = SL / L;

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int offset) {
        long ro = row * rowBytes;
        int i = 0;
        for (; i <= cols - SL; i += SL) {
            ShortVector sv = ShortVector.fromMemorySegment(S, data, ro + 2L * i, LE);
            for (int p = 0; p < SPARTS; p++) {
                ((IntVector) sv.convertShape(VectorOperators.S2I, I, p)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats().intoArray(dst, offset + i + p * L);
            }
        }
        for (; i < cols; i++) {
            dst[offset + i] = Float.intBitsToFloat(data.get(Kernels.SHORT_LE, ro + 2L * i) << 16);
        }
    }
}
