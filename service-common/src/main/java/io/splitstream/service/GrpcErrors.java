package io.splitstream.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.kv.KvCacheFullException;

/** Maps engine exceptions to gRPC statuses with a message a client can act on. */
public final class GrpcErrors {
    private GrpcErrors() {
    }

    public static StatusRuntimeException toStatus(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof io.grpc.StatusException s) {
            return s.getStatus().withDescription(s.getMessage()).asRuntimeException();
        }
        Status status;
        if (t instanceof KvCacheFullException) {
            status = Status.RESOURCE_EXHAUSTED;
        } else if (t instanceof KvChecksumException) {
            status = Status.DATA_LOSS;
        } else if (t instanceof IllegalArgumentException) {
            status = Status.INVALID_ARGUMENT;
        } else if (t instanceof IllegalStateException) {
            status = Status.FAILED_PRECONDITION;
        } else {
            status = Status.INTERNAL;
        }
        return status.withDescription(t.getMessage() == null ? t.toString() : t.getMessage()).withCause(t).asRuntimeException();
    }
}
