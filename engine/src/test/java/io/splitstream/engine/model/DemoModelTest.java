package io.splitstream.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.cli.Main;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model that ships with Splitstream (models/splitstream-demo.gguf, trained by tools/demo-model): it loads, its
 * byte-level BPE tokenizer round-trips any text, it reproduces the model card's perplexity, and its quantized
 * variants stay close.
 */
class DemoModelTest {
    static final Path MODEL = Path.of("models/splitstream-demo.gguf");
    static final Path HELDOUT = Path.of("models/splitstream-demo-heldout.txt");
    static Model model;
    static ComputePool pool;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(MODEL);
        pool = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    @Test
    void isASmallLlamaWithAByteLevelBpeTokenizer() {
        ModelConfig c = model.config();
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(3072, c.vocabularySize());
        assertEquals(8, c.heads());
        assertEquals(4, c.kvHeads());
        assertEquals("gpt2", model.tokenizer().vocabulary().model());
        assertTrue(model.chatTemplate().orElseThrow().contains("<|im_start|>"));
    }

    @Test
    void tokenizerRoundTripsArbitraryUtf8() {
        Tokenizer t = model.tokenizer();
        List<String> texts = new ArrayList<>(List.of("And it came to pass", "Zürich 東京 مرحبا 🙂👍🏽 \t\n  x",
                "e\u0301 combining, \u0000 nul and \u007f", "1234567890 <|im_start|> literal"));
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 200; i++) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < 40; j++) {
                int cp = r.nextInt(5) == 0 ? r.nextInt(0x1F000, 0x1FAFF) : r.nextInt(1, 0xD7FF);
                sb.appendCodePoint(cp);
            }
            texts.add(sb.toString());
        }
        for (String text : texts) {
            assertEquals(text, t.decode(t.encode(text, false, false)), "round trip of " + text);
        }
    }

    @Test
    void greedyTextMatchesTheTrainingRecipesPyTorchSample() {
        // tools/demo-model/README.md: PyTorch's greedy continuation of this prompt on the same weights.
        KvCache cache = model.newKvCache(KvPrecision.F32, 128);
        int seq = cache.newSequence();
        Transformer t = new Transformer(model, pool);
        int[] prompt = model.tokenizer().encode("And it came to pass", true, false);
        float[] logits = t.forward(Batch.chunk(seq, 0, prompt, true), cache, LayerListener.NONE)[prompt.length - 1];
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < 14; i++) {
            int next = GoldenGreedyTest.argmax(logits);
            out.add(next);
            logits = t.forward(Batch.chunk(seq, prompt.length + i, new int[] {next}, true), cache, LayerListener.NONE)[0];
        }
        String text = model.tokenizer().decode(out.stream().mapToInt(Integer::intValue).toArray());
        assertTrue(text.startsWith(", and said, I have not done, and I will not be"), text);
    }

    static double perplexity(Model m, int maxBytes) throws Exception {
        byte[] bytes = Files.readAllBytes(HELDOUT);
        String text = new String(bytes, 0, Math.min(maxBytes, bytes.length), StandardCharsets.UTF_8);
        int[] tokens = m.tokenizer().encode(text, true, false);
        return Perplexity.compute(new Transformer(m, pool), tokens, 256, KvPrecision.F32).perplexity();
    }

    /**
     * The model card's figure: 108.97 on the whole held-out slice (context 256, llama-perplexity's method). Training
     * ended at validation loss 4.718 nats (PyTorch, every token scored: perplexity 112); a model that lost its
     * training would be far above 130.
     */
    @Test
    void heldOutPerplexityReproducesTheModelCard() throws Exception {
        double ppl = perplexity(model, Integer.MAX_VALUE);
        assertEquals(108.97, ppl, 0.05);
        assertTrue(ppl < 130);
    }

    /** Q8_0 and Q4_0 written by `splitstream quantize` stay within +1% and +5% perplexity of F16. */
    @Test
    void quantizedVariantsStayClose(@TempDir Path dir) throws Exception {
        double f16 = perplexity(model, 24_000);
        for (String type : List.of("Q8_0", "Q4_0")) {
            Path out = dir.resolve("demo-" + type + ".gguf");
            assertEquals(0, Main.run(new String[] {"quantize", "--model", MODEL.toString(), "--out", out.toString(), "--type", type}));
            try (Model q = Model.load(out)) {
                double ppl = perplexity(q, 24_000);
                System.out.printf("demo model perplexity (first 24 KB of held-out, ctx 256): F16 %.3f, %s %.3f (%+.2f%%)%n",
                        f16, type, ppl, 100 * (ppl / f16 - 1));
                assertTrue(ppl / f16 - 1 < (type.equals("Q8_0") ? 0.01 : 0.05), type + " perplexity " + ppl + " vs " + f16);
            }
        }
    }
}
