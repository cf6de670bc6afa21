package io.splitstream.draft;

import io.quarkus.grpc.GrpcService;

/** The Draft gRPC service, served by Quarkus over the holder's models. */
@GrpcService
public class DraftGrpcService extends DraftEndpoint {
    DraftGrpcService(DraftHolder holder, DraftMetricsBinder metrics) {
        super(holder::models, metrics);
    }
}
