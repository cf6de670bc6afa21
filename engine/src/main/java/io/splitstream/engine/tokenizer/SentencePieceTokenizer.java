package io.splitstream.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * SentencePiece tokenization as llama.cpp's {@code llm_tokenizer_spm}: spaces become "▁", then neighbouring
 * symbols are merged greedily, always the pair whose merged text is the highest-scoring token (leftmost on ties);
 * characters that end up in no token are spelled as byte tokens {@code <0xXX>}.
 */
final class SentencePieceTokenizer extends AbstractTokenizer {

    private static final char WORD_BOUNDARY = '▁';

    private final int[] byteTokenIds = new int[256];

    SentencePieceTokenizer(Vocabulary vocabulary) {
        super(vocabulary, SentencePieceTokenizer::unescape, SentencePieceTokenizer::byteValue);
        for (int b = 0; b < 256; b++) {
            byteTokenIds[b] = byteTokenId(b);
        }
    }

    @Override
    void encodeText(String text, boolean atBoundary, IntList out) {
        // llama.cpp prepends the space at the start of the text and after every special token.
        String prefixed = vocabulary.addSpacePrefix() && atBoundary ? " " + text : text;
        String escaped = prefixed.replace(' ', WORD_BOUNDARY);
        new SymbolMerger(escaped, (start, leftLength, rightLength) -> {
            // The pair merges if together they spell a token; the higher its score, the sooner.
            int id = tokenId(escaped, start, start + leftLength + rightLength);
            return id >= 0 ? -vocabulary.scores()[id] : Double.NaN;
        }).run((start, end) -> emit(escaped, start, end, out));
    }

    /** Emits the token for {@code text[start, end)}, or its bytes as byte tokens if there is none. */
    private void emit(String text, int start, int end, IntList out) {
        int id = tokenId(text, start, end);
        if (id >= 0) {
            out.add(id);
            return;
        }
        // Merged symbols are always tokens, so this is a single character missing from the vocabulary.
        for (byte b : text.substring(start, end).getBytes(StandardCharsets.UTF_8)) {
            int byteId = byteTokenIds[b & 0xFF];
            if (byteId < 0) {
                throw new IllegalStateException(String.format(
                        "vocabulary has no token for byte 0x%02X and no unknown token", b & 0xFF));
            }
            out.add(byteId);
        }
    }

    /** {@code <0xXX>}, else the byte as a one-character token (ASCII only), else the unknown token. */
    private int byteTokenId(int b) {
        int id = tokenId(String.format("<0x%02X>", b));
        if (id < 0 && b < 0x80) {
            id = tokenId(String.valueOf((char) b));
        }
        return id >= 0 ? id : vocabulary.unknownId();
    }

    private static byte[] unescape(String text) {
        return text.replace(WORD_BOUNDARY, ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** A byte token's text is {@code <0xXX>}. */
    private static byte[] byteValue(String text) {
        if (text.length() != 6 || !text.startsWith("<0x") || !text.endsWith(">")) {
            return new byte[0];
        }
        return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
    }
}
