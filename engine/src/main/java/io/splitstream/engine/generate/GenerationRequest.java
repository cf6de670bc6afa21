package io.splitstream.engine.generate;

import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.Speculation;
import java.util.List;

/**
 * What to generate: prompt token ids (BOS included if wanted), sampling, limits, stop strings and speculation.
 *
 * @param ignoreEos   keep generating past end-of-generation tokens (benchmarks, golden comparisons)
 * @param speculation drafting for this request ({@link Speculation#OFF} = plain decoding); it never changes what
 *                    is generated, only how many tokens a step emits
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, boolean ignoreEos, List<String> stop,
                                Speculation speculation) {
    public GenerationRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must hold at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        sampling.validate();
        stop = List.copyOf(stop);
        if (speculation == null) {
            speculation = Speculation.OFF;
        }
    }

    /** A request decoded plainly. */
    public GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, boolean ignoreEos, List<String> stop) {
        this(prompt, sampling, maxTokens, ignoreEos, stop, Speculation.OFF);
    }
}
