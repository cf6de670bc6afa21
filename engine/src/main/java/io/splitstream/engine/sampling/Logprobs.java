package io.splitstream.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-softmax over raw logits, before any penalty, filter or temperature, as vLLM reports logprobs by
 * default. Reads the caller's array without copying it, so use it before the array is overwritten.
 */
public final class Logprobs {

    private final float[] logits;
    private final double logNormalizer;

    private Logprobs(float[] logits, double logNormalizer) {
        this.logits = logits;
        this.logNormalizer = logNormalizer;
    }

    /** Computes the normalizer once, so the chosen token and the top list share it. */
    public static Logprobs of(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        if (!(max > Float.NEGATIVE_INFINITY) || Float.isInfinite(max)) {
            throw new IllegalArgumentException("logits need a finite maximum, got " + max);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        return new Logprobs(logits, max + Math.log(sum));
    }

    public float logprob(int token) {
        return (float) (logits[token] - logNormalizer);
    }

    /**
     * The {@code n} most likely tokens, best first, ties to the lowest id; tokens with a logit of
     * negative infinity are never listed, so fewer than {@code n} may come back.
     */
    public List<TokenLogprob> top(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        int capacity = Math.min(n, logits.length);
        if (capacity == 0) {
            return List.of();
        }
        long[] heap = new long[capacity];
        int size = 0;
        for (int token = 0; token < logits.length; token++) {
            if (logits[token] > Float.NEGATIVE_INFINITY) {
                size = RankedTokens.offer(heap, size, capacity, RankedTokens.pack(logits[token], token));
            }
        }
        RankedTokens.rank(heap, size);
        List<TokenLogprob> top = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int token = RankedTokens.token(heap[i]);
            top.add(new TokenLogprob(token, logprob(token)));
        }
        return List.copyOf(top);
    }
}
