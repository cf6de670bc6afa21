package io.splitstream.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * SentencePiece tokenization as llama.cpp's {@code llm_tokenizer_spm}: spaces become "▁", then adjacent symbols
 * are merged greedily, always the pair whose merged text is the highest-scoring token (leftmost on ties);
 * characters that end up in no token are spelled as byte tokens {@code <0xXX>}.
 */
final class SentencePieceTokenizer extends AbstractTokenizer {

    private static final char WORD_BOUNDARY = '▁';
    private static final Comparator<Bigram> BEST_FIRST = (a, b) ->
            a.score() != b.score() ? Float.compare(b.score(), a.score()) : Integer.compare(a.left(), b.left());

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
        new Merge(prefixed.replace(' ', WORD_BOUNDARY)).run(out);
    }

    /** A candidate merge of two adjacent symbols; {@code length} detects that either has changed since. */
    private record Bigram(int left, int right, float score, int length) {
    }

    /** One merge run over one text: symbols are a linked list over the text's characters. */
    private final class Merge {
        private final String text;
        private final int[] start;
        private final int[] length;
        private final int[] previous;
        private final int[] next;
        private final PriorityQueue<Bigram> queue = new PriorityQueue<>(BEST_FIRST);

        Merge(String text) {
            this.text = text;
            int count = text.codePointCount(0, text.length());
            start = new int[count];
            length = new int[count];
            previous = new int[count];
            next = new int[count];
            for (int i = 0, offset = 0; i < count; i++) {
                start[i] = offset;
                length[i] = Character.charCount(text.codePointAt(offset));
                offset += length[i];
                previous[i] = i - 1;
                next[i] = offset == text.length() ? -1 : i + 1;
            }
        }

        void run(IntList out) {
            if (start.length == 0) {
                return;
            }
            for (int i = 1; i < start.length; i++) {
                offer(i - 1, i);
            }
            while (!queue.isEmpty()) {
                Bigram bigram = queue.poll();
                int left = bigram.left();
                int right = bigram.right();
                // Symbols only grow by absorbing their right neighbour, so a changed total means a stale pair.
                if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != bigram.length()) {
                    continue;
                }
                length[left] += length[right];
                length[right] = 0;
                next[left] = next[right];
                if (next[right] >= 0) {
                    previous[next[right]] = left;
                }
                offer(previous[left], left);
                offer(left, next[left]);
            }
            for (int i = 0; i != -1; i = next[i]) {
                emit(i, out);
            }
        }

        private void offer(int left, int right) {
            if (left < 0 || right < 0) {
                return;
            }
            int mergedLength = length[left] + length[right];
            int id = tokenId(text, start[left], start[left] + mergedLength);
            if (id >= 0) {
                queue.add(new Bigram(left, right, vocabulary.scores()[id], mergedLength));
            }
        }

        private void emit(int symbol, IntList out) {
            int end = start[symbol] + length[symbol];
            int id = tokenId(text, start[symbol], end);
            if (id >= 0) {
                out.add(id);
                return;
            }
            // Merged symbols are always tokens, so this is a single character missing from the vocabulary.
            for (byte b : text.substring(start[symbol], end).getBytes(StandardCharsets.UTF_8)) {
                int byteId = byteTokenIds[b & 0xFF];
                if (byteId < 0) {
                    throw new IllegalStateException(String.format(
                            "vocabulary has no token for byte 0x%02X and no unknown token", b & 0xFF));
                }
                out.add(byteId);
            }
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
