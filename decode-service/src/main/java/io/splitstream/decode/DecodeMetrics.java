package io.splitstream.decode;

import io.splitstream.engine.generate.GenerationListener;

/**
 * What {@link DecodeEngine} reports as it serves (plain Java so the engine stays free of Quarkus/Micrometer).
 * Calls come from the batcher thread and gRPC workers; implementations must be cheap and non-blocking.
 */
public interface DecodeMetrics {
    DecodeMetrics NONE = new DecodeMetrics() {
    };

    /** A request was handed to the batcher. */
    default void requestStarted(int promptTokens) {
    }

    /** One generated token; {@code gapNanos} is the time since the previous token of the sequence (-1 for the first). */
    default void token(long gapNanos) {
    }

    /** The engine finished a request (any reason) after {@code durationNanos} since the request arrived. */
    default void finished(GenerationListener.Finish finish, long durationNanos) {
    }

    /** The request failed before reaching the engine. */
    default void rejected(long durationNanos) {
    }

    /** The client cancelled before the engine finished. */
    default void cancelled(long durationNanos) {
    }

    /** KV payload bytes imported from a prefill push. */
    default void kvImported(long bytes) {
    }
}
