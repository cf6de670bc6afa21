package io.splitstream.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.testing.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Token ids from llama.cpp's llama-tokenize for stories260K (see ../shared/golden/README.md). */
class SentencePieceGoldenTest {

    private static final Path GOLDEN = Path.of("../shared/golden");
    private static final Path MODEL = Path.of("../shared/models/stories260K.gguf");

    private static Tokenizer tokenizer;
    private static List<Map<String, Object>> cases;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void load() throws IOException {
        try (GgufFile gguf = GgufFile.open(MODEL)) {
            tokenizer = Tokenizer.create(Vocabulary.fromMetadata(gguf.metadata()));
        }
        Map<String, Object> golden = (Map<String, Object>) Json.read(GOLDEN.resolve("tokenizer.json"));
        cases = (List<Map<String, Object>>) golden.get("cases");
    }

    @Test
    void vocabularyFacts() {
        assertEquals(512, tokenizer.vocabularySize());
        assertEquals(1, tokenizer.bosId());
        assertEquals(2, tokenizer.eosId());
        assertTrue(tokenizer.vocabulary().addSpacePrefix());
        assertEquals(3, tokenizer.tokenId("<0x00>"));
        assertEquals(-1, tokenizer.tokenId("no such piece"));
        assertTrue(tokenizer.isEndOfGeneration(2));
    }

    @Test
    void everyCaseMatchesLlamaCpp() throws IOException {
        assertEquals(22, cases.size());
        for (Map<String, Object> golden : cases) {
            String text = text(golden);
            String label = (String) golden.get("text");
            assertArrayEquals(ids(golden, "ids_with_bos"), tokenizer.encode(text, true, false), label + " with BOS");
            assertArrayEquals(ids(golden, "ids_no_bos"), tokenizer.encode(text, false, false), label);
        }
    }

    @Test
    void decodingGivesTheTextBackAfterTheSpacePrefix() throws IOException {
        for (Map<String, Object> golden : cases) {
            String text = text(golden);
            String expected = text.isEmpty() ? "" : " " + text;
            assertEquals(expected, tokenizer.decode(ids(golden, "ids_with_bos")), (String) golden.get("text"));
            StreamingDecoder decoder = tokenizer.streamingDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : ids(golden, "ids_with_bos")) {
                streamed.append(decoder.append(id));
            }
            assertEquals(expected, streamed.append(decoder.flush()).toString());
        }
    }

    @Test
    void byteFallbackTokensAreSingleBytes() {
        // "日本" has no pieces: "▁" then the six UTF-8 bytes as <0xE6> ... tokens.
        int[] ids = tokenizer.encode("日本", false, false);
        assertEquals(7, ids.length);
        assertArrayEquals(new byte[] {(byte) 0xE6}, tokenizer.tokenBytes(ids[1]));
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertEquals(" ", decoder.append(ids[0]));
        assertEquals("", decoder.append(ids[1]));
        assertEquals("", decoder.append(ids[2]));
        assertEquals("日", decoder.append(ids[3]));
    }

    @Test
    void specialTokensParsedWhenAskedWithASpacePrefixAfterEach() {
        int[] inner = tokenizer.encode(" literal ", false, false);
        int[] expected = new int[inner.length + 2];
        expected[0] = 1;
        System.arraycopy(inner, 0, expected, 1, inner.length);
        expected[expected.length - 1] = 2;
        assertArrayEquals(expected, tokenizer.encode("<s> literal </s>", false, true));
        assertEquals("<s>", new String(tokenizer.tokenBytes(1, true), StandardCharsets.UTF_8));
        assertEquals(0, tokenizer.tokenBytes(1).length);
    }

    @Test
    void encodesLargeTextQuickly() throws IOException {
        String story = Files.readString(GOLDEN.resolve("ppl-text.txt"), StandardCharsets.UTF_8);
        String text = story.repeat(100_000 / story.length() + 1);
        tokenizer.encode(text, false, false); // the first run mostly measures the JIT compiler
        long start = System.nanoTime();
        int[] ids = tokenizer.encode(text, false, false);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(" " + text, tokenizer.decode(ids));
        assertTrue(millis < 1000, "100 KB took " + millis + " ms");
    }

    /** The case's text; the whole-text case names its file instead. */
    private static String text(Map<String, Object> golden) throws IOException {
        Object file = golden.get("file");
        return file == null ? (String) golden.get("text")
                : Files.readString(GOLDEN.resolve((String) file), StandardCharsets.UTF_8);
    }

    private static int[] ids(Map<String, Object> golden, String key) {
        return ((List<?>) golden.get(key)).stream().mapToInt(id -> ((Double) id).intValue()).toArray();
    }
}
