package io.splitstream.engine.model;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;

/**
 * Perplexity exactly as {@code llama-perplexity} computes it, so figures compare: the tokens (with BOS) are cut
 * into chunks of {@code context}; each chunk starts with BOS in place of its first token; only the second half of
 * each chunk is scored (predictions at positions context/2 .. context-2).
 */
public final class Perplexity {

    /** Final perplexity, the running value after each chunk, and how many tokens were scored. */
    public record Result(double perplexity, double[] afterChunk, int scoredTokens) {
    }

    private Perplexity() {
    }

    public static Result compute(Transformer transformer, int[] tokens, int context, KvPrecision kvPrecision) {
        int chunks = tokens.length / context;
        if (chunks == 0) {
            throw new IllegalArgumentException("need at least " + context + " tokens for context " + context + ", got " + tokens.length);
        }
        int bos = transformer.model().tokenizer().bosId();
        KvCache cache = transformer.model().newKvCache(kvPrecision, context);
        int first = context / 2;
        double nll = 0;
        int count = 0;
        double[] running = new double[chunks];
        for (int ch = 0; ch < chunks; ch++) {
            int[] chunk = java.util.Arrays.copyOfRange(tokens, ch * context, (ch + 1) * context);
            chunk[0] = bos;
            int seq = cache.newSequence();
            try {
                Batch.Builder b = new Batch.Builder();
                for (int i = 0; i < context; i++) {
                    b.add(seq, i, chunk[i], -1, i >= first && i < context - 1);
                }
                float[][] logits = transformer.forward(b.build(), cache, LayerListener.NONE);
                for (int i = first; i < context - 1; i++) {
                    nll -= logProbability(logits[i], tokens[ch * context + i + 1]);
                    count++;
                }
            } finally {
                cache.release(seq);
            }
            running[ch] = Math.exp(nll / count);
        }
        return new Result(running[chunks - 1], running, count);
    }

    static double logProbability(float[] logits, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return logits[target] - max - Math.log(sum);
    }
}
