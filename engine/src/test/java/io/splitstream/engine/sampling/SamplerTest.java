package io.splitstream.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static final SamplingParams UNFILTERED = SamplingParams.greedy().withTemperature(1f);

    /** Logits whose temperature-1 softmax is exactly the given probabilities. */
    private static float[] logitsOf(double... probabilities) {
        float[] logits = new float[probabilities.length];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = probabilities[i] == 0 ? Float.NEGATIVE_INFINITY : (float) Math.log(probabilities[i]);
        }
        return logits;
    }

    private static double[] softmax(double... logits) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] weights = Arrays.stream(logits).map(logit -> Math.exp(logit - max)).toArray();
        double sum = Arrays.stream(weights).sum();
        return Arrays.stream(weights).map(weight -> weight / sum).toArray();
    }

    private static void assertDistribution(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int token = 0; token < expected.length; token++) {
            assertEquals(expected[token], actual[token], 1e-6, "probability of token " + token);
        }
    }

    private static float[] probabilities(SamplingParams params, float[] logits) {
        return new Sampler(params, logits.length).probabilities(logits);
    }

    @Test
    void greedyTakesArgmaxWithTiesToLowestId() {
        Sampler sampler = new Sampler(SamplingParams.greedy(), 5);
        assertEquals(1, sampler.sample(new float[] {1f, 3f, 2f, 3f, Float.NEGATIVE_INFINITY}));
        assertEquals(0, sampler.sample(new float[] {-0f, 0f, 0f, -1f, -2f}));
        assertArrayEquals(new float[] {0f, 1f, 0f, 0f, 0f},
                sampler.probabilities(new float[] {1f, 3f, 2f, 3f, 0f}));
    }

    @Test
    void greedyArgmaxIsTakenAfterPenalties() {
        Sampler sampler = new Sampler(SamplingParams.greedy().withRepetitionPenalty(2f), 3);
        float[] logits = {3f, 2f, 1f};
        assertEquals(0, sampler.sample(logits));
        sampler.accept(0);
        assertEquals(1, sampler.sample(logits), "3 / 2 = 1.5 now loses to 2");
        assertArrayEquals(new float[] {3f, 2f, 1f}, logits, "the caller's logits are untouched");
    }

    @Test
    void greedySamplingAllocatesNothing() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        float[] logits = new float[150_000];
        logits[123_456] = 5f;
        Sampler sampler = new Sampler(SamplingParams.greedy().withPresencePenalty(1f), logits.length);
        sampler.accept(7);
        for (int i = 0; i < 200; i++) {
            sampler.sample(logits); // warm up, so class loading and compilation are not counted
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int token = 0;
        for (int i = 0; i < 200; i++) {
            token = sampler.sample(logits);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertEquals(123_456, token);
        assertTrue(allocated < 1024, "greedy sampling allocated " + allocated + " bytes");
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        Sampler sampler = new Sampler(UNFILTERED.withRepetitionPenalty(2f), 3);
        sampler.accept(0);
        sampler.accept(1);
        sampler.accept(1);
        assertDistribution(softmax(1, -2, 0.5), sampler.probabilities(new float[] {2f, -1f, 0.5f}));
    }

    @Test
    void presencePenaltyCountsOnceAndFrequencyPenaltyPerOccurrence() {
        Sampler sampler = new Sampler(UNFILTERED.withPresencePenalty(1f).withFrequencyPenalty(0.5f), 3);
        sampler.accept(0);
        sampler.accept(0);
        sampler.accept(2);
        assertDistribution(softmax(2 - 1 - 2 * 0.5, 1, 0.5 - 1 - 0.5),
                sampler.probabilities(new float[] {2f, 1f, 0.5f}));
    }

    @Test
    void penaltiesForgetTokensThatLeftTheWindow() {
        Sampler sampler = new Sampler(UNFILTERED.withPresencePenalty(3f).withPenaltyWindow(2), 3);
        sampler.accept(0);
        sampler.accept(1);
        sampler.accept(2);
        assertDistribution(softmax(0, -3, -3), sampler.probabilities(new float[3]));
    }

    @Test
    void topKKeepsTheKBestWithBoundaryTiesToLowestId() {
        assertDistribution(new double[] {0, 0.6, 0.4, 0, 0},
                probabilities(UNFILTERED.withTopK(2), logitsOf(0.1, 0.3, 0.2, 0.1, 0.05)));
        assertDistribution(new double[] {0.5, 0.5, 0},
                probabilities(UNFILTERED.withTopK(2), new float[] {3f, 3f, 3f}));
        assertDistribution(softmax(1, 2), probabilities(UNFILTERED.withTopK(10), new float[] {1f, 2f}));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        float[] logits = logitsOf(0.15, 0.5, 0.05, 0.3);
        assertDistribution(new double[] {0, 0.625, 0, 0.375}, probabilities(UNFILTERED.withTopP(0.7f), logits));
        assertDistribution(new double[] {0.15 / 0.95, 0.5 / 0.95, 0, 0.3 / 0.95},
                probabilities(UNFILTERED.withTopP(0.85f), logits));
        assertDistribution(new double[] {0, 1, 0, 0}, probabilities(UNFILTERED.withTopP(0.01f), logits));
    }

    @Test
    void topPRenormalizesOverTopKSurvivors() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        assertDistribution(new double[] {4 / 7.0, 3 / 7.0, 0, 0}, probabilities(UNFILTERED.withTopP(0.5f), logits));
        // Within the top 2, token 0 alone holds 0.4 / 0.7 >= 0.5.
        assertDistribution(new double[] {1, 0, 0, 0}, probabilities(UNFILTERED.withTopK(2).withTopP(0.5f), logits));
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        float[] logits = logitsOf(0.15, 0.5, 0.05, 0.3);
        assertDistribution(new double[] {0.15 / 0.95, 0.5 / 0.95, 0, 0.3 / 0.95},
                probabilities(UNFILTERED.withMinP(0.2f), logits));
        assertDistribution(new double[] {0, 0.625, 0, 0.375}, probabilities(UNFILTERED.withMinP(0.5f), logits));
    }

    @Test
    void temperatureScalesLogitsAfterTheFilters() {
        float[] logits = logitsOf(0.5, 0.25, 0.25);
        assertDistribution(new double[] {0.8, 0.2, 0}, probabilities(UNFILTERED.withTemperature(0.5f)
                .withTopP(0.7f), logits)); // top-p judged at temperature 1 keeps tokens 0 and 1
        assertDistribution(softmax(Math.log(0.5) / 2, Math.log(0.25) / 2, Math.log(0.25) / 2),
                probabilities(UNFILTERED.withTemperature(2f), logits));
    }

    @Test
    void maskedTokensAreNeverSampled() {
        float[] logits = {Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY, 0f};
        Sampler sampler = new Sampler(UNFILTERED.withSeed(3), logits.length);
        for (int i = 0; i < 1000; i++) {
            int token = sampler.sample(logits);
            assertTrue(token == 1 || token == 3, "sampled masked token " + token);
        }
    }

    @Test
    void rejectsUnusableLogitsAndTokens() {
        Sampler sampler = new Sampler(UNFILTERED, 2);
        assertEquals("logits must have vocabularySize 2 entries, got 3",
                assertThrows(IllegalArgumentException.class, () -> sampler.sample(new float[3])).getMessage());
        assertEquals("every logit is -Infinity: no token can be sampled",
                assertThrows(IllegalArgumentException.class, () -> sampler.sample(
                        new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY})).getMessage());
        assertEquals("logit of token 1 is NaN", assertThrows(IllegalArgumentException.class,
                () -> sampler.sample(new float[] {0f, Float.NaN})).getMessage());
        assertEquals("logit of token 1 is NaN", assertThrows(IllegalArgumentException.class,
                () -> new Sampler(SamplingParams.greedy(), 2).sample(new float[] {0f, Float.NaN})).getMessage());
        assertEquals("token must be in [0, 2), got 2",
                assertThrows(IllegalArgumentException.class, () -> sampler.accept(2)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Sampler(UNFILTERED, 0));
    }

    @Test
    void sameSeedGivesSameTokensAndOtherSeedsDiffer() {
        SamplingParams params = UNFILTERED.withTopK(50).withTopP(0.9f).withRepetitionPenalty(1.2f).withSeed(1234);
        float[] logits = new float[200];
        for (int token = 0; token < logits.length; token++) {
            logits[token] = (float) Math.sin(token);
        }
        int[] first = generate(new Sampler(params, logits.length), logits, 300);
        assertArrayEquals(first, generate(new Sampler(params, logits.length), logits, 300));
        assertNotEquals(Arrays.toString(first),
                Arrays.toString(generate(new Sampler(params.withSeed(1235), logits.length), logits, 300)));
    }

    private static int[] generate(Sampler sampler, float[] logits, int count) {
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = sampler.sample(logits);
            sampler.accept(tokens[i]);
        }
        return tokens;
    }

    @Test
    void sampleDrawsFromProbabilitiesWithTheSameRandomNumbers() {
        SamplingParams params = UNFILTERED.withTemperature(0.8f).withTopP(0.95f).withMinP(0.01f).withSeed(99);
        float[] logits = new float[1000];
        for (int token = 0; token < logits.length; token++) {
            logits[token] = (float) (3 * Math.cos(token * 0.37));
        }
        Sampler sampling = new Sampler(params, logits.length);
        Sampler drawing = new Sampler(params, logits.length);
        for (int i = 0; i < 500; i++) {
            assertEquals(sampling.sample(logits), drawing.draw(drawing.probabilities(logits)), "step " + i);
        }
    }

    @Test
    void drawAcceptsUnnormalizedWeightsAndRejectsInvalidOnes() {
        Sampler sampler = new Sampler(UNFILTERED, 3);
        for (int i = 0; i < 100; i++) {
            assertEquals(2, sampler.draw(new float[] {0f, 0f, 0.003f}));
        }
        assertThrows(IllegalArgumentException.class, () -> sampler.draw(new float[] {0.5f, -0.1f}));
        assertThrows(IllegalArgumentException.class, () -> sampler.draw(new float[] {Float.POSITIVE_INFINITY}));
        assertEquals("probabilities must not all be 0",
                assertThrows(IllegalArgumentException.class, () -> sampler.draw(new float[2])).getMessage());
    }

    @Test
    void empiricalFrequenciesMatchProbabilities() {
        SamplingParams params = UNFILTERED.withTemperature(0.8f).withTopK(6).withTopP(0.9f).withMinP(0.16f)
                .withSeed(20240601);
        float[] logits = {1.2f, -0.3f, 0.4f, 2.0f, -4f, 0.9f, 0.1f, -1f};
        Sampler sampler = new Sampler(params, logits.length);
        float[] expected = sampler.probabilities(logits);
        int draws = 200_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits)]++;
        }
        double chiSquare = 0;
        int categories = 0;
        for (int token = 0; token < logits.length; token++) {
            if (expected[token] == 0f) {
                assertEquals(0, counts[token], "filtered token " + token + " was sampled");
            } else {
                double mean = draws * (double) expected[token];
                chiSquare += (counts[token] - mean) * (counts[token] - mean) / mean;
                categories++;
            }
        }
        assertEquals(4, categories, "top-k drops 2 tokens, top-p 1 more, min-p 1 more");
        // 16.27 is the 0.999 quantile of chi-square with 3 degrees of freedom.
        assertTrue(chiSquare < 16.27, "chi-square " + chiSquare);
    }

    @Test
    void largeVocabularyFiltersMatchAFullSortReference() {
        var random = new java.util.SplittableRandom(5);
        float[] logits = new float[50_000];
        for (int token = 0; token < logits.length; token++) {
            // Coarse values make ties; a few masked tokens; a peaked head like a real model's.
            logits[token] = random.nextInt(100) == 0 ? Float.NEGATIVE_INFINITY : random.nextInt(-40, 40) / 4f;
        }
        logits[777] = 14f;
        logits[40_001] = 13.5f;
        SamplingParams base = UNFILTERED.withTemperature(0.7f);
        SamplingParams[] cases = {
            base, base.withTopK(40), base.withTopK(1), base.withTopP(0.9f), base.withTopP(0.3f),
            base.withMinP(0.05f), base.withTopK(40).withTopP(0.95f).withMinP(0.05f), base.withTopK(5000).withTopP(0.6f),
            base.withTopP(0.999f).withMinP(0.001f), base.withTopP(0.9999999f),
        };
        float[] untouched = logits.clone();
        ReferenceSampler reference = new ReferenceSampler(logits);
        for (SamplingParams params : cases) {
            assertDistribution(reference.probabilities(params), probabilities(params, logits));
        }
        assertArrayEquals(untouched, logits, "the caller's logits are untouched");
    }
}
