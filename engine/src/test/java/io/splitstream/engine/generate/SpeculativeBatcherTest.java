package io.splitstream.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.generate.ContinuousBatcherTest.Collector;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.DraftTree;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.DrafterFactory;
import io.splitstream.engine.spec.LocalDrafterFactory;
import io.splitstream.engine.spec.Verification;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculationStats;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.SharedModels;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Speculation inside the continuous batcher is lossless: for the golden prompts and 50 more (stories, repetitive
 * text, lists, code-like; {@code spec/prompts-50.txt}), 256 greedy tokens with recycling, retrieval and hybrid
 * drafting — many sequences speculating in one batched forward, mixed with plain sequences and prompt chunks —
 * equal plain greedy through the same batcher, token for token, text, and finish reason.
 */
class SpeculativeBatcherTest {
    static final int TOKENS = 256;
    /** Small trees keep the test quick on 2 cores (tree rows are what costs on this tiny model); still trees. */
    static final int TREE_NODES = 12;
    static final SpeculationMode[] DRAFTING = {SpeculationMode.RECYCLING, SpeculationMode.RETRIEVAL, SpeculationMode.HYBRID};
    static ComputePool pool;
    static Model model;
    static Transformer transformer;
    static List<int[]> prompts;

    @BeforeAll
    static void load() throws Exception {
        pool = new ComputePool(2);
        model = Model.load(SharedModels.STORIES_F32);
        transformer = new Transformer(model, pool);
        List<String> texts = new ArrayList<>(Files.readAllLines(SharedModels.GOLDEN.resolve("prompts.txt")));
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                SpeculativeBatcherTest.class.getResourceAsStream("/spec/prompts-50.txt"), StandardCharsets.UTF_8))) {
            texts.addAll(r.lines().toList());
        }
        prompts = texts.stream().filter(s -> !s.isBlank()).map(s -> model.tokenizer().encode(s, true, false)).toList();
        assertEquals(58, prompts.size());
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    record Submission(int prompt, GenerationRequest request) {
    }

    /** Runs all submissions through one batcher at once and returns their collectors, in order. */
    static List<Collector> run(List<Submission> submissions, int prefillTokensPerStep) throws Exception {
        KvCache cache = model.newKvCache(KvPrecision.F32, submissions.size() * (TOKENS + 160 + Speculation.DEFAULT_TREE_NODES));
        List<Collector> out = new ArrayList<>();
        try (ContinuousBatcher batcher = new ContinuousBatcher(transformer, cache,
                new ContinuousBatcher.Options(prefillTokensPerStep, 128), new LocalDrafterFactory(model.config().vocabularySize()),
                "spec-test")) {
            for (Submission s : submissions) {
                Collector c = new Collector();
                out.add(c);
                batcher.submit(s.request(), c);
            }
            for (Collector c : out) {
                c.done.get(120, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, cache.usedBlocks(), "finished sequences free their blocks");
        return out;
    }

    static GenerationRequest request(int prompt, boolean ignoreEos, List<String> stop, Speculation speculation) {
        return new GenerationRequest(prompts.get(prompt), SamplingParams.greedy(), TOKENS, ignoreEos, stop, speculation);
    }

    static void assertSame(Collector plain, Collector speculative, String what) throws Exception {
        GenerationListener.Finish p = plain.done.get();
        GenerationListener.Finish s = speculative.done.get();
        assertArrayEquals(plain.ids(), speculative.ids(), what);
        assertEquals(plain.text.toString(), speculative.text.toString(), what);
        assertEquals(p.reason(), s.reason(), what);
        assertEquals(p.completionTokens(), s.completionTokens(), what);
    }

    @Test
    void speculativeGreedyEqualsPlainGreedyInMixedBatches() throws Exception {
        // two settings: 256 tokens through end-of-generation (every prompt, each drafter), and stopping at
        // end-of-generation or a stop string (hybrid, 20 prompts: the emission checks, not the drafting, are tested)
        for (boolean ignoreEos : new boolean[] {true, false}) {
            List<String> stop = ignoreEos ? List.of() : List.of("Lily said");
            int count = ignoreEos ? prompts.size() : 20;
            List<Submission> plainRun = new ArrayList<>();
            for (int p = 0; p < count; p++) {
                plainRun.add(new Submission(p, request(p, ignoreEos, stop, Speculation.OFF)));
            }
            long t0 = System.nanoTime();
            List<Collector> plain = run(plainRun, 64);
            double plainSeconds = (System.nanoTime() - t0) / 1e9;
            // every prompt speculates with one drafter; a third of them also runs plainly in the same batch
            SpeculationMode[] modes = ignoreEos ? DRAFTING : new SpeculationMode[] {SpeculationMode.HYBRID};
            for (int round = 0; round < modes.length; round++) {
                List<Submission> mixed = new ArrayList<>();
                for (int p = 0; p < count; p++) {
                    SpeculationMode mode = modes[(p + round) % modes.length];
                    mixed.add(new Submission(p, request(p, ignoreEos, stop, new Speculation(mode, TREE_NODES))));
                    if (p % 3 == round % 3) {
                        mixed.add(new Submission(p, request(p, ignoreEos, stop, Speculation.OFF)));
                    }
                }
                long t1 = System.nanoTime();
                List<Collector> got = run(mixed, 64);
                double seconds = (System.nanoTime() - t1) / 1e9;
                long[] steps = new long[SpeculationMode.values().length];
                long[] emitted = new long[steps.length];
                long[] drafted = new long[steps.length];
                for (int i = 0; i < mixed.size(); i++) {
                    Submission s = mixed.get(i);
                    SpeculationMode mode = s.request().speculation().mode();
                    assertSame(plain.get(s.prompt()), got.get(i), mode + " vs plain, prompt " + s.prompt()
                            + ", ignoreEos " + ignoreEos);
                    SpeculationStats stats = got.get(i).done.get().speculation();
                    assertEquals(mode, stats.mode());
                    steps[mode.ordinal()] += stats.steps();
                    emitted[mode.ordinal()] += stats.emitted();
                    drafted[mode.ordinal()] += stats.drafted();
                    if (mode == SpeculationMode.OFF) {
                        assertEquals(0, stats.drafted());
                    }
                }
                StringBuilder line = new StringBuilder(String.format(java.util.Locale.ROOT,
                        "ignoreEos=%s round %d: %d sequences in %.1f s (all plain: %.1f s)", ignoreEos, round, mixed.size(),
                        seconds, plainSeconds));
                for (SpeculationMode m : SpeculationMode.values()) {
                    if (steps[m.ordinal()] > 0) {
                        line.append(String.format(java.util.Locale.ROOT, "; %s %.2f tokens/step, %.1f nodes/step",
                                m.apiName(), (double) emitted[m.ordinal()] / steps[m.ordinal()],
                                (double) drafted[m.ordinal()] / steps[m.ordinal()]));
                    }
                }
                System.out.println(line);
                for (SpeculationMode m : modes) {
                    assertTrue(emitted[m.ordinal()] > steps[m.ordinal()] * 1.2,
                            m + " accepts drafts: " + emitted[m.ordinal()] + " tokens in " + steps[m.ordinal()] + " steps");
                }
            }
        }
    }

    @Test
    void seededSamplingWithSpeculationEmitsPlainSamplingsTokens() throws Exception {
        SamplingParams sampling = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 0f, 0f, 64, 1234L);
        List<Submission> plainRun = new ArrayList<>();
        List<Submission> specRun = new ArrayList<>();
        for (int p = 0; p < 8; p++) {
            plainRun.add(new Submission(p, new GenerationRequest(prompts.get(p), sampling, 128, true, List.of())));
            specRun.add(new Submission(p, new GenerationRequest(prompts.get(p), sampling, 128, true, List.of(),
                    new Speculation(DRAFTING[p % 3], TREE_NODES))));
        }
        List<Collector> plain = run(plainRun, 64);
        List<Collector> spec = run(specRun, 64);
        for (int p = 0; p < 8; p++) {
            assertSame(plain.get(p), spec.get(p), "sampled, prompt " + p);
        }
    }

    @Test
    void autoDraftsOnlyWhileFewSequencesRun() throws Exception {
        List<Submission> few = Stream.of(0, 1).map(p -> new Submission(p, request(p, true, List.of(),
                Speculation.of(SpeculationMode.AUTO)))).toList();
        for (Collector c : run(few, 64)) {
            SpeculationStats s = c.done.get().speculation();
            assertEquals(SpeculationMode.AUTO, s.mode());
            assertTrue(s.drafted() > s.steps() && s.accepted() > 0, "auto drafts with 2 sequences: " + s);
        }
        // 12 sequences of the same prompt: once they all decode (more than autoMaxRunning = 4), auto drafts
        // nothing. Submissions reach the engine thread asynchronously, so the first few steps may run with fewer
        // sequences and draft; with 2 sequences above every step drafts at least the minimum budget (8 nodes).
        List<Submission> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.add(new Submission(0, request(0, true, List.of(), Speculation.of(SpeculationMode.AUTO))));
        }
        List<Collector> got = run(many, 512);
        for (Collector c : got) {
            SpeculationStats s = c.done.get().speculation();
            assertTrue(s.drafted() < s.steps() / 2, "auto with 12 sequences drafts (almost) nothing: " + s);
            assertEquals(TOKENS - 1, s.steps(), "one decode step per token after the first");
            assertArrayEquals(got.get(0).ids(), c.ids());
        }
    }

    /**
     * A cache with room for the prompt and output but not the tree: the request is still admitted (plain budget)
     * and drafts in whatever room its reservation has left, with plain greedy's output.
     */
    @Test
    void treeIsCutToTheRoomLeftWhenTheCacheHasNoneForIt() throws Exception {
        int[] prompt = prompts.get(0);
        int maxTokens = 96;
        KvCache cache = model.newKvCache(KvPrecision.F32, prompt.length + maxTokens);
        List<Collector> out = new ArrayList<>();
        try (ContinuousBatcher batcher = new ContinuousBatcher(transformer, cache, new ContinuousBatcher.Options(64, 4),
                "spec-test-tight")) {
            for (Speculation s : List.of(Speculation.OFF, Speculation.of(SpeculationMode.HYBRID))) {
                Collector c = new Collector();
                out.add(c);
                batcher.submit(new GenerationRequest(prompt, SamplingParams.greedy(), maxTokens, true, List.of(), s), c);
                c.done.get(60, TimeUnit.SECONDS);
            }
        }
        assertSame(out.get(0), out.get(1), "tight cache");
        SpeculationStats s = out.get(1).done.get().speculation();
        assertEquals(SpeculationMode.HYBRID, s.mode());
        assertTrue(s.drafted() > 0 && s.steps() < maxTokens - 1, s.toString());
        assertEquals(0, cache.usedBlocks());
    }

    /** Each speculating sequence's drafter is ended once when it finishes, also when it is cancelled. */
    @Test
    void everyDrafterIsEndedOnceWhenItsSequenceFinishesOrIsCancelled() throws Exception {
        LocalDrafterFactory local = new LocalDrafterFactory(model.config().vocabularySize());
        java.util.concurrent.atomic.AtomicInteger created = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger ended = new java.util.concurrent.atomic.AtomicInteger();
        DrafterFactory counting = (mode, maxTreeNodes) -> {
            Drafter drafter = local.create(mode, maxTreeNodes);
            created.incrementAndGet();
            return new Drafter() {
                @Override
                public void begin(int[] prompt) {
                    drafter.begin(prompt);
                }

                @Override
                public DraftTree draft(int[] history, int length) {
                    return drafter.draft(history, length);
                }

                @Override
                public void verified(int rootToken, DraftTree tree, float[] rootLogits, float[][] nodeLogits,
                                     Verification verification) {
                    drafter.verified(rootToken, tree, rootLogits, nodeLogits, verification);
                }

                @Override
                public void end() {
                    ended.incrementAndGet();
                }
            };
        };
        KvCache cache = model.newKvCache(KvPrecision.F32, 4 * (TOKENS + 160 + Speculation.DEFAULT_TREE_NODES));
        try (ContinuousBatcher batcher = new ContinuousBatcher(transformer, cache, new ContinuousBatcher.Options(64, 8),
                counting, "spec-test-end")) {
            List<Collector> finishing = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                Collector c = new Collector();
                finishing.add(c);
                batcher.submit(new GenerationRequest(prompts.get(p), SamplingParams.greedy(), 24, true, List.of(),
                        Speculation.of(SpeculationMode.HYBRID)), c);
            }
            CompletableFuture<Void> started = new CompletableFuture<>();
            Collector cancelled = new Collector() {
                @Override
                public void onToken(int token, String piece) {
                    super.onToken(token, piece);
                    if (tokens.size() >= 8) {
                        started.complete(null); // past its first decode steps: its drafter exists
                    }
                }
            };
            ContinuousBatcher.Handle handle = batcher.submit(new GenerationRequest(prompts.get(3), SamplingParams.greedy(), TOKENS, true,
                    List.of(), Speculation.of(SpeculationMode.HYBRID)), cancelled);
            started.get(60, TimeUnit.SECONDS);
            handle.cancel();
            for (Collector c : finishing) {
                c.done.get(60, TimeUnit.SECONDS);
            }
            assertEquals(FinishReason.CANCELLED, cancelled.done.get(60, TimeUnit.SECONDS).reason());
        }
        assertEquals(4, created.get());
        assertEquals(4, ended.get(), "one end per drafter");
    }
}
