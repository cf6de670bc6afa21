package io.splitstream.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A small byte-level BPE vocabulary for tests: the 256 byte characters (id = byte value), the results of the given
 * merges, then control tokens. Merges are written with byte-level characters ("Ġ" for a space).
 */
final class SyntheticBpe {
    static final String BEGIN = "<|begin_of_text|>";
    static final String END = "<|end_of_text|>";
    static final String END_OF_TURN = "<|eot_id|>";

    private SyntheticBpe() {
    }

    static Vocabulary vocabulary(String pre, List<String> merges) {
        List<String> tokens = new ArrayList<>(Arrays.asList(bytesToUnicode()));
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
        }
        int normalCount = tokens.size();
        tokens.addAll(List.of(BEGIN, END, END_OF_TURN));
        int[] types = new int[tokens.size()];
        Arrays.fill(types, 0, normalCount, 1);
        Arrays.fill(types, normalCount, tokens.size(), 3);
        return new Vocabulary("gpt2", pre, tokens, new float[tokens.size()], types, merges,
                tokens.indexOf(BEGIN), tokens.indexOf(END), -1, -1, PreTokenizer.isLlama3(pre), false, false);
    }

    /** GPT-2's bytes_to_unicode, transcribed from its Python reference: the character for each byte. */
    static String[] bytesToUnicode() {
        String[] characters = new String[256];
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean kept = (b >= '!' && b <= '~') || (b >= '¡' && b <= '¬') || (b >= '®' && b <= 'ÿ');
            characters[b] = String.valueOf((char) (kept ? b : 256 + extra++));
        }
        return characters;
    }
}
