package io.splitstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.cli.Args;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LoadgenCommandTest {
    @Test
    void percentilesUseNearestRank() {
        double[] v = new double[100];
        for (int i = 0; i < 100; i++) {
            v[i] = i + 1;
        }
        assertEquals(50, LoadgenCommand.percentile(v, 0.5));
        assertEquals(99, LoadgenCommand.percentile(v, 0.99));
        assertTrue(Double.isNaN(LoadgenCommand.percentile(new double[0], 0.5)));
    }

    @Test
    void lengthDistributions() throws Exception {
        SplittableRandom r = new SplittableRandom(1);
        assertEquals(7, LengthDistribution.parse("fixed:7").next(r));
        for (int i = 0; i < 100; i++) {
            int n = LengthDistribution.parse("uniform:3:5").next(r);
            assertTrue(n >= 3 && n <= 5);
        }
        assertThrows(Args.UsageException.class, () -> LengthDistribution.parse("uniform:5:3"));
        assertThrows(Args.UsageException.class, () -> LengthDistribution.parse("normal:3"));
        assertThrows(Args.UsageException.class, () -> LengthDistribution.parse("fixed:0"));
    }
}
