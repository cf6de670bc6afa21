package io.splitstream.engine.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Picks the next tokens of one sequence, in llama.cpp's sampler order: penalties over the recently
 * {@linkplain #accept accepted} tokens, top-k, top-p, min-p, temperature, then one seeded random draw.
 * Temperature 0 takes the argmax of the penalized logits instead, ties going to the lowest id.
 *
 * <p>Filters rank tokens by logit, ties to the lowest id, so a top-k boundary tie is deterministic. The
 * caller's logits are read, never modified; a logit of negative infinity masks its token, NaN is rejected.
 *
 * <p>For lossless speculative verification, {@link #probabilities} is exactly the distribution that
 * {@link #sample} draws from, and for a non-zero temperature {@code sample(logits)} returns the same token
 * as {@code draw(probabilities(logits))} from the same random state. Equal seeds give equal tokens.
 *
 * <p>Holds per-sequence state (penalty window, random generator, reused buffers of at most 20 bytes per
 * vocabulary entry, none for greedy without penalties), so it is not thread-safe: create one per sequence.
 */
public final class Sampler {

    /** Top-p's histogram resolution; it spans 32 logits below the top, past which tokens weigh under 1e-13. */
    private static final int DEPTH_BUCKETS_PER_LOGIT = 4;
    private static final int DEPTH_BUCKETS = 32 * DEPTH_BUCKETS_PER_LOGIT + 1;

    private final SamplingParams params;
    private final int vocabularySize;
    private final RandomGenerator random;
    /** Null when the params make every penalty a no-op. */
    private final PenaltyWindow penalties;
    /** Candidates best first, as {@link RankedTokens} keys; null when no filter needs a ranking. */
    private final long[] ranked;
    // The surviving distribution in token order, rebuilt each step into reused arrays so nothing is allocated.
    private final int[] keptTokens;
    private final float[] keptProbabilities;
    private int keptCount;
    /** Top-p's mass by depth below the top logit, the last bucket gathering the rest; null unless top-p ranks. */
    private final double[] massByDepth;

    /** @throws IllegalArgumentException if the params are out of range or the vocabulary is empty */
    public Sampler(SamplingParams params, int vocabularySize) {
        this.params = params.validate();
        if (vocabularySize <= 0) {
            throw new IllegalArgumentException("vocabularySize must be > 0, got " + vocabularySize);
        }
        this.vocabularySize = vocabularySize;
        this.random = new SplittableRandom(params.seed());
        this.penalties = params.hasPenalties() ? new PenaltyWindow(params, vocabularySize) : null;
        boolean draws = !params.isGreedy();
        boolean filters = params.topK() > 0 || params.topP() < 1f || params.minP() > 0f;
        // Top-k alone never keeps more than k tokens; the other filters may keep the whole vocabulary.
        int capacity = params.topK() > 0 ? Math.min(params.topK(), vocabularySize) : vocabularySize;
        this.ranked = draws && filters ? new long[capacity] : null;
        this.keptTokens = new int[draws ? capacity : 0];
        this.keptProbabilities = new float[draws ? capacity : 0];
        this.massByDepth = draws && params.topK() == 0 && params.topP() < 1f ? new double[DEPTH_BUCKETS] : null;
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Records a token of the sequence for the penalties; call it for each sampled token that is kept, and
     * for prompt tokens too if the prompt should count, as llama-server does.
     */
    public void accept(int token) {
        if (token < 0 || token >= vocabularySize) {
            throw new IllegalArgumentException("token must be in [0, " + vocabularySize + "), got " + token);
        }
        if (penalties != null) {
            penalties.accept(token);
        }
    }

    /**
     * Picks the next token. Greedy sampling allocates nothing and consumes no random number; otherwise
     * exactly one random number is consumed. Does not {@link #accept} the token.
     */
    public int sample(float[] logits) {
        checkLength(logits);
        if (params.isGreedy()) {
            return argmax(logits);
        }
        keepCandidates(logits);
        return keptTokens[drawIndex(keptProbabilities, keptCount)];
    }

    /**
     * The distribution {@link #sample} draws from after every transform, indexed by token: one-hot on the
     * argmax when greedy. Returns a new array; the random state is untouched.
     */
    public float[] probabilities(float[] logits) {
        checkLength(logits);
        float[] probabilities = new float[vocabularySize];
        if (params.isGreedy()) {
            probabilities[argmax(logits)] = 1f;
            return probabilities;
        }
        keepCandidates(logits);
        for (int i = 0; i < keptCount; i++) {
            probabilities[keptTokens[i]] = keptProbabilities[i];
        }
        return probabilities;
    }

    /**
     * Draws an index with probability proportional to its weight, consuming exactly one random number from
     * this sequence's generator. Weights need not sum to 1, so a speculative-decoding residual
     * {@code max(0, p - q)} can be passed as is.
     *
     * @throws IllegalArgumentException if a weight is negative or not finite, or all are 0; nothing is drawn then
     */
    public int draw(float[] probabilities) {
        return drawIndex(probabilities, probabilities.length);
    }

    private int drawIndex(float[] weights, int count) {
        double total = 0;
        for (int i = 0; i < count; i++) {
            if (!(weights[i] >= 0f && weights[i] <= Float.MAX_VALUE)) {
                throw new IllegalArgumentException(
                        "probabilities must be finite and >= 0, got " + weights[i] + " at index " + i);
            }
            total += weights[i];
        }
        if (total == 0) {
            throw new IllegalArgumentException("probabilities must not all be 0");
        }
        double target = random.nextDouble() * total;
        double cumulative = 0;
        int lastPositive = -1;
        for (int i = 0; i < count; i++) {
            // Skipping zeros keeps the running sums, hence the pick, equal on sparse and dense arrays.
            if (weights[i] > 0f) {
                cumulative += weights[i];
                if (target < cumulative) {
                    return i;
                }
                lastPositive = i;
            }
        }
        return lastPositive; // rounding can leave the target just at the top of the last interval
    }

    private int argmax(float[] logits) {
        int best = -1;
        float bestLogit = Float.NEGATIVE_INFINITY;
        for (int token = 0; token < vocabularySize; token++) {
            float logit = penalizedLogit(logits, token);
            // Strictly greater keeps the lowest id among ties, as llama.cpp's greedy sampler does.
            if (logit > bestLogit) {
                bestLogit = logit;
                best = token;
            } else if (Float.isNaN(logit)) {
                throw nanLogit(token);
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("every logit is -Infinity: no token can be sampled");
        }
        return best;
    }

    /** Leaves the tokens surviving every filter in token order, with their final probabilities. */
    private void keepCandidates(float[] logits) {
        float maxLogit = maxLogit(logits);
        if (ranked == null) {
            keptCount = 0;
            for (int token = 0; token < vocabularySize; token++) {
                if (penalizedLogit(logits, token) > Float.NEGATIVE_INFINITY) {
                    keptTokens[keptCount++] = token;
                }
            }
        } else {
            keptCount = rankSurvivors(logits, maxLogit);
            for (int i = 0; i < keptCount; i++) {
                keptTokens[i] = RankedTokens.token(ranked[i]);
            }
            // Token order is what makes sample() and draw(probabilities()) agree on each random number.
            Arrays.sort(keptTokens, 0, keptCount);
        }
        applyTemperature(logits, maxLogit);
    }

    /** Ranks candidates best first and returns how many of them survive top-k, top-p and min-p. */
    private int rankSurvivors(float[] logits, float maxLogit) {
        // Min-p compares with the top token, which every filter keeps, so it can cut the ranking early.
        float minPFloor = params.minP() > 0f
                ? maxLogit + (float) Math.log(params.minP())
                : Float.NEGATIVE_INFINITY;
        int ranks;
        double normalizer;
        int survivors;
        if (params.topK() > 0) {
            ranks = rankTopK(logits);
            normalizer = massOfRanked(ranks, maxLogit); // top-p renormalizes over top-k's survivors
            survivors = topPCount(ranks, maxLogit, normalizer);
        } else {
            normalizer = params.topP() < 1f ? histogramMass(logits, maxLogit) : 1;
            float floor = params.topP() < 1f ? Math.max(minPFloor, topPFloor(maxLogit, normalizer)) : minPFloor;
            ranks = rankAbove(logits, floor);
            survivors = topPCount(ranks, maxLogit, normalizer);
            if (survivors < 0 && floor > minPFloor) {
                ranks = rankAbove(logits, minPFloor); // the estimated cut-off fell short: rank everything
                survivors = topPCount(ranks, maxLogit, normalizer);
            }
        }
        if (survivors < 0) {
            survivors = ranks;
        }
        while (survivors > 1 && RankedTokens.logit(ranked[survivors - 1]) < minPFloor) {
            survivors--;
        }
        return survivors;
    }

    private int rankTopK(float[] logits) {
        int size = 0;
        for (int token = 0; token < vocabularySize; token++) {
            float logit = penalizedLogit(logits, token);
            if (logit > Float.NEGATIVE_INFINITY) {
                size = RankedTokens.offer(ranked, size, ranked.length, RankedTokens.pack(logit, token));
            }
        }
        RankedTokens.rank(ranked, size);
        return size;
    }

    private int rankAbove(float[] logits, float floor) {
        int size = 0;
        for (int token = 0; token < vocabularySize; token++) {
            float logit = penalizedLogit(logits, token);
            if (logit >= floor && logit > Float.NEGATIVE_INFINITY) {
                ranked[size++] = RankedTokens.pack(logit, token);
            }
        }
        RankedTokens.rank(ranked, size);
        return size;
    }

    /**
     * Histograms the temperature-1 softmax mass by distance below the top logit, as llama.cpp's bucket sort
     * does, and returns the total mass. The histogram bounds how deep top-p can reach, so only the tokens
     * it may keep get sorted instead of the whole vocabulary.
     */
    private double histogramMass(float[] logits, float maxLogit) {
        Arrays.fill(massByDepth, 0);
        double total = 0;
        for (int token = 0; token < vocabularySize; token++) {
            float depth = maxLogit - penalizedLogit(logits, token);
            if (depth < Float.POSITIVE_INFINITY) {
                double mass = Math.exp(-depth);
                massByDepth[(int) Math.min(depth * DEPTH_BUCKETS_PER_LOGIT, massByDepth.length - 1)] += mass;
                total += mass;
            }
        }
        return total;
    }

    /** The shallowest bucket boundary above which the tokens hold top-p of the mass; -Infinity if none. */
    private float topPFloor(float maxLogit, double normalizer) {
        // The margin absorbs summation-order rounding; rankSurvivors falls back if it falls short anyway.
        double needed = params.topP() * normalizer * (1 + 1e-6);
        double mass = 0;
        for (int bucket = 0; bucket < massByDepth.length - 1; bucket++) {
            mass += massByDepth[bucket];
            if (mass >= needed) {
                return maxLogit - (bucket + 1f) / DEPTH_BUCKETS_PER_LOGIT;
            }
        }
        return Float.NEGATIVE_INFINITY;
    }

    /** How many ranked tokens top-p keeps, or -1 when all of them hold less than top-p of the mass. */
    private int topPCount(int ranks, float maxLogit, double normalizer) {
        if (params.topP() >= 1f) {
            return ranks;
        }
        double cumulative = 0;
        for (int i = 0; i < ranks; i++) {
            cumulative += Math.exp(RankedTokens.logit(ranked[i]) - maxLogit) / normalizer;
            if (cumulative >= params.topP()) {
                return i + 1;
            }
        }
        return -1;
    }

    private double massOfRanked(int ranks, float maxLogit) {
        double mass = 0;
        for (int i = 0; i < ranks; i++) {
            mass += Math.exp(RankedTokens.logit(ranked[i]) - maxLogit);
        }
        return mass;
    }

    private void applyTemperature(float[] logits, float maxLogit) {
        double sum = 0;
        for (int i = 0; i < keptCount; i++) {
            float weight = (float) Math.exp(
                    (penalizedLogit(logits, keptTokens[i]) - maxLogit) / params.temperature());
            keptProbabilities[i] = weight;
            sum += weight;
        }
        for (int i = 0; i < keptCount; i++) {
            keptProbabilities[i] = (float) (keptProbabilities[i] / sum);
        }
    }

    private float maxLogit(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (int token = 0; token < vocabularySize; token++) {
            float logit = penalizedLogit(logits, token);
            if (Float.isNaN(logit)) {
                throw nanLogit(token);
            }
            max = Math.max(max, logit);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("every logit is -Infinity: no token can be sampled");
        }
        if (max == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("logits must be finite or -Infinity, got +Infinity");
        }
        return max;
    }

    private float penalizedLogit(float[] logits, int token) {
        return penalties == null ? logits[token] : penalties.apply(logits[token], token);
    }

    private void checkLength(float[] logits) {
        if (logits.length != vocabularySize) {
            throw new IllegalArgumentException(
                    "logits must have vocabularySize " + vocabularySize + " entries, got " + logits.length);
        }
    }

    private static IllegalArgumentException nanLogit(int token) {
        return new IllegalArgumentException("logit of token " + token + " is NaN");
    }
}
