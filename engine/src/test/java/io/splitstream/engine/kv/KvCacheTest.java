package io.splitstream.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KvCacheTest {
    static final ModelFingerprint FP = new ModelFingerprint("llama", 2, 2, 4, "abc");

    private static KvCache cache(int tokens) {
        return new KvCache(FP, 2, 2, 4, KvPrecision.F32, tokens, 4);
    }

    private static float[] row(float base) {
        float[] r = new float[8];
        for (int i = 0; i < r.length; i++) {
            r[i] = base + i;
        }
        return r;
    }

    private static void fill(KvCache c, int seq, int length) {
        c.reserve(seq, length);
        c.setLength(seq, length);
        for (int p = 0; p < length; p++) {
            for (int l = 0; l < 2; l++) {
                c.store(l, c.slot(seq, p), row(p * 10 + l), 0, row(-p * 10 - l), 0);
            }
        }
    }

    @Test
    void allocatesAllOrNothingAndFreesOnRelease() {
        KvCache c = cache(16); // 4 blocks of 4
        int a = c.newSequence();
        c.reserve(a, 9);
        assertEquals(1, c.freeBlocks());
        int b = c.newSequence();
        assertThrows(KvCacheFullException.class, () -> c.reserve(b, 8));
        assertEquals(1, c.freeBlocks(), "a failed reservation allocates nothing");
        c.release(a);
        assertEquals(4, c.freeBlocks());
        c.release(a); // idempotent
        assertEquals(4, c.freeBlocks());
    }

    @Test
    void truncateForkAndRetain() {
        KvCache c = cache(64);
        int s = c.newSequence();
        fill(c, s, 10);
        int f = c.fork(s);
        assertArrayEquals(c.export(s, 1, 0, 10).keys(), c.export(f, 1, 0, 10).keys());
        c.truncate(s, 5);
        assertEquals(5, c.length(s));
        assertEquals(10, c.length(f), "forks are independent");
        // keep rows 2 and 4 after base 5 of the fork: positions 7 and 9 move to 5 and 6
        c.retain(f, 5, new int[] {2, 4});
        assertEquals(7, c.length(f));
        assertArrayEquals(row(70), java.util.Arrays.copyOf(c.export(f, 0, 5, 1).keys(), 8));
        assertArrayEquals(row(90), java.util.Arrays.copyOf(c.export(f, 0, 6, 1).keys(), 8));
    }

    @Test
    void exportImportAcrossCachesAndFingerprintCheck() {
        KvCache a = cache(64);
        KvCache b = cache(64);
        int s = a.newSequence();
        fill(a, s, 7);
        int t = b.newSequence();
        for (int l = 0; l < 2; l++) {
            b.importChunk(t, a.export(s, l, 0, 7));
        }
        b.setLength(t, 7);
        for (int l = 0; l < 2; l++) {
            assertArrayEquals(a.export(s, l, 0, 7).values(), b.export(t, l, 0, 7).values());
        }
        b.checkFingerprint(FP, false);
        ModelFingerprint other = new ModelFingerprint("llama", 2, 2, 4, "different weights");
        assertThrows(IllegalArgumentException.class, () -> b.checkFingerprint(other, false));
        b.checkFingerprint(other, true);
        assertThrows(IllegalArgumentException.class,
                () -> b.checkFingerprint(new ModelFingerprint("qwen2", 2, 2, 4, "x"), true));
    }

    @Test
    void q8StorageIsCloseToF32() {
        KvCache c = new KvCache(FP, 2, 2, 4, KvPrecision.Q8, 16, 4);
        int s = c.newSequence();
        fill(c, s, 3);
        float[] k = c.export(s, 1, 2, 1).keys();
        float[] expected = row(21);
        for (int i = 0; i < 8; i++) {
            assertEquals(expected[i], k[i], Math.abs(expected[i]) / 100 + 0.1);
        }
    }
}
