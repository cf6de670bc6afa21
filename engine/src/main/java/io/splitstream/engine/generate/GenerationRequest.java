package io.splitstream.engine.generate;

import io.splitstream.engine.sampling.SamplingParams;
import java.util.List;

/**
 * What to generate: prompt token ids (BOS included if wanted), sampling, limits and stop strings.
 *
 * @param ignoreEos keep generating past end-of-generation tokens (benchmarks, golden comparisons)
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, boolean ignoreEos, List<String> stop) {
    public GenerationRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must hold at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        sampling.validate();
        stop = List.copyOf(stop);
    }
}
