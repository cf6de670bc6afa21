package io.splitstream.engine.tokenizer;

import java.util.PriorityQueue;

/**
 * The merge loop llama.cpp's SentencePiece and BPE tokenizers share: the text starts as one symbol per code point,
 * kept as a linked list; the best-priority pair of neighbours (leftmost on ties) is merged until no pair merges.
 * A priority queue of candidate pairs makes this O(n log n) rather than a rescan after every merge.
 */
final class SymbolMerger {

    /** Whether two neighbouring symbols merge, and how urgently. */
    @FunctionalInterface
    interface PairPriority {
        /**
         * @return lower merges first; NaN if the symbols {@code text[start, start + leftLength)} and the
         *         {@code rightLength} characters after it do not merge
         */
        double of(int start, int leftLength, int rightLength);
    }

    /** Receives each final symbol as {@code text[start, end)}, left to right. */
    @FunctionalInterface
    interface SymbolConsumer {
        void accept(int start, int end);
    }

    /** A candidate merge; {@code length} detects that either symbol has changed since it was queued. */
    private record Candidate(int left, int right, double priority, int length) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate other) {
            return priority != other.priority ? Double.compare(priority, other.priority)
                    : Integer.compare(left, other.left);
        }
    }

    private final PairPriority priority;
    private final int[] start;
    private final int[] length;
    private final int[] previous;
    private final int[] next;
    private final PriorityQueue<Candidate> queue = new PriorityQueue<>();

    SymbolMerger(String text, PairPriority priority) {
        this.priority = priority;
        int count = text.codePointCount(0, text.length());
        start = new int[count];
        length = new int[count];
        previous = new int[count];
        next = new int[count];
        for (int i = 0, offset = 0; i < count; i++) {
            start[i] = offset;
            length[i] = Character.charCount(text.codePointAt(offset));
            offset += length[i];
            previous[i] = i - 1;
            next[i] = offset == text.length() ? -1 : i + 1;
        }
    }

    /** Merges until no pair merges, then hands over the symbols that remain. */
    void run(SymbolConsumer symbols) {
        if (start.length == 0) {
            return;
        }
        for (int i = 1; i < start.length; i++) {
            offer(i - 1, i);
        }
        while (!queue.isEmpty()) {
            Candidate candidate = queue.poll();
            int left = candidate.left();
            int right = candidate.right();
            // Symbols only grow by absorbing their right neighbour, so a changed total means a stale pair.
            if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != candidate.length()) {
                continue;
            }
            length[left] += length[right];
            length[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                previous[next[right]] = left;
            }
            offer(previous[left], left);
            offer(left, next[left]);
        }
        // The first symbol is never absorbed, so the list still starts at 0.
        for (int i = 0; i != -1; i = next[i]) {
            symbols.accept(start[i], start[i] + length[i]);
        }
    }

    private void offer(int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        double urgency = priority.of(start[left], length[left], length[right]);
        if (!Double.isNaN(urgency)) {
            queue.add(new Candidate(left, right, urgency, length[left] + length[right]));
        }
    }
}
