package io.splitstream.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.SharedModels;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Speculative sampling is lossless: the joint distribution of the first two sampled tokens matches plain
 * sampling's (two-sample chi-square, fixed seeds, temperature 1), while a deliberately biased acceptance rule
 * fails the same test. Seeded speculative sampling also reproduces plain sampling token for token.
 */
class SpeculativeSamplingTest {
    static final int TRIALS = 2000;
    static final int TOKENS = 2;
    /** z of the Wilson-Hilferty normal approximation; 3.09 ≈ p 0.001 one-sided. */
    static final double Z_LIMIT = 3.09;

    static ComputePool pool;
    static Model model;
    static Transformer transformer;
    static int[] prompt;
    static TokenRecycler warm;

    @BeforeAll
    static void load() throws Exception {
        pool = new ComputePool(2);
        model = Model.load(SharedModels.STORIES_F32);
        transformer = new Transformer(model, pool);
        // BOS alone: the first tokens of a story vary a lot, so many categories are populated.
        prompt = new int[] {1};
        // A hot table, so drafts are often right and acceptance matters to the outcome.
        warm = new TokenRecycler(model.config().vocabularySize());
        SpeculativeDecoder d = new SpeculativeDecoder(transformer);
        for (String p : new String[] {"Once upon a time", "The cat sat on the", "One day, a little girl named Lily"}) {
            d.generate(model.tokenizer().encode(p, true, false), 128, sampler(0f, 1),
                    new HybridDrafter(warm, null, HybridDrafter.Options.recyclingOnly()));
        }
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    static Sampler sampler(float temperature, long seed) {
        return new Sampler(new SamplingParams(temperature, 0, 1f, 0f, 1f, 0f, 0f, 64, seed), model.config().vocabularySize());
    }

    static Drafter drafter() {
        return new HybridDrafter(warm, null, HybridDrafter.Options.hybrid().withBudget(8, 8));
    }

    /** Counts of the first TOKENS tokens, joined, over TRIALS seeds starting at {@code seedBase}. */
    static Map<Long, Integer> speculativeCounts(Verifier verifier, long seedBase) {
        SpeculativeDecoder d = new SpeculativeDecoder(transformer, SpeculativeDecoder.Options.defaults(), verifier);
        Map<Long, Integer> counts = new HashMap<>();
        for (int i = 0; i < TRIALS; i++) {
            int[] out = d.generate(prompt, TOKENS, sampler(1f, seedBase + i), drafter()).tokens();
            counts.merge(key(out), 1, Integer::sum);
        }
        return counts;
    }

    private static Map<Long, Integer> plainCounts;

    static synchronized Map<Long, Integer> plainCounts(long seedBase) {
        if (plainCounts == null) {
            plainCounts = countPlain(seedBase);
        }
        return plainCounts;
    }

    static Map<Long, Integer> countPlain(long seedBase) {
        SpeculativeDecoder d = new SpeculativeDecoder(transformer);
        Map<Long, Integer> counts = new HashMap<>();
        for (int i = 0; i < TRIALS; i++) {
            counts.merge(key(d.generatePlain(prompt, TOKENS, sampler(1f, seedBase + i)).tokens()), 1, Integer::sum);
        }
        return counts;
    }

    static long key(int[] tokens) {
        long k = 0;
        for (int t : tokens) {
            k = k * 100_003 + t;
        }
        return k;
    }

    /**
     * Two-sample chi-square of homogeneity over categories with at least 10 observations in both samples
     * together, the rest pooled into one; returned as a Wilson-Hilferty z score.
     */
    static double chiSquareZ(Map<Long, Integer> a, Map<Long, Integer> b) {
        Map<Long, int[]> bins = new HashMap<>();
        a.forEach((k, n) -> bins.computeIfAbsent(k, x -> new int[2])[0] += n);
        b.forEach((k, n) -> bins.computeIfAbsent(k, x -> new int[2])[1] += n);
        int[] rest = new int[2];
        double chi = 0;
        int categories = 0;
        double na = a.values().stream().mapToInt(Integer::intValue).sum();
        double nb = b.values().stream().mapToInt(Integer::intValue).sum();
        java.util.List<int[]> kept = new java.util.ArrayList<>();
        for (int[] c : bins.values()) {
            if (c[0] + c[1] >= 10) {
                kept.add(c);
            } else {
                rest[0] += c[0];
                rest[1] += c[1];
            }
        }
        if (rest[0] + rest[1] > 0) {
            kept.add(rest);
        }
        for (int[] c : kept) {
            double total = c[0] + c[1];
            double ea = total * na / (na + nb);
            double eb = total * nb / (na + nb);
            chi += (c[0] - ea) * (c[0] - ea) / ea + (c[1] - eb) * (c[1] - eb) / eb;
            categories++;
        }
        int df = categories - 1;
        double z = (Math.cbrt(chi / df) - (1 - 2.0 / (9 * df))) / Math.sqrt(2.0 / (9 * df));
        System.out.printf("chi-square %.1f over %d categories (df %d): z %.2f%n", chi, categories, df, z);
        return z;
    }

    @Test
    void speculativeSamplingMatchesPlainSamplingInDistribution() {
        double z = chiSquareZ(speculativeCounts(new TreeVerifier(), 1_000_000), plainCounts(2_000_000));
        assertTrue(z < Z_LIMIT, "speculative sampling departs from plain sampling: z = " + z);
    }

    /**
     * Accepting a drafted child a little too eagerly (here: when the target's draw rejects the drafts, the first
     * child is still taken with probability 1/2) must be caught by the same test.
     */
    @Test
    void theTestCatchesABiasedAcceptanceRule() {
        Verifier biased = (tree, rootLogits, nodeLogits, sampler) -> {
            int[] path = new int[tree.maxDepth()];
            int[] emitted = new int[tree.maxDepth() + 1];
            int n = 0;
            int node = -1;
            float[] logits = rootLogits;
            java.util.SplittableRandom coin = new java.util.SplittableRandom(tree.size() * 31L + n);
            while (true) {
                int y = sampler.draw(sampler.probabilities(logits));
                int next = tree.child(node, y);
                if (next < 0) {
                    int first = tree.child(node, firstChildToken(tree, node));
                    if (first >= 0 && coin.nextBoolean()) {
                        next = first;
                        y = tree.token(first);
                    }
                }
                sampler.accept(y);
                emitted[n] = y;
                if (next < 0) {
                    break;
                }
                path[n++] = next;
                node = next;
                logits = nodeLogits[next];
            }
            return new Verification(java.util.Arrays.copyOf(path, n), java.util.Arrays.copyOf(emitted, n + 1));
        };
        double z = chiSquareZ(speculativeCounts(biased, 1_000_000), plainCounts(2_000_000));
        assertTrue(z > Z_LIMIT, "the biased rule went unnoticed: z = " + z);
    }

    static int firstChildToken(DraftTree tree, int node) {
        for (int i = 0; i < tree.size(); i++) {
            if (tree.parent(i) == node) {
                return tree.token(i);
            }
        }
        return -1;
    }

    @Test
    void seededSpeculativeSamplingReproducesPlainSampling() {
        SpeculativeDecoder d = new SpeculativeDecoder(transformer);
        for (long seed = 1; seed <= 5; seed++) {
            int[] plain = d.generatePlain(prompt, 64, sampler(1f, seed)).tokens();
            int[] spec = d.generate(prompt, 64, sampler(1f, seed), drafter()).tokens();
            assertArrayEquals(plain, spec, "seed " + seed);
        }
    }
}
