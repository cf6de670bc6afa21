package io.splitstream.gateway;

import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import java.util.List;

/**
 * A request that passed validation: the prompt as token ids and every limit resolved.
 *
 * @param maxTokens      tokens to generate at most, already clamped to the context left after the prompt
 * @param clamped        whether maxTokens was lowered to fit the context
 * @param mode           the mode asked for (the gateway's default when the request said none)
 * @param speculation    as asked (checked; an empty mode leaves the choice to the decode instance's default)
 */
public record ValidatedRequest(String requestId, int[] promptTokens, SamplingParameters sampling, int maxTokens,
        boolean clamped, List<String> stop, boolean ignoreEos, int logprobs, GatewayConfig.Mode mode,
        SpeculationParameters speculation) {
}
