package io.splitstream.decode;

import io.opentelemetry.api.trace.Span;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.MutinyKvTransferGrpc;
import io.splitstream.service.GrpcErrors;
import io.splitstream.service.TraceAttributes;

/**
 * KvTransfer.Push: checks and imports the stream on a worker thread (never on the event loop); any failure or
 * client cancellation releases the reservation at once. The call's server span gets the bytes and chunks imported.
 */
@GrpcService
public class KvTransferGrpcService extends MutinyKvTransferGrpc.KvTransferImplBase {
    private final EngineHolder holder;

    KvTransferGrpcService(EngineHolder holder) {
        this.holder = holder;
    }

    @Override
    public Uni<KvPushReply> push(Multi<KvMessage> request) {
        Span span = Span.current();
        return Uni.createFrom().deferred(() -> {
            KvImportSession session = holder.engine().newImport();
            return request
                    .emitOn(Infrastructure.getDefaultWorkerPool())
                    .onItem().invoke(session::accept)
                    .collect().last()
                    .map(ignored -> {
                        KvPushReply reply = session.complete();
                        span.setAttribute(TraceAttributes.KV_BYTES, reply.getBytes());
                        span.setAttribute(TraceAttributes.KV_CHUNKS, (long) reply.getChunks());
                        return reply;
                    })
                    .onFailure().invoke(t -> session.abort())
                    .onCancellation().invoke(session::abort);
        }).onFailure().transform(GrpcErrors::toStatus);
    }
}
