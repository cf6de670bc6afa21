package io.splitstream.gateway;

import io.splitstream.proto.v1.SamplingParameters;
import java.util.List;

/**
 * A request that passed validation: the prompt as token ids and every limit resolved.
 *
 * @param maxTokens      tokens to generate at most, already clamped to the context left after the prompt
 * @param clamped        whether maxTokens was lowered to fit the context
 * @param mode           the mode asked for (the gateway's default when the request said none)
 */
public record ValidatedRequest(String requestId, int[] promptTokens, SamplingParameters sampling, int maxTokens,
        boolean clamped, List<String> stop, boolean ignoreEos, int logprobs, GatewayConfig.Mode mode) {
}
