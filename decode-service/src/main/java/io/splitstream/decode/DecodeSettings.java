package io.splitstream.decode;

import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.spec.SpeculationMode;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Plain settings of a decode instance (built from {@link DecodeConfig} by Quarkus, or by hand in tests).
 *
 * @param defaultSpeculation   the mode of requests that name none
 * @param drafter              who drafts for speculating requests ({@link SpeculationDrafters}), and where
 * @param autoSpeculationLimit decoding sequences up to which {@code auto} requests draft
 */
public record DecodeSettings(Path model, int threads, int kvTokens, KvPrecision kvPrecision, boolean acceptOtherWeights,
                             Duration reservationTimeout, int maxRunning, int prefillTokensPerStep,
                             SpeculationMode defaultSpeculation, SpeculationDrafters.Settings drafter,
                             int autoSpeculationLimit) {
    /** Settings without speculation by default, drafting in process. */
    public DecodeSettings(Path model, int threads, int kvTokens, KvPrecision kvPrecision, boolean acceptOtherWeights,
                          Duration reservationTimeout, int maxRunning, int prefillTokensPerStep) {
        this(model, threads, kvTokens, kvPrecision, acceptOtherWeights, reservationTimeout, maxRunning, prefillTokensPerStep,
                SpeculationMode.OFF, SpeculationDrafters.Settings.IN_PROCESS, io.splitstream.engine.generate.ContinuousBatcher.Options.DEFAULT_AUTO_MAX_RUNNING);
    }

    public DecodeSettings {
        java.util.Objects.requireNonNull(drafter, "drafter");
        if (autoSpeculationLimit < 0) {
            throw new IllegalArgumentException("splitstream.decode.speculation.auto-max-running must be >= 0, got "
                    + autoSpeculationLimit);
        }
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
