package io.splitstream.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class LogprobsTest {

    @Test
    void logprobIsLogSoftmaxOfRawLogits() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.25)};
        Logprobs logprobs = Logprobs.of(logits);
        assertEquals(Math.log(0.5), logprobs.logprob(0), 1e-6);
        assertEquals(Math.log(0.25), logprobs.logprob(2), 1e-6);
    }

    @Test
    void isShiftInvariantAndStableForLargeLogits() {
        Logprobs logprobs = Logprobs.of(new float[] {1000f, 1000f});
        assertEquals(Math.log(0.5), logprobs.logprob(1), 1e-6);
    }

    @Test
    void topListsBestFirstWithTiesToLowestId() {
        float[] logits = {1f, 3f, 2f, 3f, Float.NEGATIVE_INFINITY};
        List<TokenLogprob> top = Logprobs.of(logits).top(3);
        assertEquals(List.of(1, 3, 2), top.stream().map(TokenLogprob::token).toList());
        assertEquals(Logprobs.of(logits).logprob(2), top.get(2).logprob());
    }

    @Test
    void topNeverListsMaskedTokensNorMoreThanExist() {
        float[] logits = {0f, Float.NEGATIVE_INFINITY, 1f};
        assertEquals(List.of(new TokenLogprob(2, Logprobs.of(logits).logprob(2)),
                new TokenLogprob(0, Logprobs.of(logits).logprob(0))), Logprobs.of(logits).top(5));
        assertEquals(List.of(), Logprobs.of(logits).top(0));
    }

    @Test
    void rejectsNegativeCountAndLogitsWithoutFiniteMaximum() {
        assertThrows(IllegalArgumentException.class, () -> Logprobs.of(new float[] {0f}).top(-1));
        assertThrows(IllegalArgumentException.class, () -> Logprobs.of(new float[] {Float.NEGATIVE_INFINITY}));
        assertThrows(IllegalArgumentException.class, () -> Logprobs.of(new float[] {0f, Float.NaN}));
    }
}
