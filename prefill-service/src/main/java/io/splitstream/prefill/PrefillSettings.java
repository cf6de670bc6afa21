package io.splitstream.prefill;

import java.time.Duration;

/**
 * Tuning of a prefill instance, plain Java so the scheduler is testable without Quarkus.
 *
 * @param threads            compute threads (the engine thread included)
 * @param kvTokens           KV cache capacity in positions (prompts being computed)
 * @param prefillChunkTokens prompt rows per forward step (several prompts may share a step)
 * @param kvChunkTokens      positions per KV message (bounds message size)
 * @param maxQueuedTokens    prompt tokens admitted but not yet computed; beyond this RESOURCE_EXHAUSTED
 * @param kvPushTimeout      deadline of one KV push call (compute plus transfer)
 */
public record PrefillSettings(int threads, int kvTokens, int prefillChunkTokens, int kvChunkTokens, int maxQueuedTokens,
                              Duration kvPushTimeout) {
    public PrefillSettings {
        if (threads < 1 || kvTokens < 1 || prefillChunkTokens < 1 || kvChunkTokens < 1 || maxQueuedTokens < 1) {
            throw new IllegalArgumentException("prefill settings must be positive: " + threads + " threads, " + kvTokens
                    + " kv-tokens, " + prefillChunkTokens + " prefill-chunk-tokens, " + kvChunkTokens + " kv-chunk-tokens, "
                    + maxQueuedTokens + " max-queued-tokens");
        }
        if (kvPushTimeout == null || kvPushTimeout.isNegative() || kvPushTimeout.isZero()) {
            throw new IllegalArgumentException("kv-push-timeout must be positive: " + kvPushTimeout);
        }
    }

    public static PrefillSettings defaults() {
        return new PrefillSettings(Runtime.getRuntime().availableProcessors(), 8192, 256, 64, 65536, Duration.ofSeconds(60));
    }

    public PrefillSettings withThreads(int v) {
        return new PrefillSettings(v, kvTokens, prefillChunkTokens, kvChunkTokens, maxQueuedTokens, kvPushTimeout);
    }

    public PrefillSettings withKvTokens(int v) {
        return new PrefillSettings(threads, v, prefillChunkTokens, kvChunkTokens, maxQueuedTokens, kvPushTimeout);
    }

    public PrefillSettings withPrefillChunkTokens(int v) {
        return new PrefillSettings(threads, kvTokens, v, kvChunkTokens, maxQueuedTokens, kvPushTimeout);
    }

    public PrefillSettings withKvChunkTokens(int v) {
        return new PrefillSettings(threads, kvTokens, prefillChunkTokens, v, maxQueuedTokens, kvPushTimeout);
    }

    public PrefillSettings withMaxQueuedTokens(int v) {
        return new PrefillSettings(threads, kvTokens, prefillChunkTokens, kvChunkTokens, v, kvPushTimeout);
    }

    public PrefillSettings withKvPushTimeout(Duration v) {
        return new PrefillSettings(threads, kvTokens, prefillChunkTokens, kvChunkTokens, maxQueuedTokens, v);
    }
}
