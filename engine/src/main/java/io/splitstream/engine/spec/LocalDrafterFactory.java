package io.splitstream.engine.spec;

/**
 * In-process drafting: one {@link TokenRecycler} per model, shared by every request and kept hot across them
 * (the paper's hot start), and per request a {@link HybridDrafter} whose retrieval index holds the request's
 * prompt and output. Call {@link #create} on the engine thread only (the recycler is not synchronized).
 */
public final class LocalDrafterFactory implements DrafterFactory {
    private final TokenRecycler recycler;

    public LocalDrafterFactory(int vocabularySize) {
        this(new TokenRecycler(vocabularySize));
    }

    public LocalDrafterFactory(TokenRecycler recycler) {
        this.recycler = recycler;
    }

    /** The shared table (e.g. to snapshot it). */
    public TokenRecycler recycler() {
        return recycler;
    }

    @Override
    public Drafter create(SpeculationMode mode, int maxTreeNodes) {
        HybridDrafter.Options options = switch (mode) {
            case OFF -> throw new IllegalArgumentException("no drafter for speculation mode off");
            case RECYCLING -> HybridDrafter.Options.recyclingOnly();
            case RETRIEVAL, RAG -> HybridDrafter.Options.retrievalOnly();
            case HYBRID, AUTO -> HybridDrafter.Options.hybrid();
        };
        int max = Math.min(options.maxBudget(), maxTreeNodes);
        // Every verified row teaches the shared table, also for retrieval-only requests (it stays hot).
        return new HybridDrafter(recycler, null, options.withBudget(Math.min(options.minBudget(), max), max));
    }
}
