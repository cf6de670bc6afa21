package io.splitstream.engine.tokenizer;

import java.util.List;

/**
 * Token text → id, looked up by a region of a larger string so that merge loops need not allocate a substring
 * for every candidate pair. Open addressing with linear probing over String's own hash function.
 */
final class TokenIndex {
    private final String[] texts;
    private final int[] ids;
    private final int mask;

    TokenIndex(List<String> tokens) {
        int capacity = Integer.highestOneBit(Math.max(4, tokens.size()) * 2) * 2; // load factor at most 1/2
        texts = new String[capacity];
        ids = new int[capacity];
        mask = capacity - 1;
        for (int id = 0; id < tokens.size(); id++) {
            String text = tokens.get(id);
            int slot = slot(text, 0, text.length());
            texts[slot] = text;
            ids[slot] = id; // a duplicate text maps to its last id, as in llama.cpp
        }
    }

    /** The id of the token whose text is {@code text[start, end)}, or -1. */
    int find(String text, int start, int end) {
        int slot = slot(text, start, end);
        return texts[slot] == null ? -1 : ids[slot];
    }

    /** The slot holding this text, or the empty slot where it would go. */
    private int slot(String text, int start, int end) {
        int length = end - start;
        int hash = 0;
        for (int i = start; i < end; i++) {
            hash = 31 * hash + text.charAt(i);
        }
        for (int slot = (hash ^ (hash >>> 16)) & mask; ; slot = (slot + 1) & mask) {
            String candidate = texts[slot];
            if (candidate == null
                    || (candidate.length() == length && candidate.regionMatches(0, text, start, length))) {
                return slot;
            }
        }
    }
}
