package io.splitstream.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VocabularyTest {

    /** GGUF metadata as the reader hands it over: integers as Long, floats as Double, arrays as List. */
    private static Map<String, Object> metadata(String model, Object... keysAndValues) {
        Map<String, Object> metadata = new HashMap<>();
        metadata.put("tokenizer.ggml.model", model);
        metadata.put("tokenizer.ggml.tokens", List.<Object>of("<unk>", "<s>", "</s>", "▁a", "b"));
        for (int i = 0; i < keysAndValues.length; i += 2) {
            metadata.put("tokenizer.ggml." + keysAndValues[i], keysAndValues[i + 1]);
        }
        return metadata;
    }

    @Test
    void sentencePieceDefaultsAreLlamaCpps() {
        Vocabulary vocabulary = Vocabulary.fromMetadata(metadata("llama"));
        assertEquals(1, vocabulary.bosId());
        assertEquals(2, vocabulary.eosId());
        assertEquals(0, vocabulary.unknownId());
        assertEquals(-1, vocabulary.paddingId());
        assertTrue(vocabulary.addBos());
        assertFalse(vocabulary.addEos());
        assertTrue(vocabulary.addSpacePrefix());
        assertEquals("default", vocabulary.pre());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1}, vocabulary.tokenTypes());
        assertArrayEquals(new float[5], vocabulary.scores());
    }

    @Test
    void readsEveryKey() {
        Vocabulary vocabulary = Vocabulary.fromMetadata(metadata("llama",
                "scores", List.<Object>of(0.0, 0.0, 0.0, -1.5, -2.0),
                "token_type", List.<Object>of(2L, 3L, 3L, 1L, 1L),
                "bos_token_id", 2L, "eos_token_id", 1L, "unknown_token_id", 4L, "padding_token_id", 3L,
                "add_bos_token", false, "add_eos_token", true, "add_space_prefix", false));
        assertArrayEquals(new float[] {0, 0, 0, -1.5f, -2}, vocabulary.scores());
        assertArrayEquals(new int[] {2, 3, 3, 1, 1}, vocabulary.tokenTypes());
        assertEquals(List.of(2, 1, 4, 3),
                List.of(vocabulary.bosId(), vocabulary.eosId(), vocabulary.unknownId(), vocabulary.paddingId()));
        assertFalse(vocabulary.addBos());
        assertTrue(vocabulary.addEos());
        assertFalse(vocabulary.addSpacePrefix());
    }

    @Test
    void bpeAddsBosByDefaultOnlyForLlama3() {
        List<Object> merges = List.of("▁ a");
        assertTrue(Vocabulary.fromMetadata(metadata("gpt2", "merges", merges, "pre", "llama-bpe")).addBos());
        assertFalse(Vocabulary.fromMetadata(metadata("gpt2", "merges", merges, "pre", "qwen2")).addBos());
        assertFalse(Vocabulary.fromMetadata(
                metadata("gpt2", "merges", merges, "pre", "llama-bpe", "add_bos_token", false)).addBos());
        Vocabulary qwen = Vocabulary.fromMetadata(metadata("gpt2", "merges", merges, "pre", "qwen2"));
        assertFalse(qwen.addSpacePrefix());
        assertEquals(-1, qwen.bosId(), "llama.cpp's default BOS 11 is outside this 5-token vocabulary");
        assertEquals(List.of("▁ a"), qwen.merges());
    }

    @Test
    void missingRequiredKeysAreNamed() {
        Map<String, Object> noTokens = metadata("llama");
        noTokens.remove("tokenizer.ggml.tokens");
        assertMessageNames("tokenizer.ggml.tokens", noTokens);
        Map<String, Object> noModel = metadata("llama");
        noModel.remove("tokenizer.ggml.model");
        assertMessageNames("tokenizer.ggml.model", noModel);
        assertMessageNames("tokenizer.ggml.merges", metadata("gpt2"));
    }

    @Test
    void wrongTypesAndSizesAreNamed() {
        assertMessageNames("tokenizer.ggml.add_bos_token", metadata("llama", "add_bos_token", 1L));
        assertMessageNames("tokenizer.ggml.scores", metadata("llama", "scores", List.<Object>of(0.0)));
        assertMessageNames("tokenizer.ggml.tokens", metadata("llama", "tokens", "not a list"));
    }

    @Test
    void unknownModelIsRejected() {
        assertMessageNames("bert", metadata("bert"));
        Vocabulary llama = Vocabulary.fromMetadata(metadata("llama"));
        Vocabulary other = new Vocabulary("t5", llama.pre(), llama.tokens(), llama.scores(), llama.tokenTypes(),
                llama.merges(), 1, 2, 0, -1, true, false, true);
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.create(other));
    }

    private static void assertMessageNames(String expected, Map<String, Object> metadata) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromMetadata(metadata));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
