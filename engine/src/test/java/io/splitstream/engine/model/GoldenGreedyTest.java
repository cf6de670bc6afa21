package io.splitstream.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.Json;
import io.splitstream.engine.testing.SharedModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Greedy continuations and last-prompt logits against llama.cpp's reference outputs (../shared/golden), with an
 * F32 KV cache as the reference used.
 */
class GoldenGreedyTest {
    static final ComputePool POOL = new ComputePool(2);

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    /** What one model run gave against the golden file. */
    record Comparison(int matchingTokens, int totalTokens, double[] maxLogitDiff, int[] firstDivergence, double[] marginAtDivergence) {
    }

    static Comparison compare(Path model, String golden) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> g = (Map<String, Object>) Json.read(SharedModels.GOLDEN.resolve(golden));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> prompts = (List<Map<String, Object>>) g.get("prompts");
        int matching = 0;
        int total = 0;
        double[] maxDiff = new double[prompts.size()];
        int[] divergence = new int[prompts.size()];
        double[] margin = new double[prompts.size()];
        try (Model m = Model.load(model)) {
            Transformer t = new Transformer(m, POOL);
            for (int p = 0; p < prompts.size(); p++) {
                Map<String, Object> entry = prompts.get(p);
                int[] promptTokens = ints(entry.get("prompt_tokens"));
                assertArrayEquals(promptTokens, m.tokenizer().encode((String) entry.get("prompt"), true, false),
                        "tokenization of prompt " + p);
                int[] expected = ints(entry.get("generated_tokens"));
                double[] margins = doubles(entry.get("top1_minus_top2_logit"));
                double[] lastLogits = doubles(entry.get("last_prompt_logits"));
                KvCache cache = m.newKvCache(KvPrecision.F32, 128);
                int seq = cache.newSequence();
                float[] logits = t.forward(Batch.chunk(seq, 0, promptTokens, true), cache, LayerListener.NONE)[promptTokens.length - 1];
                for (int i = 0; i < lastLogits.length; i++) {
                    maxDiff[p] = Math.max(maxDiff[p], Math.abs(lastLogits[i] - logits[i]));
                }
                divergence[p] = -1;
                for (int step = 0; step < expected.length; step++) {
                    int token = argmax(logits);
                    total++;
                    if (token == expected[step] && divergence[p] < 0) {
                        matching++;
                    } else if (divergence[p] < 0) {
                        divergence[p] = step;
                        margin[p] = margins[step];
                    }
                    // Continue on the reference path so later steps are still compared like for like.
                    int next = expected[step];
                    logits = t.forward(Batch.chunk(seq, promptTokens.length + step, new int[] {next}, true), cache,
                            LayerListener.NONE)[0];
                }
            }
        }
        return new Comparison(matching, total, maxDiff, divergence, margin);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }

    @Test
    void f32MatchesEveryTokenAndLogit() throws Exception {
        Comparison c = compare(SharedModels.STORIES_F32, "greedy-f32.json");
        assertEquals(c.totalTokens(), c.matchingTokens(), "divergence at " + java.util.Arrays.toString(c.firstDivergence()));
        for (double d : c.maxLogitDiff()) {
            assertTrue(d < 1e-4, "max logit difference " + d);
        }
    }

    @Test
    void q8_0MatchesEveryTokenAndLogit() throws Exception {
        Comparison c = compare(SharedModels.STORIES_Q8_0, "greedy-q8_0-mixed.json");
        assertEquals(c.totalTokens(), c.matchingTokens(), "divergence at " + java.util.Arrays.toString(c.firstDivergence()));
        for (double d : c.maxLogitDiff()) {
            assertTrue(d < 1e-3, "max logit difference " + d);
        }
    }

    /**
     * Q4_0's activation rounding is discontinuous, so llama.cpp's own kernels disagree with its reference at
     * near-ties (golden README). Every departure must be at a near-tie, and most logits must match closely.
     */
    @Test
    void q4_0DepartsOnlyAtNearTies() throws Exception {
        Comparison c = compare(SharedModels.STORIES_Q4_0, "greedy-q4_0-mixed.json");
        int closeLogits = 0;
        for (int p = 0; p < c.maxLogitDiff().length; p++) {
            closeLogits += c.maxLogitDiff()[p] < 1e-3 ? 1 : 0;
            if (c.firstDivergence()[p] >= 0) {
                assertTrue(c.marginAtDivergence()[p] < 0.5, "prompt " + p + " departs at step " + c.firstDivergence()[p]
                        + " where the reference margin is " + c.marginAtDivergence()[p]);
            }
        }
        assertTrue(closeLogits >= 5, "only " + closeLogits + " of 8 prompts' logits within 1e-3: "
                + java.util.Arrays.toString(c.maxLogitDiff()));
        assertTrue(c.matchingTokens() >= 400, c.matchingTokens() + " of " + c.totalTokens());
        System.out.printf("Q4_0-mixed: %d/%d tokens before first departure; departures %s at margins %s; logit diffs %s%n",
                c.matchingTokens(), c.totalTokens(), java.util.Arrays.toString(c.firstDivergence()),
                java.util.Arrays.toString(c.marginAtDivergence()), java.util.Arrays.toString(c.maxLogitDiff()));
    }
}
