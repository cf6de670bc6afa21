package io.splitstream.decode;

import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.spec.SpeculationMode;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * {@code splitstream.*} configuration of a decode instance. Plain {@code @ConfigProperty} injection rather than
 * {@code @ConfigMapping}: Quarkus augmentation runs on Maven's JDK (17 here) and would have to load a mapping
 * interface compiled for release 25.
 */
@Singleton
public class DecodeConfig {
    private final Path model;
    private final OptionalInt threads;
    private final int kvTokens;
    private final String kvPrecision;
    private final boolean acceptOtherWeights;
    private final Duration reservationTimeout;
    private final int maxRunning;
    private final int prefillTokensPerStep;
    private final Optional<String> advertisedAddress;
    private final String defaultSpeculation;
    private final String drafter;
    private final Optional<String> draftTarget;
    private final Duration draftWait;
    private final int autoSpeculationLimit;

    DecodeConfig(@ConfigProperty(name = "splitstream.model") String model,
                 @ConfigProperty(name = "splitstream.threads") OptionalInt threads,
                 @ConfigProperty(name = "splitstream.kv-tokens", defaultValue = "8192") int kvTokens,
                 @ConfigProperty(name = "splitstream.kv-precision", defaultValue = "f32") String kvPrecision,
                 @ConfigProperty(name = "splitstream.accept-other-weights", defaultValue = "false") boolean acceptOtherWeights,
                 @ConfigProperty(name = "splitstream.reservation-timeout", defaultValue = "30s") Duration reservationTimeout,
                 @ConfigProperty(name = "splitstream.max-running", defaultValue = "64") int maxRunning,
                 @ConfigProperty(name = "splitstream.prefill-tokens-per-step", defaultValue = "128") int prefillTokensPerStep,
                 @ConfigProperty(name = "splitstream.advertised-address") Optional<String> advertisedAddress,
                 @ConfigProperty(name = "splitstream.decode.speculation.default", defaultValue = "off") String defaultSpeculation,
                 @ConfigProperty(name = "splitstream.decode.speculation.drafter", defaultValue = "local") String drafter,
                 @ConfigProperty(name = "splitstream.decode.speculation.draft-target") Optional<String> draftTarget,
                 @ConfigProperty(name = "splitstream.decode.speculation.draft-wait", defaultValue = "2ms") Duration draftWait,
                 @ConfigProperty(name = "splitstream.decode.speculation.auto-max-running", defaultValue = "4") int autoSpeculationLimit) {
        this.model = Path.of(model);
        this.threads = threads;
        this.kvTokens = kvTokens;
        this.kvPrecision = kvPrecision;
        this.acceptOtherWeights = acceptOtherWeights;
        this.reservationTimeout = reservationTimeout;
        this.maxRunning = maxRunning;
        this.prefillTokensPerStep = prefillTokensPerStep;
        this.advertisedAddress = advertisedAddress;
        this.defaultSpeculation = defaultSpeculation;
        this.drafter = drafter;
        this.draftTarget = draftTarget;
        this.draftWait = draftWait;
        this.autoSpeculationLimit = autoSpeculationLimit;
    }

    /** Path of the GGUF model file (required). */
    public Path model() {
        return model;
    }

    /** host:port reported as decode_instance; default: this host's name and the HTTP/gRPC port. */
    public Optional<String> advertisedAddress() {
        return advertisedAddress;
    }

    public DecodeSettings settings() {
        return new DecodeSettings(model, threads.orElse(Runtime.getRuntime().availableProcessors()), kvTokens,
                KvPrecision.parse(kvPrecision), acceptOtherWeights, reservationTimeout, maxRunning, prefillTokensPerStep,
                SpeculationMode.parse(defaultSpeculation, SpeculationMode.OFF),
                new SpeculationDrafters.Settings(drafter, draftTarget, draftWait), autoSpeculationLimit);
    }
}
