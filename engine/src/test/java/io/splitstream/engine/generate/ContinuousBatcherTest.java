package io.splitstream.engine.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.Json;
import io.splitstream.engine.testing.SharedModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Many sequences generating together through the batcher give exactly what each gives alone (golden data). */
class ContinuousBatcherTest {

    /** Collects one stream. */
    static class Collector implements GenerationListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<Finish> done = new CompletableFuture<>();

        @Override
        public void onToken(int token, String piece) {
            tokens.add(token);
            text.append(piece);
        }

        @Override
        public void onFinish(Finish finish) {
            text.append(finish.trailingText());
            done.complete(finish);
        }

        int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void eightConcurrentPromptsMatchGolden() throws Exception {
        Map<String, Object> g = (Map<String, Object>) Json.read(SharedModels.GOLDEN.resolve("greedy-f32.json"));
        List<Map<String, Object>> prompts = (List<Map<String, Object>>) g.get("prompts");
        try (Model m = Model.load(SharedModels.STORIES_F32); ComputePool pool = new ComputePool(2)) {
            KvCache cache = m.newKvCache(KvPrecision.F32, 8 * 100);
            // a small prefill budget forces prompts to be chunked across steps and interleaved with decodes
            try (ContinuousBatcher batcher = new ContinuousBatcher(new Transformer(m, pool), cache,
                    new ContinuousBatcher.Options(4, 8), "test-batcher")) {
                List<Collector> collectors = new ArrayList<>();
                for (Map<String, Object> p : prompts) {
                    Collector c = new Collector();
                    collectors.add(c);
                    int[] prompt = m.tokenizer().encode((String) p.get("prompt"), true, false);
                    batcher.submit(new GenerationRequest(prompt, SamplingParams.greedy(), 64, true, List.of()), c);
                }
                for (int i = 0; i < prompts.size(); i++) {
                    GenerationListener.Finish f = collectors.get(i).done.get(60, TimeUnit.SECONDS);
                    assertEquals(FinishReason.LENGTH, f.reason());
                    int[] expected = ((List<?>) prompts.get(i).get("generated_tokens")).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
                    assertArrayEquals(expected, collectors.get(i).ids(), "prompt " + i);
                    assertEquals(prompts.get(i).get("generated_text"), collectors.get(i).text.toString());
                    int promptTokens = m.tokenizer().encode((String) prompts.get(i).get("prompt"), true, false).length;
                    // prompt chunks of at most 4 tokens (the last one also samples the first token), then one per token
                    assertTrue(f.steps() >= (promptTokens + 3) / 4 + 63, "steps " + f.steps());
                }
            }
            assertEquals(0, cache.usedBlocks(), "finished sequences free their blocks");
        }
    }

    @Test
    void stopStringsCancellationAndOversizedPrompts() throws Exception {
        try (Model m = Model.load(SharedModels.STORIES_F32); ComputePool pool = new ComputePool(2)) {
            KvCache cache = m.newKvCache(KvPrecision.F32, 1024);
            try (ContinuousBatcher batcher = new ContinuousBatcher(new Transformer(m, pool), cache,
                    ContinuousBatcher.Options.defaults(), "test-batcher")) {
                int[] prompt = m.tokenizer().encode("Once upon a time", true, false);
                Collector stopped = new Collector();
                batcher.submit(new GenerationRequest(prompt, SamplingParams.greedy(), 64, true, List.of("Lily")), stopped);
                GenerationListener.Finish f = stopped.done.get(30, TimeUnit.SECONDS);
                assertEquals(FinishReason.STOP, f.reason());
                assertEquals(", there was a little girl named ", stopped.text.toString());

                Collector cancelled = new Collector();
                ContinuousBatcher.Handle h = batcher.submit(new GenerationRequest(prompt, SamplingParams.greedy(), 500, true, List.of()), cancelled);
                while (cancelled.tokens.size() < 3) {
                    Thread.sleep(5);
                }
                h.cancel();
                assertEquals(FinishReason.CANCELLED, cancelled.done.get(30, TimeUnit.SECONDS).reason());
                assertTrue(cancelled.tokens.size() < 500);
                assertEquals(0, cache.usedBlocks(), "cancellation frees the blocks");

                int[] huge = new int[m.config().contextLength()];
                java.util.Arrays.fill(huge, 300);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> batcher.submit(
                        new GenerationRequest(huge, SamplingParams.greedy(), 1, true, List.of()), new Collector()));
                assertTrue(e.getMessage().contains("context"), e.getMessage());

                Collector tooBig = new Collector();
                int[] big = java.util.Arrays.copyOf(huge, 1100);
                batcher.submit(new GenerationRequest(big, SamplingParams.greedy(), 10, true, List.of()), tooBig);
                GenerationListener.Finish err = tooBig.done.get(30, TimeUnit.SECONDS);
                assertEquals(FinishReason.ERROR, err.reason());
                assertTrue(err.error().contains("KV cache"), err.error());
            }
        }
    }

    @Test
    void seededSamplingIsReproducible() throws Exception {
        try (Model m = Model.load(SharedModels.STORIES_F32); ComputePool pool = new ComputePool(2)) {
            KvCache cache = m.newKvCache(KvPrecision.F32, 1024);
            try (ContinuousBatcher batcher = new ContinuousBatcher(new Transformer(m, pool), cache,
                    ContinuousBatcher.Options.defaults(), "test-batcher")) {
                int[] prompt = m.tokenizer().encode("The cat sat on the", true, false);
                SamplingParams p = SamplingParams.greedy().withTemperature(0.9f).withTopK(40).withTopP(0.95f).withSeed(7);
                Collector a = new Collector();
                Collector b = new Collector();
                batcher.submit(new GenerationRequest(prompt, p, 40, true, List.of()), a);
                batcher.submit(new GenerationRequest(prompt, p, 40, true, List.of()), b);
                a.done.get(30, TimeUnit.SECONDS);
                b.done.get(30, TimeUnit.SECONDS);
                assertArrayEquals(a.ids(), b.ids());
            }
        }
    }
}
