package io.splitstream.draft;

import io.grpc.Status;
import io.splitstream.proto.internal.v1.DraftMode;

/** What the draft logic reports to metrics. */
public interface DraftListener {
    DraftListener NONE = new DraftListener() {
    };

    default void sequenceOpened(DraftMode mode) {
    }

    default void treeSent(int nodes) {
    }

    default void sequenceRefused(Status.Code code) {
    }
}
