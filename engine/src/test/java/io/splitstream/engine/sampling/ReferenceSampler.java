package io.splitstream.engine.sampling;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/** llama.cpp's sampler chain written the obvious way, sorting the whole vocabulary, to check Sampler against. */
final class ReferenceSampler {

    private final float[] logits;
    /** Finite-logit tokens, best first, ties to the lowest id. */
    private final int[] order;

    ReferenceSampler(float[] logits) {
        this.logits = logits;
        this.order = IntStream.range(0, logits.length).filter(t -> logits[t] > Float.NEGATIVE_INFINITY)
                .boxed().sorted(Comparator.<Integer>comparingDouble(t -> -logits[t]).thenComparingInt(t -> t))
                .mapToInt(Integer::intValue).toArray();
    }

    /** Without penalties: top-k, top-p, min-p, then temperature, over all finite logits. */
    double[] probabilities(SamplingParams params) {
        int kept = params.topK() > 0 ? Math.min(params.topK(), order.length) : order.length;
        float max = logits[order[0]];
        if (params.topP() < 1f) {
            double normalizer = 0;
            for (int i = 0; i < kept; i++) {
                normalizer += Math.exp(logits[order[i]] - max);
            }
            double cumulative = 0;
            for (int i = 0; i < kept; i++) {
                cumulative += Math.exp(logits[order[i]] - max) / normalizer;
                if (cumulative >= params.topP()) {
                    kept = i + 1;
                    break;
                }
            }
        }
        if (params.minP() > 0f) {
            double floor = max + Math.log(params.minP());
            while (kept > 1 && logits[order[kept - 1]] < floor) {
                kept--;
            }
        }
        double[] probabilities = new double[logits.length];
        for (int i = 0; i < kept; i++) {
            probabilities[order[i]] = Math.exp((logits[order[i]] - max) / params.temperature());
        }
        double sum = Arrays.stream(probabilities).sum();
        return Arrays.stream(probabilities).map(p -> p / sum).toArray();
    }
}
