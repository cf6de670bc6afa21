package io.splitstream.prefill;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvCacheFullException;
import io.splitstream.engine.kv.KvChunk;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.ModelConfig;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.service.KvWire;
import io.splitstream.service.Protocol;
import io.splitstream.service.TraceAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs prompts on its own engine thread in chunked prefill steps and streams their KV to decode instances while
 * computing. Jobs are taken FIFO; a step fills up to {@code prefillChunkTokens} rows, continuing the prompts already
 * started and then starting queued ones, so several short prompts share one batch. After each layer of a step, the
 * layer's new positions of every job in the step are exported, encoded and queued to that job's push, so the
 * transfer of early layers overlaps the compute of later layers and later chunks. On a prompt's last chunk the first
 * token is sampled, the job's KV sequence is freed and the reply waits (asynchronously) for the decode instance's
 * acknowledgement.
 *
 * <p>Each prompt is traced ({@link PrefillTracing}): its queue wait, each chunk it had in a step, and its KV transfer,
 * parented to the context it was submitted with.
 */
public final class PrefillScheduler implements AutoCloseable {
    private final Model model;
    private final Transformer transformer;
    private final KvCache cache;
    private final KvPusher pusher;
    private final PrefillSettings settings;
    private final ModelConfig config;
    private final PrefillTracing tracing;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    /** Admitted, not started. Guarded by lock. */
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    /** Started (KV reserved), still computing. Engine thread only, size published via activeCount. */
    private final List<Job> active = new ArrayList<>();
    private volatile int activeCount;
    /** Prompt tokens admitted but not yet computed. Guarded by lock. */
    private long queuedTokens;
    private volatile boolean stopped;
    private Thread thread;

    private final AtomicLong steps = new AtomicLong();
    private volatile int maxSequencesPerStep;

    public PrefillScheduler(Transformer transformer, KvCache cache, KvPusher pusher, PrefillSettings settings) {
        this(transformer, cache, pusher, settings, PrefillTracing.NONE);
    }

    PrefillScheduler(Transformer transformer, KvCache cache, KvPusher pusher, PrefillSettings settings,
                     PrefillTracing tracing) {
        this.tracing = tracing;
        this.model = transformer.model();
        this.transformer = transformer;
        this.cache = cache;
        this.pusher = pusher;
        this.settings = settings;
        this.config = model.config();
    }

    /** Starts the engine thread (jobs submitted before are batched together on the first steps). */
    public synchronized void start() {
        if (thread == null) {
            thread = new Thread(this::run, "splitstream-prefill-engine");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * Validates and queues a prompt; never blocks.
     *
     * @return the reply once the decode instance acknowledged the KV, or a {@link StatusRuntimeException}
     * @throws StatusRuntimeException INVALID_ARGUMENT for a bad request, RESOURCE_EXHAUSTED when the queue is full
     */
    public CompletableFuture<PrefillReply> submit(PrefillRequest request) {
        return submit(request, Context.current());
    }

    /** As {@link #submit(PrefillRequest)}, tracing the prompt as a child of {@code trace}. */
    public CompletableFuture<PrefillReply> submit(PrefillRequest request, Context trace) {
        SamplingParams sampling = validate(request);
        Job job = new Job(request, sampling, tracing.admit(trace, request));
        try {
            enqueue(job);
        } catch (StatusRuntimeException e) {
            job.result.completeExceptionally(e); // ends its trace
            throw e;
        }
        return job.result;
    }

    private void enqueue(Job job) {
        lock.lock();
        try {
            if (stopped) {
                throw Status.UNAVAILABLE.withDescription("prefill instance is shutting down").asRuntimeException();
            }
            int n = job.tokens.length;
            if (queuedTokens + n > settings.maxQueuedTokens()) {
                throw Status.RESOURCE_EXHAUSTED.withDescription("prefill queue full: " + queuedTokens + " prompt tokens queued, "
                        + n + " more would exceed splitstream.max-queued-tokens=" + settings.maxQueuedTokens()).asRuntimeException();
            }
            queuedTokens += n;
            waiting.add(job);
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private SamplingParams validate(PrefillRequest r) {
        int n = r.getPromptTokensCount();
        if (n == 0) {
            throw invalid("prompt_tokens is empty");
        }
        if (n > config.contextLength()) {
            throw invalid("prompt of " + n + " tokens exceeds the context length of " + config.contextLength());
        }
        int capacity = cache.totalBlocks() * cache.blockTokens();
        if (n > capacity) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("prompt of " + n + " tokens exceeds this instance's KV capacity of "
                    + capacity + " tokens (splitstream.kv-tokens)").asRuntimeException();
        }
        int vocab = config.vocabularySize();
        for (int i = 0; i < n; i++) {
            int t = r.getPromptTokens(i);
            if (t < 0 || t >= vocab) {
                throw invalid("prompt_tokens[" + i + "] = " + Integer.toUnsignedString(t) + " is outside the vocabulary of "
                        + vocab + " tokens");
            }
        }
        if (r.getDecodeTarget().isBlank()) {
            throw invalid("decode_target is empty (host:port of the decode instance)");
        }
        if (r.getTransferId().isEmpty()) {
            throw invalid("transfer_id is empty (the decode instance's reservation)");
        }
        if (r.getEncoding() == KvEncoding.UNRECOGNIZED) {
            throw invalid("unknown KV encoding " + r.getEncodingValue());
        }
        try {
            return Protocol.sampling(r.hasSampling() ? r.getSampling() : SamplingParameters.getDefaultInstance(),
                    ThreadLocalRandom.current().nextLong());
        } catch (IllegalArgumentException e) {
            throw invalid("sampling: " + e.getMessage());
        }
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    /** Prompt tokens admitted but not yet computed (join-shortest-queue routing). */
    public int queuedPromptTokens() {
        lock.lock();
        try {
            return (int) Math.min(Integer.MAX_VALUE, queuedTokens);
        } finally {
            lock.unlock();
        }
    }

    public int waitingJobs() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    public int runningJobs() {
        return activeCount;
    }

    public KvCache cache() {
        return cache;
    }

    public Model model() {
        return model;
    }

    /** Forward steps run so far. */
    public long steps() {
        return steps.get();
    }

    /** Most distinct prompts computed in one step so far. */
    public int maxSequencesPerStep() {
        return maxSequencesPerStep;
    }

    // ---------------------------------------------------------------- engine thread

    private void run() {
        while (!stopped) {
            List<Part> step;
            try {
                step = nextStep();
            } catch (InterruptedException e) {
                break;
            }
            if (step == null || step.isEmpty()) {
                continue;
            }
            try {
                compute(step);
            } catch (Throwable t) {
                for (Part p : step) {
                    fail(p.job, t instanceof StatusRuntimeException s ? s
                            : Status.INTERNAL.withDescription("prefill failed: " + t).withCause(t).asRuntimeException());
                }
            }
        }
        List<Job> left = new ArrayList<>(active);
        lock.lock();
        try {
            left.addAll(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        for (Job j : left) {
            fail(j, Status.UNAVAILABLE.withDescription("prefill instance is shutting down").asRuntimeException());
        }
    }

    /** Picks the rows of the next step, waiting for work when there is none. */
    private List<Part> nextStep() throws InterruptedException {
        dropFinished();
        if (active.isEmpty()) {
            lock.lock();
            try {
                while (waiting.isEmpty() && !stopped) {
                    work.await(100, TimeUnit.MILLISECONDS);
                }
            } finally {
                lock.unlock();
            }
        }
        int budget = settings.prefillChunkTokens();
        List<Part> parts = new ArrayList<>();
        for (Job j : active) {
            if (budget == 0) {
                break;
            }
            int n = Math.min(budget, j.tokens.length - j.computed);
            parts.add(new Part(j, j.computed, n));
            budget -= n;
        }
        while (budget > 0) {
            Job j;
            lock.lock();
            try {
                j = waiting.peek();
                if (j == null) {
                    break;
                }
                if (j.result.isDone()) { // cancelled while queued
                    waiting.poll();
                    unqueue(j);
                    continue;
                }
                Start s = startJob(j);
                if (s == Start.WAIT) {
                    break;
                }
                waiting.poll();
                if (s == Start.REJECTED) {
                    unqueue(j);
                    continue;
                }
            } finally {
                lock.unlock();
            }
            active.add(j);
            activeCount = active.size();
            int n = Math.min(budget, j.tokens.length);
            parts.add(new Part(j, 0, n));
            budget -= n;
        }
        return parts;
    }

    private enum Start { STARTED, WAIT, REJECTED }

    /** Reserves the whole prompt's KV and opens its push; WAIT when the cache is full for now. */
    private Start startJob(Job j) {
        int seq = cache.newSequence();
        try {
            cache.reserve(seq, j.tokens.length);
        } catch (KvCacheFullException e) {
            cache.release(seq);
            if (active.isEmpty()) {
                j.result.completeExceptionally(Status.RESOURCE_EXHAUSTED.withDescription("KV cache cannot hold a prompt of "
                        + j.tokens.length + " tokens: " + e.getMessage()).asRuntimeException());
                return Start.REJECTED;
            }
            return Start.WAIT;
        }
        j.sequence = seq;
        j.startNanos = System.nanoTime();
        j.trace.started();
        try {
            KvHeader header = KvHeader.newBuilder().setTransferId(j.request.getTransferId())
                    .setFingerprint(Protocol.fingerprint(model.fingerprint())).setPromptTokens(j.tokens.length)
                    .setLayers(config.layers()).setKvHeads(config.kvHeads()).setHeadDim(config.headDim())
                    .setEncoding(j.request.getEncoding()).build();
            // the push call is a child of the transfer span (the pusher starts it now, on this thread)
            try (Scope ignored = j.trace.transferStarted(j.request.getDecodeTarget(), j.request.getEncoding()).makeCurrent()) {
                j.push = pusher.open(j.request.getDecodeTarget(), header);
            }
        } catch (RuntimeException e) {
            release(j);
            j.result.completeExceptionally(GrpcKvPusher.failure(j.request.getDecodeTarget(),
                    Status.UNAVAILABLE.withDescription(String.valueOf(e.getMessage())).withCause(e).asRuntimeException()));
            return Start.REJECTED;
        }
        KvPusher.Session push = j.push;
        // A push that fails while computing fails the request at once; the engine drops the job at its next step.
        push.result().whenComplete((r, t) -> {
            if (t != null) {
                j.result.completeExceptionally(t);
            }
        });
        j.result.whenComplete((r, t) -> {
            if (t != null && !push.result().isDone()) {
                push.cancel("prefill abandoned: " + t.getMessage());
            }
        });
        return Start.STARTED;
    }

    /** Removes jobs that failed or were cancelled while computing. */
    private void dropFinished() {
        for (Iterator<Job> it = active.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.result.isDone()) {
                it.remove();
                release(j);
                unqueue(j);
            }
        }
        activeCount = active.size();
    }

    private void compute(List<Part> parts) {
        Batch.Builder b = new Batch.Builder();
        int[] lastRow = new int[parts.size()];
        for (int p = 0; p < parts.size(); p++) {
            Part part = parts.get(p);
            boolean last = part.from + part.count == part.job.tokens.length;
            for (int i = 0; i < part.count; i++) {
                lastRow[p] = b.add(part.job.sequence, part.from + i, part.job.tokens[part.from + i], -1,
                        last && i == part.count - 1);
            }
        }
        steps.incrementAndGet();
        maxSequencesPerStep = Math.max(maxSequencesPerStep, parts.size());
        List<Span> chunkSpans = new ArrayList<>(parts.size());
        for (Part part : parts) {
            chunkSpans.add(part.job.trace.chunk(part.from, part.count, part.from + part.count == part.job.tokens.length,
                    parts.size(), config.layers()));
        }
        float[][] logits;
        try {
            logits = forward(b.build(), parts);
        } catch (RuntimeException | Error e) {
            chunkSpans.forEach(s -> TraceAttributes.fail(s, e));
            throw e;
        } finally {
            chunkSpans.forEach(Span::end);
        }
        long now = System.nanoTime();
        for (int p = 0; p < parts.size(); p++) {
            Part part = parts.get(p);
            Job j = part.job;
            j.computed += part.count;
            lock.lock();
            try {
                queuedTokens -= part.count;
            } finally {
                lock.unlock();
            }
            if (j.computed == j.tokens.length && !j.result.isDone()) {
                active.remove(j);
                finish(j, logits[lastRow[p]], now);
            }
        }
        activeCount = active.size();
    }

    /** The step's forward pass; after each layer, the layer's new KV of every part goes to its push. */
    private float[][] forward(Batch batch, List<Part> parts) {
        int kvChunk = settings.kvChunkTokens();
        int headDim = config.headDim();
        return transformer.forward(batch, cache, layer -> {
            for (Part part : parts) {
                Job j = part.job;
                if (j.result.isDone()) {
                    continue;
                }
                for (int from = part.from; from < part.from + part.count; from += kvChunk) {
                    int n = Math.min(kvChunk, part.from + part.count - from);
                    KvChunk chunk = cache.export(j.sequence, layer, from, n);
                    j.push.send(KvWire.encode(chunk, j.request.getEncoding(), headDim));
                }
            }
        });
    }

    private void finish(Job j, float[] logits, long computeEnd) {
        int first;
        try {
            Sampler sampler = new Sampler(j.sampling, config.vocabularySize());
            if (j.sampling.hasPenalties()) {
                for (int t : j.tokens) {
                    sampler.accept(t);
                }
            }
            first = sampler.sample(logits);
        } catch (RuntimeException e) {
            fail(j, Status.INTERNAL.withDescription("sampling the first token failed: " + e.getMessage()).asRuntimeException());
            return;
        } finally {
            release(j);
        }
        j.push.finish();
        KvPusher.Session push = j.push;
        push.result().whenComplete((reply, t) -> {
            if (t != null) {
                j.result.completeExceptionally(t);
                return;
            }
            long end = System.nanoTime();
            if (reply.getChunks() != push.chunksSent()) {
                j.result.completeExceptionally(GrpcKvPusher.failure(j.request.getDecodeTarget(), Status.DATA_LOSS
                        .withDescription("the decode instance acknowledged " + reply.getChunks() + " of " + push.chunksSent()
                                + " KV chunks").asRuntimeException()));
                return;
            }
            long firstSent = push.firstChunkSentNanos();
            double transferNanos = firstSent == 0 ? 0 : end - firstSent;
            double hidden = transferNanos <= 0 ? 0
                    : Math.max(0, Math.min(computeEnd, end) - firstSent) / transferNanos;
            j.result.complete(PrefillReply.newBuilder()
                    .setFirstToken(first)
                    .setQueueMs(ms(j.startNanos - j.submitNanos))
                    .setPrefillMs(ms(computeEnd - j.startNanos))
                    .setKvTransferMs(transferNanos / 1e6)
                    .setKvBytes(push.bytesSent())
                    .setKvChunks(push.chunksSent())
                    .setKvTransferHiddenFraction(Math.min(1.0, hidden))
                    .build());
        });
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** Stops counting a job's uncomputed tokens as queued. */
    private void unqueue(Job j) {
        lock.lock();
        try {
            queuedTokens -= j.tokens.length - j.computed;
            j.computed = j.tokens.length;
        } finally {
            lock.unlock();
        }
    }

    private void fail(Job j, StatusRuntimeException e) {
        unqueue(j);
        active.remove(j);
        activeCount = active.size();
        release(j);
        j.result.completeExceptionally(e);
    }

    private void release(Job j) {
        if (j.sequence >= 0) {
            cache.release(j.sequence);
            j.sequence = -1;
        }
    }

    @Override
    public void close() {
        stopped = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        lock.lock();
        try {
            work.signalAll();
        } finally {
            lock.unlock();
        }
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            run(); // fails what was queued
        }
    }

    private record Part(Job job, int from, int count) {
    }

    private static final class Job {
        final PrefillRequest request;
        final SamplingParams sampling;
        final int[] tokens;
        final long submitNanos = System.nanoTime();
        final CompletableFuture<PrefillReply> result = new CompletableFuture<>();
        final PrefillTracing.Prompt trace;
        long startNanos;
        int sequence = -1;
        int computed;
        KvPusher.Session push;

        Job(PrefillRequest request, SamplingParams sampling, PrefillTracing.Prompt trace) {
            this.request = request;
            this.sampling = sampling;
            this.trace = trace;
            result.whenComplete(trace::finished); // every path (reply, failure, cancel) ends its spans
            this.tokens = request.getPromptTokensList().stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
