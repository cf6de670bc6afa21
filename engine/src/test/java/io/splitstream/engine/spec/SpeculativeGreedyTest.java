package io.splitstream.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.Json;
import io.splitstream.engine.testing.SharedModels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Greedy speculative decoding on stories260K emits exactly plain greedy's tokens for every golden prompt and
 * drafter, and the hybrid drafter gets more than 1.5 tokens per forward.
 */
class SpeculativeGreedyTest {
    static final int TOKENS = 256;
    static ComputePool pool;
    static Model model;
    static Transformer transformer;
    static List<String> prompts;

    @BeforeAll
    static void load() throws Exception {
        pool = new ComputePool(2);
        model = Model.load(SharedModels.STORIES_F32);
        transformer = new Transformer(model, pool);
        prompts = SharedModels.goldenPrompts();
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    enum Kind { RECYCLING, RETRIEVAL, HYBRID }

    static Drafter drafter(Kind kind, TokenRecycler recycler) {
        return switch (kind) {
            case RECYCLING -> new HybridDrafter(recycler, null, HybridDrafter.Options.recyclingOnly());
            case RETRIEVAL -> new HybridDrafter(null, null, HybridDrafter.Options.retrievalOnly());
            case HYBRID -> new HybridDrafter(recycler, null, HybridDrafter.Options.hybrid());
        };
    }

    static Sampler greedy() {
        return new Sampler(SamplingParams.greedy(), model.config().vocabularySize());
    }

    @Test
    void greedySpeculativeEqualsPlainGreedyForEveryPromptAndDrafter() throws Exception {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> golden = (List<Map<String, Object>>) ((Map<String, Object>) Json.read(
                SharedModels.GOLDEN.resolve("greedy-f32.json"))).get("prompts");
        int[][] plain = new int[prompts.size()][];
        double plainSeconds = 0;
        for (int p = 0; p < prompts.size(); p++) {
            int[] prompt = model.tokenizer().encode(prompts.get(p), true, false);
            SpeculativeDecoder.Result r = decoder.generatePlain(prompt, TOKENS, greedy());
            plain[p] = r.tokens();
            plainSeconds += r.stats().decodeSeconds();
            int[] expected = golden.get(p).get("generated_tokens") instanceof List<?> l
                    ? l.stream().mapToInt(o -> ((Number) o).intValue()).toArray() : null;
            assertArrayEquals(expected, java.util.Arrays.copyOf(plain[p], expected.length), "plain vs golden, prompt " + p);
        }
        System.out.printf("plain greedy: %d tokens x %d prompts, %.1f tokens/s%n", TOKENS, prompts.size(),
                TOKENS * prompts.size() / plainSeconds);
        for (Kind kind : Kind.values()) {
            TokenRecycler recycler = new TokenRecycler(model.config().vocabularySize()); // hot across prompts
            long tokens = 0;
            long steps = 0;
            long nodes = 0;
            long accepted = 0;
            double seconds = 0;
            for (int p = 0; p < prompts.size(); p++) {
                int[] prompt = model.tokenizer().encode(prompts.get(p), true, false);
                SpeculativeDecoder.Result r = decoder.generate(prompt, TOKENS, greedy(), drafter(kind, recycler));
                assertArrayEquals(plain[p], r.tokens(), kind + " differs from plain greedy on prompt " + p);
                tokens += r.stats().generatedTokens();
                steps += r.stats().steps();
                nodes += r.stats().draftNodes();
                accepted += r.stats().acceptedDraftTokens();
                seconds += r.stats().decodeSeconds();
            }
            double perStep = (double) tokens / steps;
            System.out.printf("%s: %.2f tokens/step, %.1f nodes/step, acceptance %.3f, %.1f tokens/s (plain %.1f)%n",
                    kind, perStep, (double) nodes / steps, (double) accepted / nodes, tokens / seconds,
                    TOKENS * prompts.size() / plainSeconds);
            if (kind == Kind.HYBRID) {
                assertTrue(perStep > 1.5, "hybrid mean accepted tokens per step " + perStep);
            }
        }
    }
}
