package io.splitstream.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SamplingParamsTest {

    @Test
    void greedyIsValidArgmaxWithEverythingOff() {
        SamplingParams greedy = SamplingParams.greedy();
        assertSame(greedy, greedy.validate());
        assertTrue(greedy.isGreedy());
        assertFalse(greedy.hasPenalties());
        assertEquals(new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, 64, 0L), greedy);
    }

    @Test
    void withMethodsChangeOnlyTheirField() {
        SamplingParams params = SamplingParams.greedy()
                .withTemperature(0.7f)
                .withTopK(40)
                .withTopP(0.95f)
                .withMinP(0.05f)
                .withRepetitionPenalty(1.1f)
                .withPresencePenalty(0.5f)
                .withFrequencyPenalty(0.25f)
                .withPenaltyWindow(128)
                .withSeed(42L);
        assertEquals(new SamplingParams(0.7f, 40, 0.95f, 0.05f, 1.1f, 0.5f, 0.25f, 128, 42L), params);
        assertFalse(params.isGreedy());
        assertTrue(params.hasPenalties());
    }

    @Test
    void penaltiesAreOffWhenNeutralOrWindowIsZero() {
        assertFalse(SamplingParams.greedy().withRepetitionPenalty(1.3f).withPenaltyWindow(0).hasPenalties());
        assertTrue(SamplingParams.greedy().withPresencePenalty(-0.5f).hasPenalties());
        assertTrue(SamplingParams.greedy().withFrequencyPenalty(0.1f).hasPenalties());
    }

    @Test
    void acceptsBoundaryValues() {
        SamplingParams.greedy().withTemperature(100f).withTopP(1f).withMinP(0f).withPenaltyWindow(0).validate();
        SamplingParams.greedy().withTopP(Float.MIN_VALUE).withMinP(0.999f).withRepetitionPenalty(Float.MIN_VALUE)
                .withPresencePenalty(-2f).withFrequencyPenalty(-2f).validate();
    }

    static Stream<Arguments> outOfRange() {
        SamplingParams ok = SamplingParams.greedy();
        return Stream.of(
                Arguments.of(ok.withTemperature(-0.1f), "temperature must be in [0, 100], got -0.1"),
                Arguments.of(ok.withTemperature(100.5f), "temperature must be in [0, 100], got 100.5"),
                Arguments.of(ok.withTemperature(Float.NaN), "temperature must be in [0, 100], got NaN"),
                Arguments.of(ok.withTopK(-1), "topK must be >= 0 (0 = off), got -1"),
                Arguments.of(ok.withTopP(0f), "topP must be in (0, 1], got 0.0"),
                Arguments.of(ok.withTopP(1.5f), "topP must be in (0, 1], got 1.5"),
                Arguments.of(ok.withMinP(1f), "minP must be in [0, 1), got 1.0"),
                Arguments.of(ok.withMinP(-0.1f), "minP must be in [0, 1), got -0.1"),
                Arguments.of(ok.withRepetitionPenalty(0f), "repetitionPenalty must be finite and > 0, got 0.0"),
                Arguments.of(ok.withRepetitionPenalty(Float.POSITIVE_INFINITY),
                        "repetitionPenalty must be finite and > 0, got Infinity"),
                Arguments.of(ok.withPresencePenalty(Float.NaN), "presencePenalty must be finite, got NaN"),
                Arguments.of(ok.withFrequencyPenalty(Float.NEGATIVE_INFINITY),
                        "frequencyPenalty must be finite, got -Infinity"),
                Arguments.of(ok.withPenaltyWindow(-1), "penaltyWindow must be >= 0 (0 = off), got -1"));
    }

    @ParameterizedTest
    @MethodSource("outOfRange")
    void validateNamesFieldRangeAndValue(SamplingParams params, String message) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, params::validate);
        assertEquals(message, error.getMessage());
    }

    @Test
    void samplerRejectsInvalidParams() {
        assertThrows(IllegalArgumentException.class,
                () -> new Sampler(SamplingParams.greedy().withTopK(-3), 10));
    }
}
