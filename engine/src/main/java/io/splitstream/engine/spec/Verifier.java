package io.splitstream.engine.spec;

import io.splitstream.engine.sampling.Sampler;

/** An acceptance rule for a verified draft tree; {@link TreeVerifier} is the lossless one. */
@FunctionalInterface
public interface Verifier {
    /**
     * @param tree       the draft, rooted at the last accepted token
     * @param rootLogits the target's logits at the root row (predicting the token after the last accepted one)
     * @param nodeLogits the target's logits per tree node (predicting the token after that node)
     * @param sampler    the sequence's sampler; implementations draw from it and {@link Sampler#accept} what they emit
     */
    Verification verify(DraftTree tree, float[] rootLogits, float[][] nodeLogits, Sampler sampler);
}
