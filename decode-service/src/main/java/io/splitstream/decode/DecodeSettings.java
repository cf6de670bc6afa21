package io.splitstream.decode;

import io.splitstream.engine.kv.KvPrecision;
import java.nio.file.Path;
import java.time.Duration;

/** Plain settings of a decode instance (built from {@link DecodeConfig} by Quarkus, or by hand in tests). */
public record DecodeSettings(Path model, int threads, int kvTokens, KvPrecision kvPrecision, boolean acceptOtherWeights,
                             Duration reservationTimeout, int maxRunning, int prefillTokensPerStep) {
    public DecodeSettings {
        if (threads < 1) {
            throw new IllegalArgumentException("splitstream.threads must be at least 1, got " + threads);
        }
        if (kvTokens < 1) {
            throw new IllegalArgumentException("splitstream.kv-tokens must be at least 1, got " + kvTokens);
        }
        if (maxRunning < 1 || prefillTokensPerStep < 1) {
            throw new IllegalArgumentException("splitstream.max-running and splitstream.prefill-tokens-per-step must be positive");
        }
        if (reservationTimeout.isNegative() || reservationTimeout.isZero()) {
            throw new IllegalArgumentException("splitstream.reservation-timeout must be positive");
        }
    }
}
