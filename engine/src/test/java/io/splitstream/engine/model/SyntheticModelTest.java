package io.splitstream.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.tensor.GgmlType;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synthetic models of both architectures in every weight type load from the files make-model writes, and one
 * batched forward over a prompt equals decoding it token by token (the same code path serves prefill and decode).
 */
class SyntheticModelTest {

    @ParameterizedTest
    @CsvSource({"tiny,F32,false", "tiny,F16,false", "tiny,Q8_0,false", "tiny,Q4_0,false", "qwen2-tiny,F32,false",
            "qwen2-tiny,Q8_0,false", "tiny,Q4_K,true"})
    void batchedPromptEqualsIncrementalDecoding(String preset, GgmlType type, boolean kMix, @TempDir Path dir) throws Exception {
        Path file = dir.resolve(preset + ".gguf");
        SyntheticModel.write(ModelPreset.byId(preset), type, kMix, 5, file);
        try (Model m = Model.load(file); ComputePool pool = new ComputePool(2)) {
            assertEquals(ModelPreset.byId(preset).config().architecture(), m.config().architecture());
            Transformer t = new Transformer(m, pool);
            int[] prompt = m.tokenizer().encode("Hello world, this is a synthetic model test.", true, false);
            KvCache cache = m.newKvCache(KvPrecision.F32, 256);
            int a = cache.newSequence();
            float[] batched = t.forward(Batch.chunk(a, 0, prompt, true), cache, LayerListener.NONE)[prompt.length - 1];
            int b = cache.newSequence();
            float[] incremental = null;
            for (int i = 0; i < prompt.length; i++) {
                incremental = t.forward(Batch.chunk(b, i, new int[] {prompt[i]}, true), cache, LayerListener.NONE)[0];
            }
            // Q8_0/Q4_0 requantize activations per call, identically for one row or many: results stay equal.
            assertArrayEquals(batched, incremental, 1e-4f);
            assertNotEquals(0f, batched[0]);
        }
    }
}
