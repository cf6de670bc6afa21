package io.splitstream.gateway;

import io.grpc.Context;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.MutinyGenerationGrpc;
import jakarta.inject.Inject;

/** The public gRPC API: splitstream.v1.Generation. The caller's deadline is passed on to every instance call. */
@GrpcService
public class GenerationGrpcService extends MutinyGenerationGrpc.GenerationImplBase {
    @Inject
    Gateway gateway;

    @Override
    public Multi<GenerateChunk> generate(GenerateRequest request) {
        io.grpc.Deadline deadline = Context.current().getDeadline();
        // tokenizing a long prompt is CPU work: not on the event loop
        return gateway.service().generate(request, deadline).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }
}
