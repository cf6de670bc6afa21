package io.splitstream.engine.generate;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvCacheFullException;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
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
 */
public final class ContinuousBatcher implements AutoCloseable {

    /**
     * @param prefillTokensPerStep prompt tokens computed per step at most (all running decodes always get a row)
     * @param maxRunning           sequences decoding together at most
     */
    public record Options(int prefillTokensPerStep, int maxRunning) {
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
    private final LinkedBlockingQueue<Active> incoming = new LinkedBlockingQueue<>();
    private final ArrayDeque<Active> waiting = new ArrayDeque<>();
    private final List<Active> running = new ArrayList<>();
    private final AtomicInteger queuedPromptTokens = new AtomicInteger();
    private final AtomicInteger runningCount = new AtomicInteger();
    private final Thread thread;
    private volatile boolean closed;

    public ContinuousBatcher(Transformer transformer, KvCache cache, Options options, String name) {
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
                cache.reserve(seq, budget);
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
        List<Active> logitOwners = new ArrayList<>();
        int budget = options.prefillTokensPerStep();
        for (Active a : running) {
            if (a.prefilled < a.request.prompt().length) {
                continue;
            }
            b.add(a.kvSequence, cache.length(a.kvSequence), a.lastToken, -1, true);
            logitOwners.add(a);
            a.steps++;
        }
        List<int[]> prefillCounts = new ArrayList<>();
        for (Active a : running) {
            int remaining = a.request.prompt().length - a.prefilled;
            if (remaining <= 0 || budget <= 0) {
                continue;
            }
            int take = Math.min(remaining, budget);
            budget -= take;
            a.steps++;
            for (int i = 0; i < take; i++) {
                int pos = a.prefilled + i;
                boolean last = pos == a.request.prompt().length - 1;
                b.add(a.kvSequence, pos, a.request.prompt()[pos], -1, last);
                if (last) {
                    logitOwners.add(a);
                }
            }
            prefillCounts.add(new int[] {running.indexOf(a), take});
        }
        if (b.size() == 0) {
            return;
        }
        float[][] logits = transformer.forward(b.build(), cache, LayerListener.NONE);
        for (int[] pc : prefillCounts) {
            Active a = running.get(pc[0]);
            a.prefilled += pc[1];
            if (a.prefilled == a.request.prompt().length) {
                queuedPromptTokens.addAndGet(-a.request.prompt().length);
            }
        }
        int owner = 0;
        for (float[] row : logits) {
            if (row != null) {
                Active a = logitOwners.get(owner++);
                if (a.firstTokenNanos == 0) {
                    a.firstTokenNanos = System.nanoTime();
                }
                accept(a, a.sampler.sample(row));
            }
        }
    }

    /** Handles a sampled token: emit, then decide whether the sequence goes on. */
    private void accept(Active a, int token) {
        a.generated++;
        a.sampler.accept(token);
        if (!a.request.ignoreEos() && tokenizer.isEndOfGeneration(token)) {
            finish(a, FinishReason.STOP, null);
            return;
        }
        String text = a.stops.accept(a.decoder.append(token));
        a.listener.onToken(token, text);
        if (a.stops.stopped()) {
            finish(a, FinishReason.STOP, null);
        } else if (a.generated >= a.request.maxTokens() || cache.length(a.kvSequence) + 1 >= context) {
            finish(a, FinishReason.LENGTH, null);
        } else {
            a.lastToken = token;
        }
    }

    private void finish(Active a, FinishReason reason, String error) {
        running.remove(a);
        runningCount.set(running.size());
        cache.release(a.kvSequence);
        if (a.prefilled < a.request.prompt().length) {
            queuedPromptTokens.addAndGet(-a.request.prompt().length);
        }
        String tail = reason == FinishReason.CANCELLED ? "" : a.stops.accept(a.decoder.flush()) + a.stops.flush();
        a.listener.onFinish(new GenerationListener.Finish(reason, tail, a.request.prompt().length, a.generated,
                a.timings(System.nanoTime()), error, a.steps));
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
