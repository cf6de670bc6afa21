package io.splitstream.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RankedTokensTest {

    @Test
    void ordersByLogitDescendingThenTokenAscending() {
        assertTrue(RankedTokens.pack(2f, 9) < RankedTokens.pack(1f, 0));
        assertTrue(RankedTokens.pack(-1f, 9) < RankedTokens.pack(-2f, 0));
        assertTrue(RankedTokens.pack(0.5f, 9) < RankedTokens.pack(-0.5f, 0));
        assertTrue(RankedTokens.pack(3f, 1) < RankedTokens.pack(3f, 2));
        assertTrue(RankedTokens.pack(-0f, 1) < RankedTokens.pack(0f, 2), "the two zeros tie");
        assertTrue(RankedTokens.pack(-1e30f, 0) < RankedTokens.pack(Float.NEGATIVE_INFINITY, 0));
    }

    @Test
    void unpacksLogitAndToken() {
        for (float logit : new float[] {0f, 1.5f, -2.25f, Float.MAX_VALUE, -Float.MIN_VALUE}) {
            long key = RankedTokens.pack(logit, 151_935);
            assertEquals(logit, RankedTokens.logit(key));
            assertEquals(151_935, RankedTokens.token(key));
        }
    }

    @Test
    void boundedHeapKeepsTheBestKeys() {
        SplittableRandom random = new SplittableRandom(7);
        long[] all = new long[5000];
        for (int token = 0; token < all.length; token++) {
            all[token] = RankedTokens.pack((float) random.nextInt(-50, 50), token);
        }
        long[] heap = new long[37];
        int size = 0;
        for (long key : all) {
            size = RankedTokens.offer(heap, size, heap.length, key);
        }
        RankedTokens.rank(heap, size);
        Arrays.sort(all);
        assertArrayEquals(Arrays.copyOf(all, 37), heap);
    }
}
