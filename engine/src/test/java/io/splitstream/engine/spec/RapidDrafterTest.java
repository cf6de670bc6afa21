package io.splitstream.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.SharedModels;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RAPID drafting on stories260K (drafter = the same GGUF): greedy output equals plain greedy for the golden prompts
 * and for long prompts the drafter sees only partly; and a printed (not asserted) comparison with Token Recycling
 * and plain decoding at prompt lengths 128 / 256 / 400.
 */
class RapidDrafterTest {
    static ComputePool pool;
    static Model model;
    static Transformer transformer;
    static List<String> prompts;
    static int[] longText;

    @BeforeAll
    static void load() throws Exception {
        pool = new ComputePool(2);
        model = Model.load(SharedModels.STORIES_F32);
        transformer = new Transformer(model, pool);
        prompts = SharedModels.goldenPrompts();
        // Long prompts: the perplexity text (stories, ~500 tokens), repeated if needed.
        int[] story = model.tokenizer().encode(Files.readString(SharedModels.GOLDEN.resolve("ppl-text.txt")), true, false);
        longText = new int[512];
        for (int i = 0; i < longText.length; i++) {
            longText[i] = story[i % story.length];
        }
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    static Sampler greedy() {
        return new Sampler(SamplingParams.greedy(), model.config().vocabularySize());
    }

    @Test
    void greedyRapidEqualsPlainGreedyOnGoldenPrompts() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        for (String text : prompts) {
            int[] prompt = model.tokenizer().encode(text, true, false);
            int[] plain = decoder.generatePlain(prompt, 256, greedy()).tokens();
            SpeculativeDecoder.Result rapid = decoder.generate(prompt, 256, greedy(),
                    new RapidDrafter(transformer, RapidDrafter.Options.defaults()));
            assertArrayEquals(plain, rapid.tokens(), "RAPID differs from plain greedy on '" + text + "'");
            // Short prompts: the drafter reads the whole context, so it is the target itself and always right.
            assertTrue(rapid.stats().meanAcceptedTokensPerStep() > 4, rapid.stats().toString());
        }
    }

    @Test
    void greedyRapidEqualsPlainGreedyOnLongPromptsTheDrafterSeesInPart() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        for (int length : new int[] {256, 400}) {
            int[] prompt = Arrays.copyOf(longText, length);
            int[] plain = decoder.generatePlain(prompt, 96, greedy()).tokens();
            RapidDrafter drafter = new RapidDrafter(transformer, RapidDrafter.Options.defaults());
            SpeculativeDecoder.Result rapid = decoder.generate(prompt, 96, greedy(), drafter);
            assertArrayEquals(plain, rapid.tokens(), "RAPID differs from plain greedy at prompt length " + length);
            assertEquals(2, drafter.selectedChunks().length, "128 retrieved tokens are two 64-token chunks");
            assertTrue(drafter.drafterContextTokens() < length + 96 - 64, "the drafter reads less than the target: "
                    + drafter.drafterContextTokens());
        }
    }

    @Test
    void rankingAgainEveryFewTokensRebuildsTheDrafterAndStaysLossless() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        int[] prompt = Arrays.copyOf(longText, 400);
        RapidDrafter.Options often = new RapidDrafter.Options(32, 96, 64, 16, 4, 4);
        RapidDrafter drafter = new RapidDrafter(transformer, often);
        SpeculativeDecoder.Result rapid = decoder.generate(prompt, 96, greedy(), drafter);
        assertArrayEquals(decoder.generatePlain(prompt, 96, greedy()).tokens(), rapid.tokens());
        assertTrue(rapid.stats().meanAcceptedTokensPerStep() > 2, rapid.stats().toString());
    }

    /** TreeVerifier's rule (draw from the target, descend while a child carries the draw) with RAPID's chains. */
    @Test
    void seededSamplingWithRapidDraftsReproducesPlainSampling() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        int[] prompt = Arrays.copyOf(longText, 256);
        for (long seed = 1; seed <= 3; seed++) {
            SamplingParams params = new SamplingParams(0.8f, 40, 0.95f, 0f, 1f, 0f, 0f, 64, seed);
            int[] plain = decoder.generatePlain(prompt, 64, new Sampler(params, 512)).tokens();
            int[] rapid = decoder.generate(prompt, 64, new Sampler(params, 512),
                    new RapidDrafter(transformer, RapidDrafter.Options.defaults())).tokens();
            assertArrayEquals(plain, rapid, "seed " + seed);
        }
    }

    @Test
    void bm25RanksChunksSharingTheQuerysRareTokensFirstAndKeepsDocumentOrder() {
        int[] text = {1, 1, 1, 1, /* */ 2, 9, 2, 2, /* */ 1, 1, 7, 1, /* */ 3, 3, 3, 9};
        Bm25ChunkRanker ranker = new Bm25ChunkRanker(text, text.length, 4);
        assertEquals(4, ranker.chunks());
        assertTrue(ranker.score(2, new int[] {7}) > 0);
        assertEquals(0, ranker.score(0, new int[] {7}));
        assertArrayEquals(new int[] {2}, ranker.select(new int[] {7, 1}, 4), "the rare 7 outweighs the common 1");
        assertArrayEquals(new int[] {1, 3}, ranker.select(new int[] {9}, 8), "both 9 chunks, in document order");
        assertArrayEquals(new int[0], ranker.select(new int[] {9}, 3), "no chunk fits 3 tokens");
    }

    @Test
    void retrievedDocumentsAreRankedWithThePromptAndStayLossless() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        int[] prompt = Arrays.copyOfRange(longText, 300, 380);
        RapidDrafter drafter = new RapidDrafter(transformer, RapidDrafter.Options.defaults());
        drafter.addDocument(Arrays.copyOf(longText, 300));
        SpeculativeDecoder.Result rapid = decoder.generate(prompt, 64, greedy(), drafter);
        assertArrayEquals(decoder.generatePlain(prompt, 64, greedy()).tokens(), rapid.tokens());
        assertEquals(2, drafter.selectedChunks().length, "two 64-token chunks of the document fit 128 tokens");
    }

    /** Prints, does not assert: figures depend on the machine and its load. */
    @Test
    void compareRapidWithTokenRecyclingAndPlain() {
        SpeculativeDecoder decoder = new SpeculativeDecoder(transformer);
        int generate = 96;
        TokenRecycler recycler = new TokenRecycler(model.config().vocabularySize());
        for (int length : new int[] {128, 256, 400}) {
            int[] prompt = Arrays.copyOf(longText, length);
            decoder.generate(prompt, generate, greedy(),
                    new HybridDrafter(recycler, null, HybridDrafter.Options.recyclingOnly())); // warm the table
            SpeculativeDecoder.Stats plain = decoder.generatePlain(prompt, generate, greedy()).stats();
            SpeculativeDecoder.Stats recycling = decoder.generate(prompt, generate, greedy(),
                    new HybridDrafter(recycler, null, HybridDrafter.Options.recyclingOnly())).stats();
            SpeculativeDecoder.Stats rapid = decoder.generate(prompt, generate, greedy(),
                    new RapidDrafter(transformer, RapidDrafter.Options.defaults())).stats();
            System.out.printf("prompt %d, %d tokens: plain %.1f tok/s | recycling %.2f tok/step %.1f tok/s | "
                            + "RAPID %.2f tok/step %.1f tok/s%n", length, generate, plain.tokensPerSecond(),
                    recycling.meanAcceptedTokensPerStep(), recycling.tokensPerSecond(),
                    rapid.meanAcceptedTokensPerStep(), rapid.tokensPerSecond());
        }
    }
}
