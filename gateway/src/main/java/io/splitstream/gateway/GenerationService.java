package io.splitstream.gateway;

import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.Timings;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * The generation path shared by the gRPC and HTTP APIs: validate, tokenize, route, then either split (Reserve on a
 * decode instance, Prefill pushing KV there, Decode.Generate from the pushed state) or colocated (Decode.Generate
 * from the prompt), relaying the decode stream with the gateway's timings added to the last chunk.
 *
 * <p>Errors from instances keep their status code; the message names the instance. Cancelling the returned Multi
 * cancels the downstream calls (and so frees the decode instance's KV).
 *
 * <p>Each generation is traced ({@link GatewayTracing}) as a child of the context current when it is called; the
 * calls to instances are children of that span.
 */
public final class GenerationService {
    private static final Logger LOG = Logger.getLogger(GenerationService.class);

    private final RequestValidator validator;
    private final InstancePool pool;
    private final MeshClient client;
    private final GatewayConfig config;
    private final GatewayMetrics metrics;
    private final GatewayTracing tracing;

    public GenerationService(RequestValidator validator, InstancePool pool, MeshClient client, GatewayConfig config) {
        this(validator, pool, client, config, GatewayMetrics.none(), GatewayTracing.none());
    }

    public GenerationService(RequestValidator validator, InstancePool pool, MeshClient client, GatewayConfig config,
            GatewayMetrics metrics, GatewayTracing tracing) {
        this.metrics = metrics;
        this.tracing = tracing;
        this.validator = validator;
        this.pool = pool;
        this.client = client;
        this.config = config;
    }

    public RequestValidator validator() {
        return validator;
    }

    /**
     * @param deadline the caller's deadline, propagated to every downstream call; null for none
     */
    public Multi<GenerateChunk> generate(GenerateRequest request, Deadline deadline) {
        long arrival = System.nanoTime();
        Context caller = Context.current(); // here: the stream is subscribed on another thread
        return Multi.createFrom().deferred(() -> {
            ValidatedRequest v = validator.validate(request);
            return generate(v, deadline, arrival, caller);
        });
    }

    /** Generates a request that already passed validation (the HTTP API validates first to answer 400 early). */
    public Multi<GenerateChunk> generate(ValidatedRequest v, Deadline deadline, long arrivalNanos) {
        return generate(v, deadline, arrivalNanos, Context.current());
    }

    private Multi<GenerateChunk> generate(ValidatedRequest v, Deadline deadline, long arrivalNanos, Context caller) {
        return Multi.createFrom().deferred(() -> {
            Span span = tracing.start(caller, v);
            Context trace = caller.with(span);
            Uni<Void> ready = Router.decodeCandidates(pool.decode()).isEmpty()
                    ? pool.refresh() // none known healthy: maybe not polled yet, ask once now
                    : Uni.createFrom().voidItem();
            AtomicReference<GatewayConfig.Mode> mode = new AtomicReference<>(v.mode());
            Supplier<String> modeName = () -> GatewayMetrics.mode(mode.get());
            Multi<GenerateChunk> stream = ready.onItem().transformToMulti(x -> route(v, deadline, arrivalNanos, mode, trace));
            return metrics.observe(tracing.observe(stream, span, modeName), modeName, arrivalNanos);
        });
    }

    /** Calls the mesh client with {@code trace} current: it parents its calls to the context current when called. */
    private static <T> T traced(Context trace, Supplier<T> call) {
        try (Scope ignored = trace.makeCurrent()) {
            return call.get();
        }
    }

    private Multi<GenerateChunk> route(ValidatedRequest v, Deadline deadline, long arrival,
            AtomicReference<GatewayConfig.Mode> effectiveMode, Context trace) {
        List<Instance> decodes = Router.decodeCandidates(pool.decode());
        if (decodes.isEmpty()) {
            String why = pool.decode().isEmpty() ? "none configured"
                    : pool.decode().stream().map(i -> i.address() + " (" + i.problem() + ")").collect(Collectors.joining(", "));
            return Multi.createFrom().failure(Status.UNAVAILABLE.withDescription("no healthy decode instance: " + why)
                    .asRuntimeException());
        }
        Optional<Instance> prefill = Router.choosePrefill(pool.prefill());
        GatewayConfig.Mode mode = Router.effectiveMode(v.mode(), prefill);
        effectiveMode.set(mode);
        if (mode != v.mode()) {
            LOG.infof("request %s: no healthy prefill instance, running colocated on a decode instance", v.requestId());
        }
        return mode == GatewayConfig.Mode.SPLIT
                ? split(v, prefill.orElseThrow(), decodes, deadline, arrival, trace)
                : colocated(v, decodes, 0, deadline, arrival, trace);
    }

    private DecodeRequest.Builder decodeRequest(ValidatedRequest v) {
        return DecodeRequest.newBuilder().setRequestId(v.requestId())
                .addAllPromptTokens(Arrays.stream(v.promptTokens()).boxed().toList())
                .setSampling(v.sampling()).setMaxTokens(v.maxTokens()).addAllStop(v.stop())
                .setIgnoreEos(v.ignoreEos()).setLogprobs(v.logprobs()).setSpeculation(v.speculation());
    }

    private Multi<GenerateChunk> colocated(ValidatedRequest v, List<Instance> decodes, int index, Deadline deadline,
            long arrival, Context trace) {
        Instance decode = decodes.get(index);
        decode.addPending(0, decode.blocksFor((long) v.promptTokens().length + v.maxTokens()));
        AtomicBoolean relayed = new AtomicBoolean();
        Multi<GenerateChunk> stream = relay(traced(trace, () -> client.generate(decode, decodeRequest(v).build(), deadline)),
                v, decode, null, null, arrival)
                .onItem().invoke(c -> relayed.set(true));
        return stream.onFailure(t -> !relayed.get() && index + 1 < decodes.size() && retryable(t))
                .recoverWithMulti(t -> {
                    LOG.debugf("request %s: %s refused (%s), trying the next", v.requestId(), decode.describe(), t.getMessage());
                    return colocated(v, decodes, index + 1, deadline, arrival, trace);
                });
    }

    private Multi<GenerateChunk> split(ValidatedRequest v, Instance prefill, List<Instance> decodes, Deadline deadline,
            long arrival, Context trace) {
        long tokens = (long) v.promptTokens().length + v.maxTokens();
        return reserve(v, decodes, 0, tokens, deadline, false, trace).onItem().transformToMulti(reserved -> {
            Instance decode = reserved.decode();
            PrefillRequest pr = PrefillRequest.newBuilder().setRequestId(v.requestId())
                    .addAllPromptTokens(Arrays.stream(v.promptTokens()).boxed().toList())
                    .setSampling(v.sampling()).setDecodeTarget(decode.address()).setTransferId(reserved.transferId())
                    .setEncoding(config.kvEncoding()).build();
            prefill.addPending(v.promptTokens().length, 0);
            prefill.started();
            Uni<PrefillReply> prefilled = Uni.createFrom().deferred(() -> traced(trace, () -> client.prefill(prefill, pr, deadline)))
                    .onFailure().transform(t -> named(prefill, t))
                    .onTermination().invoke(prefill::finished);
            return prefilled.onItem().transformToMulti(reply -> {
                DecodeRequest dr = decodeRequest(v).setTransferId(reserved.transferId()).setFirstToken(reply.getFirstToken())
                        .build();
                return relay(traced(trace, () -> client.generate(decode, dr, deadline)), v, decode, prefill, reply, arrival);
            });
        });
    }

    private record Reserved(Instance decode, String transferId) {
    }

    /** Reserve on the decode instances in order, moving on when one is full or unreachable. */
    private Uni<Reserved> reserve(ValidatedRequest v, List<Instance> decodes, int index, long tokens, Deadline deadline,
            boolean sawFull, Context trace) {
        if (index == decodes.size()) {
            return Uni.createFrom().failure(Status.RESOURCE_EXHAUSTED
                    .withDescription("no decode instance has KV room for " + tokens + " tokens").asRuntimeException());
        }
        Instance decode = decodes.get(index);
        ReserveRequest request = ReserveRequest.newBuilder().setRequestId(v.requestId()).setTokens((int) tokens).build();
        return Uni.createFrom().deferred(() -> traced(trace, () -> client.reserve(decode, request, deadline)))
                .onFailure().transform(t -> named(decode, t))
                .onItem().transform(r -> {
                    decode.addPending(0, decode.blocksFor(tokens));
                    return new Reserved(decode, r.getTransferId());
                })
                .onFailure(this::retryable).recoverWithUni(t -> {
                    boolean full = Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED;
                    if (index + 1 == decodes.size() && !full && !sawFull) {
                        return Uni.createFrom().failure(t);
                    }
                    return reserve(v, decodes, index + 1, tokens, deadline, sawFull || full, trace);
                });
    }

    private boolean retryable(Throwable t) {
        Status.Code code = Status.fromThrowable(t).getCode();
        return code == Status.Code.RESOURCE_EXHAUSTED || code == Status.Code.UNAVAILABLE;
    }

    /** The error with its status code kept and the instance named in its message (once). */
    static StatusRuntimeException named(Instance instance, Throwable t) {
        Status s = Status.fromThrowable(t);
        String description = s.getDescription() == null ? s.getCode().toString() : s.getDescription();
        if (description.contains(instance.address()) || description.startsWith("no decode instance")) {
            return t instanceof StatusRuntimeException e ? e : s.asRuntimeException();
        }
        return s.withDescription(instance.describe() + ": " + description).withCause(t).asRuntimeException();
    }

    /** Relays the decode stream, naming the instance in errors and completing the last chunk's Final. */
    private Multi<GenerateChunk> relay(Multi<GenerateChunk> upstream, ValidatedRequest v, Instance decode, Instance prefill,
            PrefillReply reply, long arrival) {
        AtomicBoolean first = new AtomicBoolean(true);
        double[] ttft = new double[1];
        return Multi.createFrom().deferred(() -> {
            decode.started();
            return upstream;
        })
                .onItem().transform(chunk -> {
                    long now = System.nanoTime();
                    if (first.compareAndSet(true, false)) {
                        ttft[0] = millis(now - arrival);
                    }
                    if (!chunk.hasFinal()) {
                        return chunk;
                    }
                    Final f = chunk.getFinal();
                    Timings.Builder t = f.getTimings().toBuilder().setTtftMs(ttft[0]).setTotalMs(millis(now - arrival));
                    if (reply != null) {
                        t.setQueueMs(reply.getQueueMs()).setPrefillMs(reply.getPrefillMs())
                                .setKvTransferMs(reply.getKvTransferMs()).setKvBytes(reply.getKvBytes())
                                .setKvTransferHiddenFraction(reply.getKvTransferHiddenFraction());
                    }
                    Final.Builder fb = f.toBuilder().setTimings(t).setDecodeInstance(decode.address());
                    if (prefill != null) {
                        fb.setPrefillInstance(prefill.address());
                    }
                    return chunk.toBuilder().setFinal(fb).build();
                })
                .onFailure().transform(t -> named(decode, t))
                .onTermination().invoke(decode::finished);
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
