package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AnonymousMemoryTest {

    @Test
    void bigAndSmallBuffersAreZeroedWritableAndAligned() {
        for (long bytes : new long[] {64, 100_000, 6L << 20}) {
            MemorySegment s = AnonymousMemory.allocate(bytes);
            assertEquals(bytes, s.byteSize());
            assertEquals(0, s.address() % 64, "alignment");
            for (long o = 0; o < bytes; o += 4093) {
                assertEquals(0, s.get(ValueLayout.JAVA_BYTE, o), "not zero at " + o);
            }
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8, 0x1234_5678_9abc_def0L);
            assertEquals(0x1234_5678_9abc_def0L, s.get(ValueLayout.JAVA_LONG_UNALIGNED, bytes - 8));
        }
    }

    @Test
    void aMatrixWhoseTilesNeedAMappingMultipliesLikeTheReference() {
        // 2048 rows x 2048 Q4_0: 2.6 MB of tiles, above the size that takes the mapped path
        Random rnd = new Random(5);
        int rows = 2048, cols = 2048;
        float[] w = WeightMatrixTest.gaussian(rnd, rows * cols, 0.05f);
        WeightMatrix m = WeightMatrix.of(GgmlType.Q4_0, WeightMatrixTest.quantize(GgmlType.Q4_0, w, rows, cols), rows, cols);
        float[] x = WeightMatrixTest.gaussian(rnd, 3 * cols, 1f);
        float[] out = new float[3 * rows];
        m.multiply(x, 3, out, null);
        WeightMatrixTest.checkAgainstReference(m, x, 3, out);
    }
}
