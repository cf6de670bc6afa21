package io.splitstream.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BytePairTokenizerTest {

    private static final List<String> MERGES = List.of("Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "H e", "l l",
            "He ll", "Hell o", "' s", "1 2", "12 3");

    private static final Tokenizer LLAMA3 = Tokenizer.create(SyntheticBpe.vocabulary("llama3", MERGES));
    private static final Tokenizer GPT2 = Tokenizer.create(SyntheticBpe.vocabulary("gpt2", MERGES));

    private static int[] ids(Tokenizer tokenizer, String... pieces) {
        return Arrays.stream(pieces).mapToInt(piece -> {
            int id = tokenizer.tokenId(piece);
            assertTrue(id >= 0, "no token " + piece);
            return id;
        }).toArray();
    }

    @Test
    void mergesWordsAfterLlama3Split() {
        // "Hello" " world" "'s" " " "123" "45"
        assertArrayEquals(ids(LLAMA3, "Hello", "Ġworld", "'s", "Ġ", "123", "4", "5"),
                LLAMA3.encode("Hello world's 12345", false, false));
    }

    @Test
    void lowerRankMergesFirst() {
        Tokenizer abFirst = Tokenizer.create(SyntheticBpe.vocabulary("gpt2", List.of("a b", "b c")));
        Tokenizer bcFirst = Tokenizer.create(SyntheticBpe.vocabulary("gpt2", List.of("b c", "a b")));
        assertArrayEquals(ids(abFirst, "ab", "c"), abFirst.encode("abc", false, false));
        assertArrayEquals(ids(bcFirst, "a", "bc"), bcFirst.encode("abc", false, false));
    }

    @Test
    void equalPairsMergeLeftmostFirst() {
        Tokenizer tokenizer = Tokenizer.create(SyntheticBpe.vocabulary("gpt2", List.of("a a")));
        assertArrayEquals(ids(tokenizer, "aa", "aa", "a"), tokenizer.encode("aaaaa", false, false));
    }

    @Test
    void roundTripsArbitraryUtf8() {
        List<String> texts = List.of("", "plain ascii", "emoji 😀👍🏽 and 🇩🇪 flags", "日本語のテキスト、中文。",
                "combining: e\u0301 a\u0308 n\u0303", "  leading, trailing and   inner spaces  ",
                "tabs\tand\nnewlines\r\n\n", "Ünïcödé ñ ß ∑ ∞ €", "numbers 1234567890 3.14", "\u0000 control \u007f",
                "<|eot_id|> written literally");
        for (Tokenizer tokenizer : List.of(LLAMA3, GPT2)) {
            for (String text : texts) {
                assertEquals(text, tokenizer.decode(tokenizer.encode(text, false, false)), text);
            }
        }
    }

    @Test
    void addsBosForLlama3ButNotForGpt2() {
        assertEquals(LLAMA3.bosId(), LLAMA3.encode("hi", true, false)[0]);
        assertArrayEquals(GPT2.encode("hi", false, false), GPT2.encode("hi", true, false));
    }

    @Test
    void controlTokensAreParsedOnlyWhenAsked() {
        int endOfTurn = LLAMA3.tokenId(SyntheticBpe.END_OF_TURN);
        assertArrayEquals(new int[] {endOfTurn, LLAMA3.tokenId("Hello"), endOfTurn},
                LLAMA3.encode("<|eot_id|>Hello<|eot_id|>", false, true));
        int[] asText = LLAMA3.encode("<|eot_id|>", false, false);
        assertTrue(asText.length > 1);
        assertFalse(IntStream.of(asText).anyMatch(id -> id == endOfTurn));
        assertEquals("<|eot_id|>", LLAMA3.decode(asText));
    }

    @Test
    void controlTokensPrintNothingUnlessRendered() {
        int endOfTurn = LLAMA3.tokenId(SyntheticBpe.END_OF_TURN);
        assertEquals(0, LLAMA3.tokenBytes(endOfTurn).length);
        assertEquals("<|eot_id|>", new String(LLAMA3.tokenBytes(endOfTurn, true), StandardCharsets.UTF_8));
        assertEquals("ab", LLAMA3.decode(new int[] {'a', LLAMA3.bosId(), 'b'}));
    }

    @Test
    void byteLevelTokensStandForTheirBytes() {
        assertArrayEquals(" world".getBytes(StandardCharsets.UTF_8), LLAMA3.tokenBytes(LLAMA3.tokenId("Ġworld")));
        assertArrayEquals(new byte[] {(byte) 0xF0}, LLAMA3.tokenBytes(0xF0));
    }

    @Test
    void endOfGenerationCoversEosAndEndOfTurn() {
        assertTrue(LLAMA3.isEndOfGeneration(LLAMA3.eosId()));
        assertTrue(LLAMA3.isEndOfGeneration(LLAMA3.tokenId(SyntheticBpe.END_OF_TURN)));
        assertFalse(LLAMA3.isEndOfGeneration(LLAMA3.bosId()));
        assertFalse(LLAMA3.isEndOfGeneration('a'));
    }

    @Test
    void streamingNeverEmitsHalfACharacter() {
        int[] ids = LLAMA3.encode("a😀", false, false);
        assertEquals(5, ids.length, "one byte token per UTF-8 byte");
        StreamingDecoder decoder = LLAMA3.streamingDecoder();
        assertEquals("a", decoder.append(ids[0]));
        assertEquals("", decoder.append(ids[1]));
        assertEquals("", decoder.append(ids[2]));
        assertEquals("", decoder.append(ids[3]));
        assertEquals("😀", decoder.append(ids[4]));
        assertEquals("", decoder.flush());
    }

    @Test
    void streamingMatchesWholeDecode() {
        String text = "Ünïcödé 日本語 😀👍🏽 text with <|eot_id|> and\nlines";
        int[] ids = LLAMA3.encode(text, true, true);
        StreamingDecoder decoder = LLAMA3.streamingDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) {
            String part = decoder.append(id);
            assertFalse(part.contains("\uFFFD"), part);
            streamed.append(part);
        }
        streamed.append(decoder.flush());
        assertEquals(LLAMA3.decode(ids), streamed.toString());
    }

    @Test
    void encodesLargeTextQuickly() {
        String text = randomText(100_000, 1);
        LLAMA3.encode(text.substring(0, 1000), false, false); // warm up class loading and the JIT a little
        long start = System.nanoTime();
        int[] ids = LLAMA3.encode(text, false, false);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(text, LLAMA3.decode(ids));
        assertTrue(millis < 1000, "100 KB took " + millis + " ms");
    }

    @Test
    void concurrentEncodingGivesTheSameIds() throws Exception {
        List<String> texts = IntStream.range(0, 16).mapToObj(seed -> randomText(5_000, seed)).toList();
        List<int[]> expected = texts.stream().map(t -> GPT2.encode(t, false, false)).toList();
        Tokenizer fresh = Tokenizer.create(GPT2.vocabulary()); // empty word cache, so threads race to fill it
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<int[]>> results = texts.stream()
                    .map(t -> pool.submit(() -> fresh.encode(t, false, false))).toList();
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(expected.get(i), results.get(i).get());
            }
        }
    }

    @Test
    void unknownPreTokenizerIsRejected() {
        Vocabulary vocabulary = SyntheticBpe.vocabulary("made-up-pre", MERGES);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.create(vocabulary));
        assertTrue(e.getMessage().contains("made-up-pre"), e.getMessage());
    }

    /** Words of letters, digits, punctuation and some multi-byte characters, separated by spaces and newlines. */
    private static String randomText(int length, long seed) {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;!?'\"()-éüß日本語😀";
        int[] codePoints = alphabet.codePoints().toArray();
        Random random = new Random(seed);
        StringBuilder out = new StringBuilder(length + 16);
        while (out.length() < length) {
            int wordLength = 1 + random.nextInt(9);
            for (int i = 0; i < wordLength; i++) {
                out.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
            }
            out.append(random.nextInt(12) == 0 ? "\n" : " ");
        }
        return out.toString();
    }
}
