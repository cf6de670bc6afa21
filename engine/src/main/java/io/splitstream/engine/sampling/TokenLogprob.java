package io.splitstream.engine.sampling;

/** A token with its natural-log probability, as reported in an API response's logprobs. */
public record TokenLogprob(int token, float logprob) {
}
