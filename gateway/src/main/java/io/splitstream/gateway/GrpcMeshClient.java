package io.splitstream.gateway;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.splitstream.proto.internal.v1.DecodeGrpc;
import io.splitstream.proto.internal.v1.PrefillGrpc;
import java.util.concurrent.atomic.AtomicBoolean;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.MutinyDecodeGrpc;
import io.splitstream.proto.internal.v1.MutinyPrefillGrpc;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.ReserveReply;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.service.TracingClientInterceptor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Mutiny stubs over one plaintext grpc-java (Netty) channel per instance address. Calls are client spans of the
 * context current when their method is called ({@link TracingClientInterceptor}).
 */
public final class GrpcMeshClient implements MeshClient {
    /**
     * Parent of status polls (every instance, every status interval): sampled out, so the poll's client span and,
     * through parent-based sampling, the instance's server span record nothing.
     */
    private static final Context UNSAMPLED = Context.root().with(Span.wrap(SpanContext.create(
            "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13", TraceFlags.getDefault(), TraceState.getDefault())));

    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final TracingClientInterceptor tracing;

    /** Without tracing. */
    public GrpcMeshClient() {
        this(OpenTelemetry.noop());
    }

    public GrpcMeshClient(OpenTelemetry otel) {
        this.tracing = new TracingClientInterceptor(otel);
    }

    private Channel channel(Instance instance) {
        return ClientInterceptors.intercept(channels.computeIfAbsent(instance.address(), a -> NettyChannelBuilder.forTarget(a)
                .usePlaintext().maxInboundMessageSize(64 << 20).keepAliveTime(30, TimeUnit.SECONDS).build()), tracing);
    }

    private MutinyDecodeGrpc.MutinyDecodeStub decode(Instance i, Deadline d, Context trace) {
        MutinyDecodeGrpc.MutinyDecodeStub stub = TracingClientInterceptor.withParent(MutinyDecodeGrpc.newMutinyStub(channel(i)), trace);
        return d == null ? stub : stub.withDeadline(d);
    }

    private MutinyPrefillGrpc.MutinyPrefillStub prefill(Instance i, Deadline d, Context trace) {
        MutinyPrefillGrpc.MutinyPrefillStub stub = TracingClientInterceptor.withParent(MutinyPrefillGrpc.newMutinyStub(channel(i)), trace);
        return d == null ? stub : stub.withDeadline(d);
    }

    @Override
    public Uni<InstanceStatus> status(Instance instance, Deadline deadline) {
        StatusRequest request = StatusRequest.getDefaultInstance();
        return instance.role() == Instance.Role.PREFILL
                ? prefill(instance, deadline, UNSAMPLED).status(request)
                : decode(instance, deadline, UNSAMPLED).status(request);
    }

    @Override
    public Uni<ReserveReply> reserve(Instance decode, ReserveRequest request, Deadline deadline) {
        return decode(decode, deadline, Context.current()).reserve(request);
    }

    /*
     * Prefill and Generate use grpc-java's async stubs: Quarkus's Mutiny client stubs do not cancel the call when the
     * Uni/Multi is cancelled (a cancelled client would leave prefill computing and decode generating).
     */

    @Override
    public Uni<PrefillReply> prefill(Instance prefill, PrefillRequest request, Deadline deadline) {
        PrefillGrpc.PrefillStub stub = TracingClientInterceptor.withParent(PrefillGrpc.newStub(channel(prefill)), Context.current());
        PrefillGrpc.PrefillStub s = deadline == null ? stub : stub.withDeadline(deadline);
        return Uni.createFrom().emitter(emitter -> {
            AtomicBoolean done = new AtomicBoolean();
            s.prefill(request, new ClientResponseObserver<PrefillRequest, PrefillReply>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<PrefillRequest> call) {
                    emitter.onTermination(() -> {
                        if (done.compareAndSet(false, true)) { // cancelled: the CANCELLED error that follows is ours
                            call.cancel("cancelled by the gateway's caller", null);
                        }
                    });
                }

                @Override
                public void onNext(PrefillReply value) {
                    if (done.compareAndSet(false, true)) {
                        emitter.complete(value);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    if (done.compareAndSet(false, true)) {
                        emitter.fail(t);
                    }
                }

                @Override
                public void onCompleted() {
                }
            });
        });
    }

    @Override
    public Multi<GenerateChunk> generate(Instance decode, DecodeRequest request, Deadline deadline) {
        DecodeGrpc.DecodeStub stub = TracingClientInterceptor.withParent(DecodeGrpc.newStub(channel(decode)), Context.current());
        DecodeGrpc.DecodeStub s = deadline == null ? stub : stub.withDeadline(deadline);
        return Multi.createFrom().emitter(emitter -> {
            AtomicBoolean done = new AtomicBoolean();
            s.generate(request, new ClientResponseObserver<DecodeRequest, GenerateChunk>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<DecodeRequest> call) {
                    emitter.onTermination(() -> {
                        if (done.compareAndSet(false, true)) { // cancelled: the CANCELLED error that follows is ours
                            call.cancel("cancelled by the gateway's caller", null);
                        }
                    });
                }

                @Override
                public void onNext(GenerateChunk value) {
                    if (!done.get()) {
                        emitter.emit(value);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    if (done.compareAndSet(false, true)) {
                        emitter.fail(t);
                    }
                }

                @Override
                public void onCompleted() {
                    if (done.compareAndSet(false, true)) {
                        emitter.complete();
                    }
                }
            });
        });
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
