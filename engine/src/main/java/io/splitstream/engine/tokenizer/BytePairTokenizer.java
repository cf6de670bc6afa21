package io.splitstream.engine.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as llama.cpp's {@code llm_tokenizer_bpe}: the text is split into words by the pre-tokenizer's
 * regex, each word's UTF-8 bytes are spelled with {@link ByteLevel} characters, and adjacent symbols are merged by
 * merge rank (lowest first, leftmost on ties) until no listed merge applies.
 * Words are cached, since natural text repeats them a lot.
 */
final class BytePairTokenizer extends AbstractTokenizer {

    /** Enough for the distinct words of a large corpus; beyond it the cache starts over rather than grow. */
    private static final int MAX_CACHED_WORDS = 200_000;

    private record MergePair(String left, String right) {
    }

    private final PreTokenizer preTokenizer;
    private final boolean ignoreMerges;
    private final Map<MergePair, Integer> mergeRanks;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    BytePairTokenizer(Vocabulary vocabulary) {
        super(vocabulary, ByteLevel::decode, text -> new byte[0]);
        preTokenizer = PreTokenizer.forName(vocabulary.pre());
        ignoreMerges = PreTokenizer.isLlama3(vocabulary.pre());
        mergeRanks = ranks(vocabulary.merges());
    }

    @Override
    void encodeText(String text, boolean atBoundary, IntList out) {
        for (String word : preTokenizer.split(text)) {
            int[] ids = wordCache.get(word);
            if (ids == null) {
                ids = encodeWord(ByteLevel.encode(word));
                if (wordCache.size() >= MAX_CACHED_WORDS) {
                    wordCache.clear();
                }
                wordCache.put(word, ids);
            }
            out.addAll(ids);
        }
    }

    private int[] encodeWord(String word) {
        int wholeWord = ignoreMerges ? tokenId(word) : -1;
        if (wholeWord >= 0) {
            return new int[] {wholeWord};
        }
        IntList out = new IntList();
        // Each character of a byte-level word stands for one byte, so symbols start as single bytes, as in llama.cpp.
        new SymbolMerger(word, (start, leftLength, rightLength) -> {
            Integer rank = mergeRanks.get(new MergePair(word.substring(start, start + leftLength),
                    word.substring(start + leftLength, start + leftLength + rightLength)));
            return rank == null ? Double.NaN : rank;
        }).run((start, end) -> emit(word, start, end, out));
        return out.toArray();
    }

    /** Emits the token for {@code word[start, end)}; without one, as llama.cpp, looks the piece up byte by byte. */
    private void emit(String word, int start, int end, IntList out) {
        int id = tokenId(word, start, end);
        if (id >= 0) {
            out.add(id);
            return;
        }
        for (int i = start; i < end; i++) {
            // Only a character spelling a single UTF-8 byte (ASCII) can match a one-byte token text.
            int byteId = word.charAt(i) < 0x80 ? tokenId(word, i, i + 1) : -1;
            if (byteId >= 0) {
                out.add(byteId);
            }
        }
    }

    /** Merges are "left right"; the split is at the first space after the first character. */
    private static Map<MergePair, Integer> ranks(List<String> merges) {
        Map<MergePair, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            int space = merge.indexOf(' ', 1);
            if (space < 0) {
                throw new IllegalArgumentException("BPE merge " + rank + " '" + merge + "' has no space");
            }
            ranks.putIfAbsent(new MergePair(merge.substring(0, space), merge.substring(space + 1)), rank);
        }
        return ranks;
    }
}
