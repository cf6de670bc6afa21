package io.splitstream.engine.spec;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Okapi BM25 over token ids: a long text cut into fixed-size chunks, each chunk a document, scored against a query
 * of tokens. A lexical stand-in for RAPID's embedding retrieval that needs no second model: chunks sharing the
 * query's rarer tokens (names, objects) rank first. k1 = 1.2, b = 0.75, idf = ln(1 + (N − n + 0.5) / (n + 0.5)).
 */
public final class Bm25ChunkRanker {
    private static final double K1 = 1.2;
    private static final double B = 0.75;

    private final int[] text;
    private final int chunkTokens;
    private final int chunks;
    private final Map<Integer, Integer>[] termCounts;
    private final Map<Integer, Integer> chunkFrequency = new HashMap<>();
    private final double meanChunkLength;

    /** Chunks {@code text[0, length)} into pieces of {@code chunkTokens} (the last may be shorter). */
    @SuppressWarnings("unchecked")
    public Bm25ChunkRanker(int[] text, int length, int chunkTokens) {
        if (chunkTokens < 1) {
            throw new IllegalArgumentException("chunkTokens must be >= 1, got " + chunkTokens);
        }
        this.text = Arrays.copyOf(text, length);
        this.chunkTokens = chunkTokens;
        this.chunks = (length + chunkTokens - 1) / chunkTokens;
        this.termCounts = new Map[chunks];
        for (int c = 0; c < chunks; c++) {
            termCounts[c] = new HashMap<>();
            for (int i = chunkStart(c); i < chunkEnd(c); i++) {
                termCounts[c].merge(this.text[i], 1, Integer::sum);
            }
            for (int term : termCounts[c].keySet()) {
                chunkFrequency.merge(term, 1, Integer::sum);
            }
        }
        this.meanChunkLength = chunks == 0 ? 0 : (double) length / chunks;
    }

    public int chunks() {
        return chunks;
    }

    public int chunkStart(int chunk) {
        return chunk * chunkTokens;
    }

    public int chunkEnd(int chunk) {
        return Math.min(text.length, (chunk + 1) * chunkTokens);
    }

    /** BM25 score of {@code chunk} for the query (each query occurrence of a token counts). */
    public double score(int chunk, int[] query) {
        Map<Integer, Integer> counts = termCounts[chunk];
        double norm = K1 * (1 - B + B * (chunkEnd(chunk) - chunkStart(chunk)) / meanChunkLength);
        double score = 0;
        for (int term : query) {
            Integer tf = counts.get(term);
            if (tf != null) {
                int n = chunkFrequency.get(term);
                double idf = Math.log(1 + (chunks - n + 0.5) / (n + 0.5));
                score += idf * tf * (K1 + 1) / (tf + norm);
            }
        }
        return score;
    }

    /**
     * The best chunks whose tokens fit {@code tokenBudget} together, returned in document order (the drafter reads
     * them as text). Ties go to the later chunk, which is nearer the query.
     */
    public int[] select(int[] query, int tokenBudget) {
        Integer[] order = new Integer[chunks];
        double[] scores = new double[chunks];
        for (int c = 0; c < chunks; c++) {
            scores[c] = score(c, query);
            order[c] = c;
        }
        Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Double.compare(scores[b], scores[a]) : b - a);
        boolean[] kept = new boolean[chunks];
        int used = 0;
        for (int i = 0; i < chunks; i++) {
            int size = chunkEnd(order[i]) - chunkStart(order[i]);
            if (used + size <= tokenBudget) {
                kept[order[i]] = true;
                used += size;
            }
        }
        int[] out = new int[chunks];
        int n = 0;
        for (int c = 0; c < chunks; c++) {
            if (kept[c]) {
                out[n++] = c;
            }
        }
        return Arrays.copyOf(out, n);
    }
}
