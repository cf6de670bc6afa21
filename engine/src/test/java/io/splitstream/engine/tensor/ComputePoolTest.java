package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ComputePoolTest {

    @Test
    void coversEveryIndexOnceInContiguousPiecesOnTheGrain() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            try (ComputePool pool = new ComputePool(threads)) {
                assertEquals(threads, pool.threads());
                for (int grain : new int[] {1, 16}) {
                    for (int count : new int[] {0, 1, 2, 3, 4, 7, 100, 1001}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, count));
                        List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
                        pool.parallelFor(count, grain, (from, to) -> {
                            assertTrue(from < to);
                            assertEquals(0, from % grain, "piece starts off the grain: " + from);
                            chunks.add(new int[] {from, to});
                            for (int i = from; i < to; i++) hits.incrementAndGet(i);
                        });
                        for (int i = 0; i < count; i++) assertEquals(1, hits.get(i), "index " + i);
                        assertTrue(chunks.size() <= Math.max(1, 4 * threads), chunks.size() + " pieces");
                    }
                }
            }
        }
    }

    @Test
    void manyCallsAndReuse() {
        try (ComputePool pool = new ComputePool(2)) {
            long[] sums = new long[2];
            for (int k = 0; k < 2_000; k++) {
                pool.parallelFor(2, (from, to) -> {
                    for (int i = from; i < to; i++) sums[i] += i + 1;
                });
            }
            assertEquals(2_000, sums[0]);
            assertEquals(4_000, sums[1]);
        }
    }

    @Test
    void exceptionsPropagateAndPoolStaysUsable() {
        try (ComputePool pool = new ComputePool(3)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.parallelFor(30, (from, to) -> {
                if (from > 0) throw new IllegalStateException("boom " + from);
            }));
            assertTrue(e.getMessage().startsWith("boom"));
            int[] n = new int[1];
            pool.parallelFor(1, (from, to) -> n[0] = to);
            assertEquals(1, n[0]);
            AtomicIntegerArray hits = new AtomicIntegerArray(30);
            pool.parallelFor(30, (from, to) -> {
                for (int i = from; i < to; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < 30; i++) assertEquals(1, hits.get(i));
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (ComputePool pool = new ComputePool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.parallelFor(10, (from, to) -> {
                for (int i = from; i < to; i++) {
                    int base = i * 10;
                    pool.parallelFor(10, (f2, t2) -> {
                        for (int j = f2; j < t2; j++) hits.incrementAndGet(base + j);
                    });
                }
            });
            for (int i = 0; i < 100; i++) assertEquals(1, hits.get(i));
        }
    }

    @Test
    void concurrentCallersAreSerialized() throws InterruptedException {
        try (ComputePool pool = new ComputePool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(4000);
            Thread[] callers = new Thread[4];
            for (int c = 0; c < callers.length; c++) {
                int base = c * 1000;
                callers[c] = new Thread(() -> {
                    for (int k = 0; k < 50; k++) {
                        pool.parallelFor(1000, (from, to) -> {
                            for (int i = from; i < to; i++) hits.incrementAndGet(base + i);
                        });
                    }
                });
                callers[c].start();
            }
            for (Thread t : callers) t.join();
            for (int i = 0; i < 4000; i++) assertEquals(50, hits.get(i));
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new ComputePool(0));
        assertTrue(ComputePool.defaultThreads() >= 1);
    }
}
