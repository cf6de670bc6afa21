package io.splitstream.engine.sampling;

/**
 * How one sequence picks its next token, with llama.cpp's meaning for every field.
 *
 * @param temperature       divides the logits last; 0 means greedy (argmax, ties go to the lowest id)
 * @param topK              keeps the k most likely tokens; 0 turns the filter off
 * @param topP              keeps the smallest most-likely prefix whose probability reaches topP; 1 turns it off
 * @param minP              drops tokens less likely than minP times the most likely one; 0 turns it off
 * @param repetitionPenalty divides positive logits and multiplies negative ones of recent tokens; 1 turns it off
 * @param presencePenalty   subtracted once from the logit of every recent token
 * @param frequencyPenalty  subtracted from a recent token's logit once per occurrence
 * @param penaltyWindow     how many of the last accepted tokens the penalties look at; 0 turns penalties off
 * @param seed              seeds the random draws, so equal seeds give equal tokens
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        int penaltyWindow,
        long seed) {

    static final float MAX_TEMPERATURE = 100f;
    /** llama.cpp's default {@code repeat_last_n}. */
    static final int DEFAULT_PENALTY_WINDOW = 64;

    /** Argmax decoding with every filter and penalty off. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, DEFAULT_PENALTY_WINDOW, 0L);
    }

    /** Whether {@link Sampler#sample} takes the argmax instead of drawing. */
    public boolean isGreedy() {
        return temperature == 0f;
    }

    /** Whether any penalty changes a logit; llama.cpp skips the penalty stage otherwise. */
    public boolean hasPenalties() {
        return penaltyWindow > 0
                && (repetitionPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f);
    }

    /**
     * Checks every field's range.
     *
     * @return this, for chaining
     * @throws IllegalArgumentException naming the first field out of range, its allowed range and its value
     */
    public SamplingParams validate() {
        // Negated comparisons so that NaN fails every check.
        if (!(temperature >= 0f && temperature <= MAX_TEMPERATURE)) {
            throw outOfRange("temperature", "in [0, 100]", temperature);
        }
        if (topK < 0) {
            throw outOfRange("topK", ">= 0 (0 = off)", topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw outOfRange("topP", "in (0, 1]", topP);
        }
        if (!(minP >= 0f && minP < 1f)) {
            throw outOfRange("minP", "in [0, 1)", minP);
        }
        if (!(repetitionPenalty > 0f && Float.isFinite(repetitionPenalty))) {
            throw outOfRange("repetitionPenalty", "finite and > 0", repetitionPenalty);
        }
        if (!Float.isFinite(presencePenalty)) {
            throw outOfRange("presencePenalty", "finite", presencePenalty);
        }
        if (!Float.isFinite(frequencyPenalty)) {
            throw outOfRange("frequencyPenalty", "finite", frequencyPenalty);
        }
        if (penaltyWindow < 0) {
            throw outOfRange("penaltyWindow", ">= 0 (0 = off)", penaltyWindow);
        }
        return this;
    }

    private static IllegalArgumentException outOfRange(String field, String allowed, Object value) {
        return new IllegalArgumentException(field + " must be " + allowed + ", got " + value);
    }

    public SamplingParams withTemperature(float temperature) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withTopK(int topK) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withTopP(float topP) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withMinP(float minP) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withRepetitionPenalty(float repetitionPenalty) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withPresencePenalty(float presencePenalty) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withFrequencyPenalty(float frequencyPenalty) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withPenaltyWindow(int penaltyWindow) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }

    public SamplingParams withSeed(long seed) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, penaltyWindow, seed);
    }
}
