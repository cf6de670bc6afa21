package io.splitstream.prefill;

import io.opentelemetry.context.Context;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.MutinyPrefillGrpc;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.service.GrpcErrors;
import java.util.concurrent.CompletableFuture;

/** Prefill gRPC service: validation and queueing are non-blocking; the reply completes from the engine and push threads. */
@GrpcService
public class PrefillGrpcService extends MutinyPrefillGrpc.PrefillImplBase {
    private final PrefillRuntime runtime;
    private final PrefillMetrics metrics;

    public PrefillGrpcService(PrefillRuntime runtime, PrefillMetrics metrics) {
        this.runtime = runtime;
        this.metrics = metrics;
    }

    @Override
    public Uni<PrefillReply> prefill(PrefillRequest request) {
        Context trace = Context.current(); // the server span, here and not inside the Uni (README, Traces)
        return Uni.createFrom().deferred(() -> {
            CompletableFuture<PrefillReply> reply = runtime.engine().scheduler().submit(request, trace);
            // Cancelling the call (client gone) cancels the future; the scheduler then drops the job and its push.
            return Uni.createFrom().completionStage(reply).invoke(metrics::record)
                    .onCancellation().invoke(() -> reply.cancel(false));
        }).onFailure().transform(GrpcErrors::toStatus);
    }

    @Override
    public Uni<InstanceStatus> status(StatusRequest request) {
        if (!runtime.ready()) {
            return Uni.createFrom().item(InstanceStatus.newBuilder().setReady(false).build());
        }
        return Uni.createFrom().item(() -> runtime.engine().status()).onFailure().transform(GrpcErrors::toStatus);
    }
}
