package io.splitstream.engine.spec;

/**
 * One request's drafter, merging retrieval (continuations of the longest earlier match of the recent tokens in
 * the request's own text and, optionally, a shared corpus) with Token Recycling into one tree; either source can
 * be switched off. Retrieval goes first because a long match is the most precise guess there is, but it may
 * take at most {@link Options#retrievalShare} of the budget so a weak match cannot crowd out the recycler;
 * recycler nodes then fill the rest, sharing any nodes the two agree on.
 *
 * <p>Node budget: {@code budget = clamp(round(c × m), min, max)} where m is the mean number of tokens emitted
 * per step (accepted drafts + 1), an exponential moving average over roughly the last 10 steps (α = 0.1), and
 * c = {@link Options#nodesPerEmittedToken}. Drafts that pay off earn more nodes; when little is accepted the
 * tree shrinks towards {@code min}, so wasted rows — which cost compute on every backend and bandwidth on
 * none — stay few. The recycler table is shared across requests; the request index and the budget are not.
 */
public final class HybridDrafter implements Drafter {

    /**
     * @param useRecycler          draft from the token recycler
     * @param useRetrieval         draft from the request's text (and the shared corpus, if any)
     * @param minBudget            fewest draft nodes per step
     * @param maxBudget            most draft nodes per step
     * @param nodesPerEmittedToken c in the budget rule
     * @param retrievalShare       the fraction of the budget retrieval may fill
     * @param retrievalDepth       longest retrieved continuation
     */
    public record Options(boolean useRecycler, boolean useRetrieval, int minBudget, int maxBudget,
                          double nodesPerEmittedToken, double retrievalShare, int retrievalDepth) {
        public Options {
            if (minBudget < 0 || maxBudget < minBudget) {
                throw new IllegalArgumentException("need 0 <= minBudget <= maxBudget, got " + minBudget + ", " + maxBudget);
            }
            if (!(nodesPerEmittedToken > 0) || !(retrievalShare >= 0 && retrievalShare <= 1) || retrievalDepth < 1) {
                throw new IllegalArgumentException("invalid drafter options " + this);
            }
        }

        public static Options hybrid() {
            return new Options(true, true, 8, 80, 12, 0.5, 8);
        }

        public static Options recyclingOnly() {
            return new Options(true, false, 8, 80, 12, 0, 8);
        }

        public static Options retrievalOnly() {
            return new Options(false, true, 8, 64, 12, 1, 8);
        }

        public Options withBudget(int min, int max) {
            return new Options(useRecycler, useRetrieval, min, max, nodesPerEmittedToken, retrievalShare, retrievalDepth);
        }
    }

    private static final double SMOOTHING = 0.1;

    private final TokenRecycler recycler;
    private final SuffixIndex sharedCorpus;
    private final Options options;
    private SuffixIndex requestIndex;
    private double meanEmitted = 2; // a neutral start: c × 2 nodes
    private SuffixIndex.Match lastMatch = new SuffixIndex.Match(0, 0);

    /**
     * @param recycler     the shared recycler (required when {@code useRecycler})
     * @param sharedCorpus a corpus index shared by requests, or null
     */
    public HybridDrafter(TokenRecycler recycler, SuffixIndex sharedCorpus, Options options) {
        if (options.useRecycler() && recycler == null) {
            throw new IllegalArgumentException("useRecycler needs a TokenRecycler");
        }
        this.recycler = recycler;
        this.sharedCorpus = sharedCorpus;
        this.options = options;
    }

    @Override
    public void begin(int[] prompt) {
        requestIndex = new SuffixIndex();
        requestIndex.addDocument(prompt);
        meanEmitted = 2;
    }

    /** Adds a retrieved document (e.g. a RAG passage) to this request's index; call after {@link #begin}. */
    public void addDocument(int[] document) {
        if (requestIndex == null) {
            throw new IllegalStateException("call begin(prompt) before adding documents");
        }
        // The passage is its own document; what is generated afterwards goes into a fresh one, so n-grams that
        // span the prompt's tail and the first generated tokens are not indexed (a small loss, no wrong draft).
        requestIndex.addDocument(document);
        requestIndex.addDocument(new int[0]);
    }

    /** The current node budget. */
    public int budget() {
        long b = Math.round(options.nodesPerEmittedToken() * meanEmitted);
        return (int) Math.max(options.minBudget(), Math.min(options.maxBudget(), b));
    }

    /** The smoothed tokens emitted per step the budget follows. */
    public double meanEmittedPerStep() {
        return meanEmitted;
    }

    /** The last retrieval match (length 0 = none). */
    public SuffixIndex.Match lastMatch() {
        return lastMatch;
    }

    @Override
    public DraftTree draft(int[] history, int length) {
        int budget = budget();
        DraftTree tree = new DraftTree(budget);
        if (options.useRetrieval() && requestIndex != null) {
            int retrievalBudget = (int) Math.round(budget * options.retrievalShare());
            lastMatch = requestIndex.proposeInto(tree, history, length, retrievalBudget, options.retrievalDepth());
            if (sharedCorpus != null && tree.size() < retrievalBudget) {
                SuffixIndex.Match shared = sharedCorpus.proposeInto(tree, history, length,
                        retrievalBudget - tree.size(), options.retrievalDepth());
                if (shared.length() > lastMatch.length()) {
                    lastMatch = shared;
                }
            }
        }
        if (options.useRecycler() && !tree.isFull()) {
            recycler.proposeInto(tree, -1, history[length - 1], budget - tree.size());
        }
        return tree;
    }

    @Override
    public void verified(int rootToken, DraftTree tree, float[] rootLogits, float[][] nodeLogits,
                         Verification verification) {
        if (recycler != null) {
            // Learns even when it does not draft for this request: the table is shared and stays hot.
            // Every verified row teaches the table, rejected ones included (their logits are just as real).
            recycler.update(rootToken, rootLogits);
            for (int i = 0; i < tree.size(); i++) {
                recycler.update(tree.token(i), nodeLogits[i]);
            }
        }
        advance(verification);
    }

    /**
     * What a verification teaches besides the recycler table: the request's own text and the node budget. Used
     * alone where the table is updated elsewhere (a draft service gets the target's top-k, not its logits).
     */
    public void advance(Verification verification) {
        if (requestIndex != null) {
            for (int t : verification.emitted()) {
                requestIndex.append(t);
            }
        }
        meanEmitted = (1 - SMOOTHING) * meanEmitted + SMOOTHING * verification.emitted().length;
    }
}
