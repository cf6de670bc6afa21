package io.splitstream.decode;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opentelemetry.context.Context;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.BackPressureStrategy;
import io.splitstream.engine.generate.ContinuousBatcher;
import io.splitstream.engine.generate.FinishReason;
import io.splitstream.engine.generate.GenerationListener;
import io.splitstream.engine.generate.GenerationRequest;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.Usage;
import io.splitstream.service.Protocol;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * A decode instance without Quarkus: the model, its compute pool, one KV cache, one continuous batcher and the
 * reservations that KV pushes fill. The gRPC classes are thin adapters over this.
 */
public final class DecodeEngine implements AutoCloseable {
    /** Default completion length when a request asks for 0 tokens. */
    public static final int DEFAULT_MAX_TOKENS = 128;
    public static final int MAX_LOGPROBS = 20;
    public static final int MAX_STOP_STRINGS = 4;
    /** Chunks buffered per stream for a slow client before the stream fails. */
    public static final int STREAM_BUFFER = 1024;

    private final DecodeSettings settings;
    private final Model model;
    private final ComputePool pool;
    private final KvCache cache;
    private final ContinuousBatcher batcher;
    private final SpeculationDrafters.Drafters drafters;
    private final Reservations reservations;
    private final Supplier<String> instanceAddress;
    private final AtomicLong cancelledStreams = new AtomicLong();
    private final DecodeMetrics metrics;
    private final DecodeTracing tracing;

    private DecodeEngine(DecodeSettings settings, Model model, ComputePool pool, Supplier<String> instanceAddress,
                         DecodeMetrics metrics, DecodeTracing tracing) {
        this.settings = settings;
        this.metrics = metrics;
        this.tracing = tracing;
        this.model = model;
        this.pool = pool;
        this.instanceAddress = instanceAddress;
        this.cache = model.newKvCache(settings.kvPrecision(), settings.kvTokens());
        this.drafters = SpeculationDrafters.create(settings.drafter(), model);
        this.batcher = new ContinuousBatcher(new Transformer(model, pool), cache,
                new ContinuousBatcher.Options(settings.prefillTokensPerStep(), settings.maxRunning(), settings.autoSpeculationLimit()),
                drafters.factory(), "splitstream-decode-batcher");
        this.reservations = new Reservations(cache, settings.reservationTimeout());
    }

    /** Loads the model and starts the batcher thread. */
    public static DecodeEngine start(DecodeSettings settings, Supplier<String> instanceAddress) throws IOException {
        return start(settings, instanceAddress, DecodeMetrics.NONE, DecodeTracing.NONE);
    }

    /** Loads the model and starts the batcher thread, reporting to {@code metrics} and tracing through {@code tracing}. */
    public static DecodeEngine start(DecodeSettings settings, Supplier<String> instanceAddress, DecodeMetrics metrics,
                                     DecodeTracing tracing) throws IOException {
        Model model = Model.load(settings.model());
        ComputePool pool = null;
        try {
            pool = new ComputePool(settings.threads());
            return new DecodeEngine(settings, model, pool, instanceAddress, metrics, tracing);
        } catch (RuntimeException | Error e) {
            if (pool != null) {
                pool.close();
            }
            model.close();
            throw e;
        }
    }

    public Model model() {
        return model;
    }

    public KvCache cache() {
        return cache;
    }

    public Reservations reservations() {
        return reservations;
    }

    public DecodeSettings settings() {
        return settings;
    }

    /** Streams cancelled by their client so far. */
    public long cancelledStreams() {
        return cancelledStreams.get();
    }

    public int runningSequences() {
        return batcher.runningSequences();
    }

    public int waitingSequences() {
        return batcher.waitingSequences();
    }

    public Reservations.Reservation reserve(int tokens) {
        return reservations.reserve(tokens);
    }

    public KvImportSession newImport() {
        return new KvImportSession(reservations, cache, settings.acceptOtherWeights(), metrics::kvImported);
    }

    public InstanceStatus status() {
        return InstanceStatus.newBuilder()
                .setReady(true)
                .setQueuedPromptTokens(batcher.queuedPromptTokens())
                .setRunningSequences(batcher.runningSequences())
                .setWaitingSequences(batcher.waitingSequences())
                .setKvBlocksFree(cache.freeBlocks())
                .setKvBlocksTotal(cache.totalBlocks())
                .setKvBlockTokens(cache.blockTokens())
                .setModel(String.valueOf(model.path().getFileName()))
                .setContextLength(model.config().contextLength())
                .build();
    }

    /**
     * Validates the request and converts it.
     *
     * @throws StatusRuntimeException INVALID_ARGUMENT naming the bad field
     */
    GenerationRequest toGenerationRequest(DecodeRequest r) {
        if (r.getPromptTokensCount() == 0) {
            throw invalid("prompt_tokens must hold at least one token");
        }
        int vocab = model.config().vocabularySize();
        int[] prompt = new int[r.getPromptTokensCount()];
        for (int i = 0; i < prompt.length; i++) {
            int t = r.getPromptTokens(i);
            if (t < 0 || t >= vocab) {
                throw invalid("prompt token " + Integer.toUnsignedString(t) + " at index " + i + " is outside the vocabulary of "
                        + vocab);
            }
            prompt[i] = t;
        }
        if (r.getLogprobs() > MAX_LOGPROBS) {
            throw invalid("logprobs must be at most " + MAX_LOGPROBS + ", got " + Integer.toUnsignedString(r.getLogprobs()));
        }
        if (r.getStopCount() > MAX_STOP_STRINGS) {
            throw invalid("at most " + MAX_STOP_STRINGS + " stop strings, got " + r.getStopCount());
        }
        for (String s : r.getStopList()) {
            if (s.isEmpty()) {
                throw invalid("stop strings must not be empty");
            }
        }
        int maxTokens = r.getMaxTokens() == 0 ? DEFAULT_MAX_TOKENS : r.getMaxTokens();
        if (maxTokens < 0) {
            throw invalid("max_tokens too large: " + Integer.toUnsignedString(r.getMaxTokens()));
        }
        SamplingParams sampling;
        try {
            sampling = Protocol.sampling(r.getSampling(), ThreadLocalRandom.current().nextLong());
            Speculation speculation = Protocol.speculation(r.getSpeculation(), settings.defaultSpeculation());
            return new GenerationRequest(prompt, sampling, maxTokens, r.getIgnoreEos(), List.copyOf(r.getStopList()), speculation);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
    }

    /**
     * Generates for a request: from a filled reservation when {@code transfer_id} is set (split mode), else from
     * the prompt (colocated). Errors before the first chunk fail the Multi with a gRPC status. Cancelling the
     * subscription cancels the generation, which frees its KV blocks at the batcher's next step.
     */
    public Multi<GenerateChunk> generate(DecodeRequest r) {
        return generate(r, Context.current());
    }

    /** As {@link #generate(DecodeRequest)}, with the request's decode span a child of {@code trace}. */
    public Multi<GenerateChunk> generate(DecodeRequest r, Context trace) {
        return Multi.createFrom().<GenerateChunk>emitter(emitter -> {
            long started = System.nanoTime();
            DecodeTracing.Generation span = tracing.start(trace, r);
            GenerationRequest request;
            Reservations.Reservation claimed = null;
            try {
                request = toGenerationRequest(r);
                if (!r.getTransferId().isEmpty()) {
                    claimed = reservations.claim(r.getTransferId());
                    if (claimed.promptTokens() != request.prompt().length) {
                        throw invalid("the pushed KV holds " + claimed.promptTokens() + " prompt tokens but the request has "
                                + request.prompt().length);
                    }
                    if (r.getFirstToken() >= model.config().vocabularySize()) {
                        throw invalid("first_token " + Integer.toUnsignedString(r.getFirstToken())
                                + " is outside the vocabulary of " + model.config().vocabularySize());
                    }
                }
            } catch (RuntimeException e) {
                if (claimed != null) {
                    cache.release(claimed.sequence());
                }
                metrics.rejected(System.nanoTime() - started);
                span.failed(e);
                emitter.fail(toStatus(e));
                return;
            }
            AtomicBoolean finished = new AtomicBoolean();
            AtomicBoolean counted = new AtomicBoolean();
            long[] lastToken = {-1};
            GenerationListener listener = new GenerationListener() {
                @Override
                public void onToken(int token, String text) {
                    long now = System.nanoTime();
                    metrics.token(lastToken[0] < 0 ? -1 : now - lastToken[0]);
                    lastToken[0] = now;
                    emitter.emit(GenerateChunk.newBuilder().addTokenIds(token).setText(text).build());
                }

                @Override
                public void onFinish(Finish f) {
                    finished.set(true);
                    if (counted.compareAndSet(false, true)) {
                        metrics.finished(f, System.nanoTime() - started);
                    }
                    span.finished(f);
                    if (f.reason() == FinishReason.ERROR) {
                        String message = f.error() == null ? "generation failed" : f.error();
                        Status status = message.contains("KV cache") ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL;
                        emitter.fail(status.withDescription(message).asRuntimeException());
                        return;
                    }
                    if (emitter.isCancelled()) {
                        return;
                    }
                    emitter.emit(finalChunk(f));
                    emitter.complete();
                }
            };
            ContinuousBatcher.Handle handle;
            try {
                metrics.requestStarted(request.prompt().length);
                if (claimed != null) {
                    cache.setLength(claimed.sequence(), claimed.promptTokens());
                    handle = batcher.resume(claimed.sequence(), r.getFirstToken(), request, listener);
                } else {
                    handle = batcher.submit(request, listener);
                }
            } catch (RuntimeException e) {
                if (claimed != null) {
                    cache.release(claimed.sequence());
                }
                if (counted.compareAndSet(false, true)) {
                    metrics.rejected(System.nanoTime() - started);
                }
                span.failed(e);
                emitter.fail(toStatus(e));
                return;
            }
            emitter.onTermination(() -> {
                if (!finished.get()) {
                    if (counted.compareAndSet(false, true)) {
                        metrics.cancelled(System.nanoTime() - started);
                    }
                    cancelledStreams.incrementAndGet();
                    span.cancelled();
                    handle.cancel();
                }
            });
        }, BackPressureStrategy.ERROR)
                .onOverflow().buffer(STREAM_BUFFER)
                .onFailure(t -> !(t instanceof StatusRuntimeException))
                .transform(t -> Status.RESOURCE_EXHAUSTED.withDescription("client too slow: more than " + STREAM_BUFFER
                        + " chunks buffered (" + t + ")").asRuntimeException());
    }

    private GenerateChunk finalChunk(GenerationListener.Finish f) {
        var t = Protocol.timings(f)
                .setTtftMs(f.timings().timeToFirstTokenMs())
                .setTotalMs(f.timings().timeToFirstTokenMs() + f.timings().decodeMs());
        Final fin = Final.newBuilder()
                .setFinishReason(Protocol.finishReason(f.reason()))
                .setUsage(Usage.newBuilder().setPromptTokens(f.promptTokens()).setCompletionTokens(f.completionTokens()))
                .setTimings(t)
                .setDecodeInstance(instanceAddress.get())
                .setSpeculation(Protocol.speculationStats(f.speculation()))
                .build();
        return GenerateChunk.newBuilder().setText(f.trailingText()).setFinal(fin).build();
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    private static StatusRuntimeException toStatus(Throwable t) {
        return io.splitstream.service.GrpcErrors.toStatus(t);
    }

    /** Releases expired reservations (called periodically). */
    public int expireReservations() {
        return reservations.expire();
    }

    @Override
    public void close() {
        batcher.close();
        try {
            drafters.connection().close();
        } catch (Exception e) {
            System.getLogger(DecodeEngine.class.getName()).log(System.Logger.Level.WARNING, "closing the drafters failed", e);
        }
        reservations.releaseAll();
        pool.close();
        model.close();
    }
}
