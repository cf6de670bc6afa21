package io.splitstream.engine.spec;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Transformer;
import java.util.Arrays;

/**
 * RAPID-style drafting (retrieval-augmented speculative decoding): a drafter model reads a shortened context — the
 * prompt's chunks that best match the recent text (BM25 over tokens, see {@link Bm25ChunkRanker}), kept in document
 * order up to a token budget, followed by the prompt's tail and everything generated — and proposes a greedy chain
 * of {@link Options#draftLength} tokens per step, while the target attends to the full context.
 *
 * <p>The drafts carry no probabilities; {@link TreeVerifier}'s rule (draw from the target, descend while a child
 * carries the draw) keeps speculation lossless for any draft, so the drafter's distribution is not needed.
 *
 * <p>Retrieved passages ({@link #addDocument}) are ranked together with the prompt's chunks.
 *
 * <p>The drafter has its own KV cache. History position h (for h past the retrieved chunks) sits at drafter
 * position {@code h + offset}; after a verification the cache keeps the accepted part of the chain and drops the
 * rest, and the next step first feeds the history tokens it does not hold yet (the correction token, or the
 * chain's last token when all was accepted). Every {@link Options#refreshInterval} tokens the chunks are ranked
 * again against the latest text; if the choice changed, the drafter's context is rebuilt.
 *
 * <p>One instance per sequence; not thread-safe. The drafter transformer may be shared by several drafters (and
 * the target) as long as forwards are not concurrent.
 */
public final class RapidDrafter implements Drafter {

    /**
     * @param chunkTokens     chunk size the prompt is cut into for ranking
     * @param retrievedTokens token budget of the retrieved chunks
     * @param recentTokens    the prompt's tail always kept (rounded down to a chunk boundary), the generated text follows
     * @param queryTokens     the latest tokens the chunks are ranked against
     * @param draftLength     γ, chain tokens proposed per step
     * @param refreshInterval history tokens between two rankings (the first is at {@link #begin})
     */
    public record Options(int chunkTokens, int retrievedTokens, int recentTokens, int queryTokens, int draftLength,
                          int refreshInterval) {
        public Options {
            if (chunkTokens < 1 || retrievedTokens < 0 || recentTokens < 1 || queryTokens < 1 || draftLength < 1
                    || refreshInterval < 1) {
                throw new IllegalArgumentException("invalid RAPID options " + this);
            }
        }

        /** For prompts of a few hundred tokens (the stories260K tests): 64-token chunks, 128 retrieved, 64 recent, γ = 4. */
        public static Options defaults() {
            return new Options(64, 128, 64, 32, 4, 64);
        }

        public Options withDraftLength(int gamma) {
            return new Options(chunkTokens, retrievedTokens, recentTokens, queryTokens, gamma, refreshInterval);
        }
    }

    private final Transformer drafter;
    private final Options options;
    private final int contextLength;
    private final KvCache cache;
    private final int sequence;
    private int[] documents = new int[0];
    private int[] rankedText = new int[0]; // documents, then the prompt: what the chunks come from
    private Bm25ChunkRanker ranker;
    private int recentStart;
    private int[] selectedChunks = new int[0];
    private int offset;
    private int cachedHistory;
    private int lastRanking;
    private int draftedAt = -1; // history length the pending chain was drafted at, -1 when none awaits verification
    private int chainCached;

    public RapidDrafter(Transformer drafter, Options options) {
        this.drafter = drafter;
        this.options = options;
        this.contextLength = drafter.model().config().contextLength();
        this.cache = drafter.model().newKvCache(KvPrecision.F32, contextLength);
        this.sequence = cache.newSequence();
    }

    /** The prompt chunks the drafter currently reads, in document order. */
    public int[] selectedChunks() {
        return selectedChunks.clone();
    }

    /** Tokens in the drafter's KV cache: the size of its context, to compare with the target's. */
    public int drafterContextTokens() {
        return cache.length(sequence);
    }

    /** Adds a passage the chunks may come from (e.g. a RAG document); call before {@link #begin}. */
    public void addDocument(int[] document) {
        int[] joined = Arrays.copyOf(documents, documents.length + document.length);
        System.arraycopy(document, 0, joined, documents.length, document.length);
        documents = joined;
    }

    @Override
    public void begin(int[] prompt) {
        int tail = Math.max(0, prompt.length - options.recentTokens());
        recentStart = tail - tail % options.chunkTokens();
        rankedText = Arrays.copyOf(documents, documents.length + recentStart);
        System.arraycopy(prompt, 0, rankedText, documents.length, recentStart);
        ranker = new Bm25ChunkRanker(rankedText, rankedText.length, options.chunkTokens());
        selectedChunks = ranker.select(query(prompt, prompt.length), options.retrievedTokens());
        rebuild(prompt, prompt.length);
    }

    @Override
    public DraftTree draft(int[] history, int length) {
        if (length - lastRanking >= options.refreshInterval()) {
            lastRanking = length;
            int[] chunks = ranker.select(query(history, length), options.retrievedTokens());
            if (!Arrays.equals(chunks, selectedChunks)) {
                selectedChunks = chunks;
                rebuild(history, length);
            }
        }
        // Positions used: the history up to the root, then γ - 1 chain tokens fed back.
        int gamma = Math.min(options.draftLength(), contextLength - (offset + length) + 1);
        if (gamma < 1) {
            draftedAt = -1;
            return new DraftTree(0);
        }
        DraftTree chain = new DraftTree(gamma);
        int[] pending = Arrays.copyOfRange(history, cachedHistory, length);
        float[] logits = drafter.forward(Batch.chunk(sequence, offset + cachedHistory, pending, true), cache,
                LayerListener.NONE)[pending.length - 1];
        int token = argmax(logits);
        int node = chain.add(-1, token);
        for (int i = 1; i < gamma; i++) {
            logits = drafter.forward(Batch.chunk(sequence, offset + length + i - 1, new int[] {token}, true), cache,
                    LayerListener.NONE)[0];
            token = argmax(logits);
            node = chain.add(node, token);
        }
        cachedHistory = length;
        chainCached = gamma - 1;
        draftedAt = length;
        return chain;
    }

    @Override
    public void verified(int rootToken, DraftTree tree, float[] rootLogits, float[][] nodeLogits,
                         Verification verification) {
        advance(verification);
    }

    /** What the drafter needs of a verification: how much of its chain was accepted (the logits are not used). */
    public void advance(Verification verification) {
        if (draftedAt < 0) {
            return; // nothing was fed this step: the next draft feeds the whole gap
        }
        // The accepted chain tokens equal the emitted ones: keep their K/V, drop the rejected rest.
        int keep = Math.min(verification.acceptedDraftTokens(), chainCached);
        cache.truncate(sequence, offset + draftedAt + keep);
        cachedHistory = draftedAt + keep;
        draftedAt = -1;
    }

    private int[] query(int[] history, int length) {
        return Arrays.copyOfRange(history, Math.max(0, length - options.queryTokens()), length);
    }

    /** Refills the drafter's cache with the selected chunks and history[recentStart, length - 1). */
    private void rebuild(int[] history, int length) {
        int retrieved = 0;
        for (int c : selectedChunks) {
            retrieved += ranker.chunkEnd(c) - ranker.chunkStart(c);
        }
        int[] context = new int[retrieved + length - recentStart];
        int n = 0;
        for (int c : selectedChunks) {
            int size = ranker.chunkEnd(c) - ranker.chunkStart(c);
            System.arraycopy(rankedText, ranker.chunkStart(c), context, n, size);
            n += size;
        }
        System.arraycopy(history, recentStart, context, n, length - recentStart);
        cache.truncate(sequence, 0);
        // The last token is the first step's root: the first draft feeds it.
        if (context.length > 1) {
            drafter.forward(Batch.chunk(sequence, 0, Arrays.copyOf(context, context.length - 1), false), cache,
                    LayerListener.NONE);
        }
        offset = context.length - length;
        cachedHistory = length - 1;
        lastRanking = length;
        draftedAt = -1;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
