package io.splitstream.engine.sampling;

import java.util.Arrays;

/**
 * Packs a (logit, token) pair into one {@code long} whose natural order is logit descending, then token
 * ascending, so candidates can be ranked with primitive sorts and heaps instead of boxed comparators.
 */
final class RankedTokens {

    private RankedTokens() {
    }

    static long pack(float logit, int token) {
        // Adding +0 turns -0 into +0, so the two zeros tie and fall back to the token order.
        int bits = Float.floatToRawIntBits(logit + 0f);
        int ascending = bits >= 0 ? bits : bits ^ Integer.MAX_VALUE;
        return ((long) ~ascending << 32) | token;
    }

    static float logit(long key) {
        int ascending = ~(int) (key >> 32);
        return Float.intBitsToFloat(ascending >= 0 ? ascending : ascending ^ Integer.MAX_VALUE);
    }

    static int token(long key) {
        return (int) key;
    }

    /**
     * Offers a key to a bounded max-heap that keeps the {@code capacity} best (smallest) keys; the root is
     * the worst kept key, so most offers over a large vocabulary end in one comparison.
     *
     * @return the heap's new size
     */
    static int offer(long[] heap, int size, int capacity, long key) {
        if (size < capacity) {
            int child = size;
            while (child > 0) {
                int parent = (child - 1) >>> 1;
                if (heap[parent] >= key) {
                    break;
                }
                heap[child] = heap[parent];
                child = parent;
            }
            heap[child] = key;
            return size + 1;
        }
        if (key < heap[0]) {
            siftDown(heap, size, key);
        }
        return size;
    }

    /** Turns a heap built by {@link #offer} into a ranked list, best first. */
    static void rank(long[] heap, int size) {
        Arrays.sort(heap, 0, size);
    }

    private static void siftDown(long[] heap, int size, long key) {
        int parent = 0;
        while (true) {
            int child = 2 * parent + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] > heap[child]) {
                child++;
            }
            if (heap[child] <= key) {
                break;
            }
            heap[parent] = heap[child];
            parent = child;
        }
        heap[parent] = key;
    }
}
