package io.splitstream.service;

import io.splitstream.engine.generate.FinishReason;
import io.splitstream.engine.generate.GenerationListener;
import io.splitstream.engine.kv.ModelFingerprint;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculationStats;
import io.splitstream.proto.internal.v1.Fingerprint;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import io.splitstream.proto.v1.Timings;

/** Conversions between protocol messages and engine objects, with the API's defaults in one place. */
public final class Protocol {
    /** llama.cpp's sampling defaults, applied to unset fields. */
    public static final float DEFAULT_TEMPERATURE = 0.8f;
    public static final int DEFAULT_TOP_K = 40;
    public static final float DEFAULT_TOP_P = 0.95f;
    public static final float DEFAULT_MIN_P = 0.05f;

    private Protocol() {
    }

    /**
     * @throws IllegalArgumentException with a message naming the bad field
     */
    public static SamplingParams sampling(SamplingParameters p, long fallbackSeed) {
        return SamplingParams.greedy()
                .withTemperature(p.hasTemperature() ? p.getTemperature() : DEFAULT_TEMPERATURE)
                .withTopK(p.hasTopK() ? p.getTopK() : DEFAULT_TOP_K)
                .withTopP(p.hasTopP() ? p.getTopP() : DEFAULT_TOP_P)
                .withMinP(p.hasMinP() ? p.getMinP() : DEFAULT_MIN_P)
                .withRepetitionPenalty(p.hasRepetitionPenalty() ? p.getRepetitionPenalty() : 1f)
                .withPresencePenalty(p.getPresencePenalty())
                .withFrequencyPenalty(p.getFrequencyPenalty())
                .withSeed(p.hasSeed() ? p.getSeed() : fallbackSeed)
                .validate();
    }

    public static io.splitstream.proto.v1.FinishReason finishReason(FinishReason r) {
        return switch (r) {
            case STOP -> io.splitstream.proto.v1.FinishReason.FINISH_REASON_STOP;
            case LENGTH -> io.splitstream.proto.v1.FinishReason.FINISH_REASON_LENGTH;
            case CANCELLED, ERROR -> io.splitstream.proto.v1.FinishReason.FINISH_REASON_CANCELLED;
        };
    }

    public static Fingerprint fingerprint(ModelFingerprint f) {
        return Fingerprint.newBuilder().setArchitecture(f.architecture()).setLayers(f.layers()).setKvHeads(f.kvHeads())
                .setHeadDim(f.headDim()).setWeightsDigest(f.weightsDigest()).build();
    }

    public static ModelFingerprint fingerprint(Fingerprint f) {
        return new ModelFingerprint(f.getArchitecture(), f.getLayers(), f.getKvHeads(), f.getHeadDim(), f.getWeightsDigest());
    }

    /** Engine timings as the API reports them (split-mode fields are filled in by the gateway). */
    public static Timings.Builder timings(GenerationListener.Finish f) {
        return Timings.newBuilder()
                .setQueueMs(f.timings().queueMs())
                .setPrefillMs(f.timings().prefillMs())
                .setDecodeMs(f.timings().decodeMs());
    }

    /**
     * A request's speculation; an empty mode means {@code defaultMode}, 0 nodes the default tree size.
     *
     * @throws IllegalArgumentException naming the bad field and the valid values
     */
    public static Speculation speculation(SpeculationParameters p, SpeculationMode defaultMode) {
        return Speculation.parse(p.getMode(), Integer.toUnsignedLong(p.getMaxTreeNodes()), defaultMode);
    }

    public static io.splitstream.proto.v1.SpeculationStats speculationStats(SpeculationStats s) {
        return io.splitstream.proto.v1.SpeculationStats.newBuilder()
                .setMode(s.mode().apiName())
                .setSteps(s.steps())
                .setDrafted(s.drafted())
                .setAccepted(s.accepted())
                .setMeanAcceptedPerStep(s.meanAcceptedPerStep())
                .build();
    }
}
