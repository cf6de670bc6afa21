package io.splitstream.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Merge order and fallbacks on a hand-made vocabulary; {@link SentencePieceGoldenTest} covers a real one. */
class SentencePieceTokenizerTest {

    /** {@code <unk> <s> </s>}, optionally the 256 byte tokens, then the pieces with their scores. */
    private static Tokenizer tokenizer(boolean byteTokens, boolean spacePrefix, Object... piecesAndScores) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        for (int b = 0; byteTokens && b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(6);
            scores.add(0f);
        }
        for (int i = 0; i < piecesAndScores.length; i += 2) {
            tokens.add((String) piecesAndScores[i]);
            types.add(1);
            scores.add(((Number) piecesAndScores[i + 1]).floatValue());
        }
        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return Tokenizer.create(new Vocabulary("llama", "default", tokens, scoreArray,
                types.stream().mapToInt(Integer::intValue).toArray(), List.of(), 1, 2, 0, -1, true, false,
                spacePrefix));
    }

    private static int[] ids(Tokenizer tokenizer, String... pieces) {
        return Arrays.stream(pieces).mapToInt(tokenizer::tokenId).toArray();
    }

    @Test
    void higherScoringPairMergesFirst() {
        Tokenizer bcWins = tokenizer(true, false, "a", 0, "b", 0, "c", 0, "ab", -1, "bc", -0.5);
        assertArrayEquals(ids(bcWins, "a", "bc"), bcWins.encode("abc", false, false));
        Tokenizer abWins = tokenizer(true, false, "a", 0, "b", 0, "c", 0, "ab", 0, "bc", -0.5);
        assertArrayEquals(ids(abWins, "ab", "c"), abWins.encode("abc", false, false));
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        Tokenizer tokenizer = tokenizer(true, false, "a", 0, "aa", -1);
        assertArrayEquals(ids(tokenizer, "aa", "aa", "a"), tokenizer.encode("aaaaa", false, false));
    }

    @Test
    void spacesBecomeWordBoundariesWithAPrefixAtTheStart() {
        Tokenizer tokenizer = tokenizer(true, true, "▁", 0, "a", 0, "▁a", -1);
        assertArrayEquals(ids(tokenizer, "▁a", "▁a"), tokenizer.encode("a a", false, false));
        assertArrayEquals(ids(tokenizer, "<s>", "▁a"), tokenizer.encode("a", true, false));
        assertEquals(" a a", tokenizer.decode(tokenizer.encode("a a", true, false)));
    }

    @Test
    void missingCharactersFallBackToByteTokensOrUnknown() {
        Tokenizer withBytes = tokenizer(true, false, "a", 0);
        assertArrayEquals(ids(withBytes, "a", "<0xC3>", "<0xA9>"), withBytes.encode("aé", false, false));
        assertEquals("aé", withBytes.decode(withBytes.encode("aé", false, false)));
        Tokenizer withoutBytes = tokenizer(false, false, "a", 0);
        assertArrayEquals(new int[] {withoutBytes.tokenId("a"), 0, 0}, withoutBytes.encode("aé", false, false));
    }
}
