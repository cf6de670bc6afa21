package io.splitstream.engine.spec;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a request drafts: not at all, or from which source. Names in the APIs are the lower-case constant names. */
public enum SpeculationMode {
    /** Plain decoding: one token per step. */
    OFF,
    /**
     * {@link #HYBRID} while few sequences run; a step with more than the batcher's
     * {@code autoMaxRunning} decoding sequences drafts nothing for {@code auto} sequences (batching already fills
     * the memory-bound step, and tree rows would only add compute).
     */
    AUTO,
    /** Token Recycling: the model-wide table of the target's own top-k predictions. */
    RECYCLING,
    /** Retrieval over the request's own text (prompt and output so far). */
    RETRIEVAL,
    /** Retrieval first, Token Recycling for the rest of the node budget. */
    HYBRID,
    /**
     * Reserved for retrieval-augmented drafting (RAPID). There is no RAG drafter yet: the request's documents are
     * its prompt, so this drafts as {@link #RETRIEVAL} does.
     */
    RAG;

    /** The API name ({@code "hybrid"}). */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses an API name, case-insensitively; blank means {@code fallback}.
     *
     * @throws IllegalArgumentException naming the valid modes
     */
    public static SpeculationMode parse(String name, SpeculationMode fallback) {
        if (name == null || name.isBlank()) {
            return fallback;
        }
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("speculation mode must be one of " + names() + ", got '" + name + "'");
        }
    }

    /** "off, auto, recycling, retrieval, hybrid, rag". */
    public static String names() {
        return Arrays.stream(values()).map(SpeculationMode::apiName).collect(Collectors.joining(", "));
    }
}
