package io.splitstream.engine.spec;

/**
 * Makes each speculating sequence's {@link Drafter}: the seam where drafting is chosen. {@link LocalDrafterFactory}
 * drafts in process; a remote drafter (a draft service) plugs in by implementing this one method.
 */
@FunctionalInterface
public interface DrafterFactory {
    /** Drafts nothing: every request decodes plainly. */
    DrafterFactory NONE = (speculation, maxTreeNodes) -> null;

    /**
     * A new drafter for one sequence, called on the engine thread when the sequence starts decoding; the caller
     * then calls {@link Drafter#begin} with the prompt and any tokens emitted so far.
     *
     * @param mode         the request's mode, never {@link SpeculationMode#OFF} ({@link SpeculationMode#AUTO}
     *                     included: the batcher decides per step whether auto sequences draft)
     * @param maxTreeNodes nodes the drafter may propose per step (the batcher cuts larger trees)
     * @return the drafter, or null to decode this sequence plainly (a mode this factory cannot serve)
     */
    Drafter create(SpeculationMode mode, int maxTreeNodes);
}
