package io.splitstream.engine.model;

import java.util.Arrays;

/**
 * Rows for one forward pass. Each row is (sequence, position, token). A sequence's rows are appended to its KV
 * cache in row order after its current length. Without parents the mask is causal per sequence (a row sees the
 * sequence's cached positions, its earlier rows in this batch and itself); with parents the rows of a sequence
 * form a draft tree ({@code parents[i]} is the batch index of row i's parent, -1 for a root) and a row sees the
 * cache, its ancestors and itself. Prefill chunks, multi-sequence decode steps and tree verification are all
 * batches.
 */
public record Batch(int[] sequences, int[] positions, int[] tokens, int[] parents, boolean[] wantLogits) {

    public Batch {
        int n = tokens.length;
        if (n == 0 || sequences.length != n || positions.length != n || wantLogits.length != n
                || (parents != null && parents.length != n)) {
            throw new IllegalArgumentException("batch arrays must be non-empty and of equal length");
        }
        if (parents != null) {
            for (int i = 0; i < n; i++) {
                int p = parents[i];
                if (p >= i || p < -1 || (p >= 0 && sequences[p] != sequences[i])) {
                    throw new IllegalArgumentException("row " + i + " has invalid parent " + p
                            + " (parents must precede their children within the same sequence)");
                }
            }
        }
    }

    public int size() {
        return tokens.length;
    }

    /** Consecutive positions of one sequence starting at {@code start}, logits for the last row only. */
    public static Batch chunk(int sequence, int start, int[] tokens, boolean lastLogits) {
        int n = tokens.length;
        int[] seqs = new int[n];
        Arrays.fill(seqs, sequence);
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = start + i;
        }
        boolean[] want = new boolean[n];
        want[n - 1] = lastLogits;
        return new Batch(seqs, pos, tokens.clone(), null, want);
    }

    /** Builds batches row by row. */
    public static final class Builder {
        private int[] seqs = new int[16];
        private int[] pos = new int[16];
        private int[] toks = new int[16];
        private int[] parents = new int[16];
        private boolean[] want = new boolean[16];
        private boolean tree;
        private int n;

        /** Adds a row; returns its batch index. {@code parent} is -1 for causal rows and tree roots. */
        public int add(int sequence, int position, int token, int parent, boolean logits) {
            if (n == toks.length) {
                seqs = Arrays.copyOf(seqs, n * 2);
                pos = Arrays.copyOf(pos, n * 2);
                toks = Arrays.copyOf(toks, n * 2);
                parents = Arrays.copyOf(parents, n * 2);
                want = Arrays.copyOf(want, n * 2);
            }
            seqs[n] = sequence;
            pos[n] = position;
            toks[n] = token;
            parents[n] = parent;
            want[n] = logits;
            tree |= parent >= 0;
            return n++;
        }

        /** Marks the batch as tree-masked even when all rows so far are roots. */
        public Builder tree() {
            tree = true;
            return this;
        }

        public int size() {
            return n;
        }

        /** Whether the batch will be tree-masked. */
        public boolean isTree() {
            return tree;
        }

        public Batch build() {
            return new Batch(Arrays.copyOf(seqs, n), Arrays.copyOf(pos, n), Arrays.copyOf(toks, n),
                    tree ? Arrays.copyOf(parents, n) : null, Arrays.copyOf(want, n));
        }
    }
}
