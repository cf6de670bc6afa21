package io.splitstream.gateway;

import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Mutiny stubs over one plaintext grpc-java (Netty) channel per instance address. */
public final class GrpcMeshClient implements MeshClient {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    private ManagedChannel channel(Instance instance) {
        return channels.computeIfAbsent(instance.address(), a -> NettyChannelBuilder.forTarget(a).usePlaintext()
                .maxInboundMessageSize(64 << 20).keepAliveTime(30, TimeUnit.SECONDS).build());
    }

    private MutinyDecodeGrpc.MutinyDecodeStub decode(Instance i, Deadline d) {
        MutinyDecodeGrpc.MutinyDecodeStub stub = MutinyDecodeGrpc.newMutinyStub(channel(i));
        return d == null ? stub : stub.withDeadline(d);
    }

    private MutinyPrefillGrpc.MutinyPrefillStub prefill(Instance i, Deadline d) {
        MutinyPrefillGrpc.MutinyPrefillStub stub = MutinyPrefillGrpc.newMutinyStub(channel(i));
        return d == null ? stub : stub.withDeadline(d);
    }

    @Override
    public Uni<InstanceStatus> status(Instance instance, Deadline deadline) {
        StatusRequest request = StatusRequest.getDefaultInstance();
        return instance.role() == Instance.Role.PREFILL
                ? prefill(instance, deadline).status(request)
                : decode(instance, deadline).status(request);
    }

    @Override
    public Uni<ReserveReply> reserve(Instance decode, ReserveRequest request, Deadline deadline) {
        return decode(decode, deadline).reserve(request);
    }

    /*
     * Prefill and Generate use grpc-java's async stubs: Quarkus's Mutiny client stubs do not cancel the call when the
     * Uni/Multi is cancelled (a cancelled client would leave prefill computing and decode generating).
     */

    @Override
    public Uni<PrefillReply> prefill(Instance prefill, PrefillRequest request, Deadline deadline) {
        PrefillGrpc.PrefillStub stub = PrefillGrpc.newStub(channel(prefill));
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
        DecodeGrpc.DecodeStub stub = DecodeGrpc.newStub(channel(decode));
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
