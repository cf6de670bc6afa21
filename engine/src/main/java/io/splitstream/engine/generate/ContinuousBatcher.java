package io.splitstream.engine.generate;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvCacheFullException;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.spec.DrafterFactory;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.LocalDrafterFactory;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculationStats;
import io.splitstream.engine.spec.SpeculativeSequence;
import io.splitstream.engine.spec.TreeVerifier;
import io.splitstream.engine.spec.Verification;
import io.splitstream.engine.spec.Verifier;
import io.splitstream.engine.tokenizer.StreamingDecoder;
import io.splitstream.engine.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Continuous batching on one engine thread: sequences join and leave between steps; each step is one forward
 * over every running sequence's next token plus chunks of waiting prompts (chunked prefill, bounded by a token
 * budget so prompts do not stall running streams). Admission reserves a sequence's whole KV budget
 * (prompt + max tokens, capped at the context), so a running sequence never waits for memory; requests that do
 * not fit wait in FIFO order.
 *
 * <p>Speculation ({@link GenerationRequest#speculation}): a speculating sequence's decode row is the root of a
 * draft tree whose rows join the same forward, tree-masked (the batch is then tree-masked as a whole: prompt
 * chunks become chains, plain rows are roots without children). Each sequence is then verified on its own
 * ({@link TreeVerifier}: greedy, or the lossless sampling rule with the request's sampler), its cache keeps the
 * accepted path, and all emitted tokens go through the same end-of-generation, stop-string and length checks as
 * plain tokens, so the output is plain decoding's. Admission reserves {@code maxTreeNodes} extra KV positions
 * for the tree rows (or, when only the plain budget fits, the tree is cut to what is reserved). Drafters come
 * from a {@link DrafterFactory} (in process by default: one Token Recycling table per batcher, shared by all
 * requests; a retrieval index per request). Mode {@code auto} drafts like {@code hybrid}, except in steps where
 * more than {@link Options#autoMaxRunning} sequences decode: batching already fills those memory-bound steps, so
 * auto sequences then add only their root row.
 */
public final class ContinuousBatcher implements AutoCloseable {

    /**
     * @param prefillTokensPerStep prompt tokens computed per step at most (all running decodes always get a row)
     * @param maxRunning           sequences decoding together at most
     * @param autoMaxRunning       sequences decoding in a step up to which {@code auto} sequences draft
     */
    public record Options(int prefillTokensPerStep, int maxRunning, int autoMaxRunning) {
        public static final int DEFAULT_AUTO_MAX_RUNNING = 4;

        public Options(int prefillTokensPerStep, int maxRunning) {
            this(prefillTokensPerStep, maxRunning, DEFAULT_AUTO_MAX_RUNNING);
        }

        public static Options defaults() {
            return new Options(128, 64);
        }
    }

    /** Lets the submitter cancel; cancelling frees the sequence's KV blocks at the next step. */
    public interface Handle {
        void cancel();
    }

    private final Transformer transformer;
    private final KvCache cache;
    private final Options options;
    private final Tokenizer tokenizer;
    private final int context;
    private final DrafterFactory drafters;
    private final Verifier verifier = new TreeVerifier();
    private final LinkedBlockingQueue<Active> incoming = new LinkedBlockingQueue<>();
    private final ArrayDeque<Active> waiting = new ArrayDeque<>();
    private final List<Active> running = new ArrayList<>();
    private final AtomicInteger queuedPromptTokens = new AtomicInteger();
    private final AtomicInteger runningCount = new AtomicInteger();
    private final Thread thread;
    private volatile boolean closed;

    /** A batcher drafting in process ({@link LocalDrafterFactory}). */
    public ContinuousBatcher(Transformer transformer, KvCache cache, Options options, String name) {
        this(transformer, cache, options, new LocalDrafterFactory(transformer.model().config().vocabularySize()), name);
    }

    /** @param drafters makes the drafter of each speculating sequence (called on the engine thread) */
    public ContinuousBatcher(Transformer transformer, KvCache cache, Options options, DrafterFactory drafters, String name) {
        this.drafters = drafters;
        this.transformer = transformer;
        this.cache = cache;
        this.options = options;
        this.tokenizer = transformer.model().tokenizer();
        this.context = transformer.model().config().contextLength();
        this.thread = Thread.ofPlatform().name(name).daemon().start(this::loop);
    }

    /** Queues a generation from a prompt. */
    public Handle submit(GenerationRequest request, GenerationListener listener) {
        checkFits(request.prompt().length);
        Active a = new Active(request, listener, -1, 0, -1);
        queuedPromptTokens.addAndGet(request.prompt().length);
        incoming.add(a);
        return a;
    }

    /**
     * Continues a generation whose prompt KV is already in {@code kvSequence} (imported from a prefill instance)
     * and whose first token was sampled there. The batcher owns the sequence from now on and releases it.
     */
    public Handle resume(int kvSequence, int firstToken, GenerationRequest request, GenerationListener listener) {
        checkFits(request.prompt().length);
        Active a = new Active(request, listener, kvSequence, request.prompt().length, firstToken);
        incoming.add(a);
        return a;
    }

    private void checkFits(int promptTokens) {
        if (closed) {
            throw new IllegalStateException("batcher closed");
        }
        if (promptTokens >= context) {
            throw new IllegalArgumentException("prompt of " + promptTokens + " tokens does not fit the context of "
                    + context + " tokens (at least one must remain for output)");
        }
    }

    public int queuedPromptTokens() {
        return queuedPromptTokens.get();
    }

    public int runningSequences() {
        return runningCount.get();
    }

    public int waitingSequences() {
        return incoming.size() + waiting.size();
    }

    public KvCache cache() {
        return cache;
    }

    private void loop() {
        while (!closed) {
            try {
                Active next = running.isEmpty() && waiting.isEmpty() ? incoming.poll(100, TimeUnit.MILLISECONDS) : incoming.poll();
                if (next != null) {
                    waiting.add(next);
                    incoming.drainTo(waiting);
                }
                dropCancelled();
                admit();
                if (!running.isEmpty()) {
                    step();
                }
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException | Error e) {
                for (Active a : new ArrayList<>(running)) {
                    finish(a, FinishReason.ERROR, "engine failure: " + e);
                }
            }
        }
        for (Active a : new ArrayList<>(running)) {
            finish(a, FinishReason.CANCELLED, null);
        }
        for (Active a : waiting) {
            a.listener.onFinish(new GenerationListener.Finish(FinishReason.CANCELLED, "", a.request.prompt().length, 0,
                    a.timings(System.nanoTime()), null, a.steps));
        }
    }

    private void dropCancelled() {
        for (Iterator<Active> it = waiting.iterator(); it.hasNext(); ) {
            Active a = it.next();
            if (a.cancelled) {
                it.remove();
                if (a.kvSequence >= 0) {
                    cache.release(a.kvSequence);
                } else {
                    queuedPromptTokens.addAndGet(-a.request.prompt().length);
                }
                a.listener.onFinish(new GenerationListener.Finish(FinishReason.CANCELLED, "", a.request.prompt().length, 0,
                        a.timings(System.nanoTime()), null, a.steps));
            }
        }
        for (Active a : new ArrayList<>(running)) {
            if (a.cancelled) {
                finish(a, FinishReason.CANCELLED, null);
            }
        }
    }

    private void admit() {
        while (!waiting.isEmpty() && running.size() < options.maxRunning()) {
            Active a = waiting.peek();
            int budget = Math.min(context, a.request.prompt().length + a.request.maxTokens());
            boolean fresh = a.kvSequence < 0;
            int seq = fresh ? cache.newSequence() : a.kvSequence;
            try {
                a.reservedTokens = reserveWithTreeRoom(seq, budget, a.request.speculation());
            } catch (KvCacheFullException e) {
                if (fresh) {
                    cache.release(seq);
                }
                if (running.isEmpty() && cache.usedBlocks() == 0) {
                    waiting.poll();
                    a.kvSequence = fresh ? -1 : seq;
                    failUnadmitted(a, "request needs more KV cache than this instance has: " + e.getMessage());
                    continue;
                }
                return;
            }
            waiting.poll();
            a.kvSequence = seq;
            a.admittedNanos = System.nanoTime();
            running.add(a);
            runningCount.set(running.size());
            if (!fresh) {
                a.firstTokenNanos = a.admittedNanos;
                accept(a, a.pendingFirstToken);
            }
        }
    }

    /**
     * Reserves the sequence's budget plus room for its draft-tree rows; when only the budget fits, the budget (its
     * trees are then cut to the room left). Returns the positions reserved.
     */
    private int reserveWithTreeRoom(int seq, int budget, Speculation speculation) {
        if (speculation.enabled()) {
            try {
                cache.reserve(seq, budget + speculation.maxTreeNodes());
                return budget + speculation.maxTreeNodes();
            } catch (KvCacheFullException e) {
                // fall through: plain budget
            }
        }
        cache.reserve(seq, budget);
        return budget;
    }

    private void failUnadmitted(Active a, String message) {
        if (a.kvSequence >= 0) {
            cache.release(a.kvSequence);
        } else {
            queuedPromptTokens.addAndGet(-a.request.prompt().length);
        }
        a.listener.onFinish(new GenerationListener.Finish(FinishReason.ERROR, "", a.request.prompt().length, 0,
                a.timings(System.nanoTime()), message, a.steps));
    }

    private void step() {
        Batch.Builder b = new Batch.Builder();
        List<Active> decoding = new ArrayList<>();
        for (Active a : running) {
            if (a.prefilled >= a.request.prompt().length) {
                decoding.add(a);
            }
        }
        boolean autoDrafts = decoding.size() <= options.autoMaxRunning();
        for (Active a : decoding) {
            a.steps++;
            int base = cache.length(a.kvSequence);
            SpeculativeSequence speculative = a.speculative();
            if (speculative == null) {
                a.logitRow = b.add(a.kvSequence, base, a.lastToken, -1, true);
                continue;
            }
            int room = Math.min(a.reservedTokens, context) - base - 1;
            int nodes = a.request.speculation().mode() == SpeculationMode.AUTO && !autoDrafts ? 0
                    : Math.min(a.request.speculation().maxTreeNodes(), room);
            speculative.addRows(b, base, a.history, a.historyLength, Math.max(0, nodes));
        }
        boolean tree = b.isTree();
        int budget = options.prefillTokensPerStep();
        List<Active> prefilling = new ArrayList<>();
        List<Integer> prefillCounts = new ArrayList<>();
        for (Active a : running) {
            int remaining = a.request.prompt().length - a.prefilled;
            if (remaining <= 0 || budget <= 0) {
                continue;
            }
            int take = Math.min(remaining, budget);
            budget -= take;
            a.steps++;
            a.logitRow = -1;
            int previous = -1;
            for (int i = 0; i < take; i++) {
                int pos = a.prefilled + i;
                boolean last = pos == a.request.prompt().length - 1;
                // in a tree-masked batch a prompt chunk is a chain: each row sees the rows before it, as causally
                previous = b.add(a.kvSequence, pos, a.request.prompt()[pos], tree ? previous : -1, last);
                if (last) {
                    a.logitRow = previous;
                }
            }
            prefilling.add(a);
            prefillCounts.add(take);
        }
        if (b.size() == 0) {
            return;
        }
        float[][] logits = transformer.forward(b.build(), cache, LayerListener.NONE);
        for (int i = 0; i < prefilling.size(); i++) {
            Active a = prefilling.get(i);
            a.prefilled += prefillCounts.get(i);
            if (a.prefilled == a.request.prompt().length) {
                queuedPromptTokens.addAndGet(-a.request.prompt().length);
            }
        }
        for (Active a : decoding) {
            if (a.speculative == null) {
                a.plainSteps++;
                accept(a, a.sampler.sample(logits[a.logitRow]));
                continue;
            }
            int base = cache.length(a.kvSequence) - a.speculative.rows();
            Verification v = a.speculative.verify(logits, cache, a.sampler);
            int[] emitted = v.emitted();
            for (int j = 0; j < emitted.length && emit(a, emitted[j], base + j + 1); j++) {
                // emit() finishes the sequence on a stop, end-of-generation or length
            }
        }
        for (Active a : prefilling) {
            if (a.logitRow >= 0) {
                a.firstTokenNanos = System.nanoTime();
                accept(a, a.sampler.sample(logits[a.logitRow]));
            }
        }
    }

    /** Handles a token sampled from one row's logits: the sampler accepts it, then {@link #emit}. */
    private void accept(Active a, int token) {
        a.sampler.accept(token);
        emit(a, token, cache.length(a.kvSequence));
    }

    /**
     * Emits a token (the sampler has accepted it) and decides whether the sequence goes on.
     *
     * @param cacheLength the sequence's cache length had the tokens up to this one been decoded one by one
     * @return true while the sequence goes on
     */
    private boolean emit(Active a, int token, int cacheLength) {
        a.generated++;
        if (a.history != null) {
            a.history[a.historyLength++] = token;
        }
        if (!a.request.ignoreEos() && tokenizer.isEndOfGeneration(token)) {
            finish(a, FinishReason.STOP, null);
            return false;
        }
        String text = a.stops.accept(a.decoder.append(token));
        a.listener.onToken(token, text);
        if (a.stops.stopped()) {
            finish(a, FinishReason.STOP, null);
        } else if (a.generated >= a.request.maxTokens() || cacheLength + 1 >= context) {
            finish(a, FinishReason.LENGTH, null);
        } else {
            a.lastToken = token;
            return true;
        }
        return false;
    }

    private void finish(Active a, FinishReason reason, String error) {
        running.remove(a);
        runningCount.set(running.size());
        cache.release(a.kvSequence);
        if (a.speculative != null) {
            a.speculative.end();
        }
        if (a.prefilled < a.request.prompt().length) {
            queuedPromptTokens.addAndGet(-a.request.prompt().length);
        }
        String tail = reason == FinishReason.CANCELLED ? "" : a.stops.accept(a.decoder.flush()) + a.stops.flush();
        a.listener.onFinish(new GenerationListener.Finish(reason, tail, a.request.prompt().length, a.generated,
                a.timings(System.nanoTime()), error, a.steps, a.speculationStats()));
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Active implements Handle {
        final GenerationRequest request;
        final GenerationListener listener;
        final Sampler sampler;
        final StreamingDecoder decoder = tokenizer.streamingDecoder();
        final StopStrings stops;
        final long submittedNanos = System.nanoTime();
        final int pendingFirstToken;
        int kvSequence;
        int prefilled;
        int generated;
        /** Forward steps this sequence had rows in. */
        int steps;
        int lastToken;
        /** KV positions reserved at admission (prompt + max tokens, plus the tree room when speculating). */
        int reservedTokens;
        /** Index in this step's batch of the row whose logits this sequence samples, -1 for none. */
        int logitRow = -1;
        /** Decode steps without speculation. */
        long plainSteps;
        /** Prompt and emitted tokens, kept for drafting (null when the request does not speculate). */
        final int[] history;
        int historyLength;
        /** Created at the first decode step; null while prefilling, and for plain requests. */
        SpeculativeSequence speculative;
        boolean drafterRefused;
        long admittedNanos;
        long firstTokenNanos;
        volatile boolean cancelled;

        Active(GenerationRequest request, GenerationListener listener, int kvSequence, int prefilled, int firstToken) {
            this.request = request;
            this.listener = listener;
            this.kvSequence = kvSequence;
            this.prefilled = prefilled;
            this.pendingFirstToken = firstToken;
            this.sampler = new Sampler(request.sampling(), transformer.model().config().vocabularySize());
            this.stops = new StopStrings(request.stop());
            for (int t : request.prompt()) {
                sampler.accept(t);
            }
            if (request.speculation().enabled()) {
                history = java.util.Arrays.copyOf(request.prompt(), request.prompt().length + request.maxTokens() + 1);
                historyLength = request.prompt().length;
            } else {
                history = null;
            }
        }

        /** The sequence's speculation, made on its first decode step; null when it decodes plainly. */
        SpeculativeSequence speculative() {
            if (speculative == null && history != null && !drafterRefused) {
                Speculation s = request.speculation();
                Drafter drafter = drafters.create(s.mode(), s.maxTreeNodes());
                if (drafter == null) {
                    drafterRefused = true;
                } else {
                    speculative = new SpeculativeSequence(kvSequence, drafter, verifier, s.mode(), history, historyLength);
                }
            }
            return speculative;
        }

        SpeculationStats speculationStats() {
            if (speculative == null) {
                return new SpeculationStats(SpeculationMode.OFF, plainSteps, 0, 0, plainSteps);
            }
            SpeculationStats s = speculative.stats();
            return new SpeculationStats(s.mode(), s.steps() + plainSteps, s.drafted(), s.accepted(), s.emitted() + plainSteps);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        Timings timings(long now) {
            long admitted = admittedNanos == 0 ? now : admittedNanos;
            long first = firstTokenNanos == 0 ? now : firstTokenNanos;
            return new Timings((admitted - submittedNanos) / 1e6, (first - admitted) / 1e6, (first - submittedNanos) / 1e6,
                    (now - first) / 1e6);
        }
    }
}
