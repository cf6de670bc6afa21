package io.splitstream.engine.tokenizer;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as llama.cpp's {@code llm_tokenizer_bpe}: the text is split into words by the pre-tokenizer's
 * regex, each word's UTF-8 bytes are spelled with {@link ByteLevel} characters, and adjacent symbols are merged by
 * merge rank (lowest first, leftmost on ties) until no listed merge applies.
 */
final class BytePairTokenizer extends AbstractTokenizer {

    /** Enough for the distinct words of a large corpus; beyond it the cache starts over rather than grow. */
    private static final int MAX_CACHED_WORDS = 200_000;
    private static final Comparator<Bigram> BEST_FIRST =
            Comparator.comparingInt(Bigram::rank).thenComparingInt(Bigram::left);

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
        new Merge(word).run(out);
        return out.toArray();
    }

    /** A candidate merge of two adjacent symbols; {@code length} detects that either has changed since. */
    private record Bigram(int left, int right, int rank, int length) {
    }

    /**
     * One merge run over one byte-level word: symbols are a linked list over its characters, one per byte, so
     * character offsets are byte offsets.
     */
    private final class Merge {
        private final String word;
        private final int[] length;
        private final int[] previous;
        private final int[] next;
        private final PriorityQueue<Bigram> queue = new PriorityQueue<>(BEST_FIRST);

        Merge(String word) {
            this.word = word;
            int count = word.length();
            length = new int[count];
            previous = new int[count];
            next = new int[count];
            for (int i = 0; i < count; i++) {
                length[i] = 1;
                previous[i] = i - 1;
                next[i] = i + 1 == count ? -1 : i + 1;
            }
        }

        void run(IntList out) {
            if (word.isEmpty()) {
                return;
            }
            for (int i = 1; i < word.length(); i++) {
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
            // A merged symbol keeps the index of its leftmost character, which is also where it starts.
            for (int i = 0; i != -1; i = next[i]) {
                emit(word.substring(i, i + length[i]), out);
            }
        }

        private void offer(int left, int right) {
            if (left < 0 || right < 0) {
                return;
            }
            Integer rank = mergeRanks.get(new MergePair(word.substring(left, left + length[left]),
                    word.substring(right, right + length[right])));
            if (rank != null) {
                queue.add(new Bigram(left, right, rank, length[left] + length[right]));
            }
        }

        private void emit(String piece, IntList out) {
            int id = tokenId(piece);
            if (id >= 0) {
                out.add(id);
                return;
            }
            // As llama.cpp: look the piece up byte by byte; only single-byte (ASCII) characters can match.
            for (char c : piece.toCharArray()) {
                int byteId = c < 0x80 ? tokenId(String.valueOf(c)) : -1;
                if (byteId >= 0) {
                    out.add(byteId);
                }
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
