package io.splitstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Runs each benchmark method once on small data (no JMH fork): shows the benchmark code works, measures nothing. */
class BenchSmokeTest {

    @Test
    void matmulRunsOnceForEveryType() {
        for (String type : new String[] {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"}) {
            MatmulBench b = new MatmulBench();
            b.type = type;
            b.shape = "64x512";
            b.batch = 2;
            b.threads = 2;
            b.footprintMB = 1;
            b.setup();
            try {
                float[] out = b.matmul();
                assertEquals(2 * 64, out.length);
                boolean nonZero = false;
                for (float v : out) {
                    assertTrue(Float.isFinite(v), type);
                    nonZero |= v != 0;
                }
                assertTrue(nonZero, type);
            } finally {
                b.tearDown();
            }
        }
    }

    @Test
    void streamKernelsRunOnce() {
        StreamBench s = new StreamBench();
        s.threads = 2;
        s.elements = 1 << 12;
        s.setup();
        try {
            s.copy();
            s.scale();
            s.add();
            double[] a = s.triad();
            // STREAM's first iteration: a=1,b=2,c=0 -> c=1 -> b=3 -> c=4 -> a=3+3*4=15.
            assertEquals(15.0, a[0]);
            assertEquals(15.0, a[a.length - 1]);
        } finally {
            s.tearDown();
        }
    }
}
