package io.splitstream.decode;

import io.opentelemetry.context.Context;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.MutinyDecodeGrpc;
import io.splitstream.proto.internal.v1.ReserveReply;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.service.GrpcErrors;

/** Decode service: Reserve, Generate, Status over {@link DecodeEngine}. */
@GrpcService
public class DecodeGrpcService extends MutinyDecodeGrpc.DecodeImplBase {
    private final EngineHolder holder;

    DecodeGrpcService(EngineHolder holder) {
        this.holder = holder;
    }

    @Override
    public Uni<ReserveReply> reserve(ReserveRequest request) {
        return Uni.createFrom().item(() -> ReserveReply.newBuilder()
                        .setTransferId(holder.engine().reserve(request.getTokens()).transferId()).build())
                .onFailure().transform(GrpcErrors::toStatus);
    }

    @Override
    public Multi<GenerateChunk> generate(DecodeRequest request) {
        Context trace = Context.current(); // the server span, here and not inside the Multi (README, Traces)
        return Multi.createFrom().deferred(() -> holder.engine().generate(request, trace))
                .onFailure().transform(GrpcErrors::toStatus);
    }

    @Override
    public Uni<InstanceStatus> status(StatusRequest request) {
        return Uni.createFrom().item(() -> holder.ready() ? holder.engine().status()
                : InstanceStatus.newBuilder().setReady(false).build());
    }
}
