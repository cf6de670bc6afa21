package io.splitstream.engine.spec;

/**
 * The outcome of verifying a draft tree.
 *
 * @param acceptedNodes tree nodes on the accepted path, root's child first
 * @param emitted       the tokens to emit: the accepted nodes' tokens, then the correction / bonus token
 *                      (always one more than {@code acceptedNodes})
 */
public record Verification(int[] acceptedNodes, int[] emitted) {
    public int acceptedDraftTokens() {
        return acceptedNodes.length;
    }
}
