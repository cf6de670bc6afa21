package io.splitstream.gateway;

import io.grpc.Deadline;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.ReserveReply;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.v1.GenerateChunk;

/**
 * Calls to prefill and decode instances. A null deadline means none. Cancelling a Multi cancels the call. A call is
 * traced as a child of the OpenTelemetry context current when its method is called (not when it is subscribed).
 */
public interface MeshClient extends AutoCloseable {
    Uni<InstanceStatus> status(Instance instance, Deadline deadline);

    Uni<ReserveReply> reserve(Instance decode, ReserveRequest request, Deadline deadline);

    Uni<PrefillReply> prefill(Instance prefill, PrefillRequest request, Deadline deadline);

    Multi<GenerateChunk> generate(Instance decode, DecodeRequest request, Deadline deadline);

    @Override
    void close();
}
