package io.splitstream.engine.spec;

/** Proposes draft trees for one sequence and learns from each verification. */
public interface Drafter {
    /** A new request starts with this prompt. */
    void begin(int[] prompt);

    /**
     * A draft under the last accepted token, {@code history[length - 1]} (the root, not yet in the KV cache);
     * {@code history[0, length)} is the prompt plus everything emitted so far.
     */
    DraftTree draft(int[] history, int length);

    /**
     * The target verified {@code tree}: logits at the root row and at every node (rejected ones included), and
     * what was accepted and emitted.
     */
    void verified(int rootToken, DraftTree tree, float[] rootLogits, float[][] nodeLogits, Verification verification);

    /**
     * The sequence ended (finished, failed or cancelled): release what drafting for it holds, e.g. its state on a
     * draft service. Called once, after the last {@link #verified}; nothing by default.
     */
    default void end() {
    }
}
