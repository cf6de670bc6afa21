package io.splitstream.engine.spec;

import io.splitstream.engine.sampling.Sampler;

/**
 * Decides which draft path the target accepts, losslessly.
 *
 * <p>The drafts here (recycled top-k rows, retrieved continuations) carry no draft probabilities, so the rule is
 * the one that is exact for any tree shape: at the current node u (starting at the root) draw the target's
 * token y ~ p_u; if a child of u carries y, emit y and descend; otherwise emit y and stop (it is the correction
 * or, at a leaf, the bonus token). Every emitted token is a draw from the target's distribution at its own
 * position, conditioned on the tokens before it, so the output distribution is plain sampling's. For
 * deterministic drafts this is also what SpecInfer's multi-draft rejection reduces to (accepting sibling x_i
 * with probability p(x_i) / (1 - p(x_1) - ... - p(x_{i-1})) after removing the rejected ones accepts some
 * child with probability Σ p(children), the same as drawing y once); it just needs one random number per
 * emitted token instead of one per child tried.
 *
 * <p>One draw per emitted token, in emission order, through {@link Sampler#draw}({@link Sampler#probabilities})
 * — which equals {@link Sampler#sample} for the same random state — and {@link Sampler#accept} after each
 * emitted token, as plain decoding does. So with the same seed, speculative sampling emits exactly the tokens
 * plain sampling emits, whatever was drafted (a stronger property than equal distributions, and what makes
 * seeded requests reproducible). Under greedy (temperature 0) the draw is the argmax (ties to the lowest id).
 */
public final class TreeVerifier implements Verifier {

    @Override
    public Verification verify(DraftTree tree, float[] rootLogits, float[][] nodeLogits, Sampler sampler) {
        int[] pathNodes = new int[tree.maxDepth()];
        int[] emitted = new int[tree.maxDepth() + 1];
        int accepted = 0;
        int node = -1;
        float[] logits = rootLogits;
        while (true) {
            int y = choose(logits, sampler);
            sampler.accept(y);
            emitted[accepted] = y;
            int next = tree.child(node, y);
            if (next < 0) {
                break;
            }
            pathNodes[accepted++] = next;
            node = next;
            logits = nodeLogits[next];
        }
        return new Verification(java.util.Arrays.copyOf(pathNodes, accepted), java.util.Arrays.copyOf(emitted, accepted + 1));
    }

    private static int choose(float[] logits, Sampler sampler) {
        if (sampler.params().isGreedy()) {
            return sampler.sample(logits); // argmax of the penalized logits; no random number
        }
        return sampler.draw(sampler.probabilities(logits));
    }
}
