package io.splitstream.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected splits worked out by hand from llama.cpp's regexes for each pre-tokenizer. */
class PreTokenizerTest {

    private static List<String> split(String pre, String text) {
        return PreTokenizer.forName(pre).split(text);
    }

    @Test
    void llama3GroupsDigitsByThreeAndKeepsTheSpaceBeforeThemApart() {
        assertEquals(List.of("Hello", " world", "'s", " ", "123", "45"), split("llama3", "Hello world's 12345"));
        assertEquals(List.of("Hello", " world", "'s", " ", "123", "45"), split("llama-bpe", "Hello world's 12345"));
    }

    @Test
    void llama3MatchesContractionsInEitherCase() {
        assertEquals(List.of("I", "'M", " here", "'Ll", " go"), split("llama3", "I'M here'Ll go"));
    }

    @Test
    void llama3KeepsNewlinesTogetherAndLeavesOneSpaceOrTabForTheNextWord() {
        assertEquals(List.of("I", "'m", " here", "\n\n", " ", " ok", "!\n", "\tx"),
                split("llama3", "I'm here\n\n  ok!\n\tx"));
    }

    @Test
    void llama3TakesOneLeadingNonLetterIntoAWord() {
        assertEquals(List.of("(hello", ")", " 日本語", " émoji", " 😀", " done"),
                split("llama3", "(hello) 日本語 émoji 😀 done"));
    }

    @Test
    void whitespaceIsUnicodeWhiteSpaceNotJustAscii() {
        // U+3000 is an ideographic space: it must behave like " ", not like punctuation.
        assertEquals(List.of("a", "\u3000", "\u3000b"), split("llama3", "a\u3000\u3000b"));
        assertEquals(List.of("a", "\u00A0", "\u00A0", "b"), split("gpt2", "a\u00A0\u00A0b"));
    }

    @Test
    void qwen2SplitsEveryDigit() {
        assertEquals(List.of("abc", " ", "1", "2", "3"), split("qwen2", "abc 123"));
    }

    @Test
    void gpt2KeepsTheSpaceWithTheNumber() {
        assertEquals(List.of("Hello", " world", "'s", " 12345", "  ", " x"), split("gpt2", "Hello world's 12345   x"));
    }

    @Test
    void smollmSplitsDigitsBeforeGpt2() {
        assertEquals(List.of("abc", "1", "2", "3", " d"), split("smollm", "abc123 d"));
    }

    @Test
    void defaultSplitsPunctuationThenGpt2ThenDigitGroupsOfThree() {
        assertEquals(List.of("hello", ",", " ", "123", "45"), split("default", "hello, 12345"));
    }

    @Test
    void piecesJoinBackToTheText() {
        String text = "Mixed: tabs\t\tand\r\n CRLF, 'quotes', 1234567 ünïcödé 😀😀 end  ";
        for (String pre : List.of("llama3", "qwen2", "gpt2", "smollm", "default")) {
            assertEquals(text, String.join("", split(pre, text)), pre);
        }
    }

    @Test
    void unknownPreTokenizerIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PreTokenizer.forName("no-such-pre"));
        assertTrue(e.getMessage().contains("no-such-pre"), e.getMessage());
    }
}
