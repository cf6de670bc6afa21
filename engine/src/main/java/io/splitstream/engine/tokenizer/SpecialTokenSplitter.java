package io.splitstream.engine.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts literal special tokens out of the input before the model's tokenization runs (llama.cpp's
 * {@code tokenizer_st_partition}). Longer tokens are matched first so that one special token containing another
 * wins; user-defined tokens are always matched, control and unknown ones only when parsing special tokens.
 */
final class SpecialTokenSplitter {

    private record SpecialToken(int id, String text, boolean matchedWithoutParseSpecial) {
    }

    private final List<SpecialToken> longestFirst;

    SpecialTokenSplitter(Vocabulary vocabulary) {
        List<SpecialToken> specials = new ArrayList<>();
        for (int id = 0; id < vocabulary.tokens().size(); id++) {
            TokenType type = TokenType.of(vocabulary.tokenTypes()[id]);
            String text = vocabulary.tokens().get(id);
            if (type.isSpecial() && !text.isEmpty()) {
                specials.add(new SpecialToken(id, text, type.isMatchedWithoutParseSpecial()));
            }
        }
        specials.sort(Comparator.comparingInt((SpecialToken t) -> t.text().length()).reversed());
        this.longestFirst = List.copyOf(specials);
    }

    /** The text as fragments, never empty text ones; an empty input gives no fragments. */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Fragment.Text(text));
        for (SpecialToken special : longestFirst) {
            if (parseSpecial || special.matchedWithoutParseSpecial()) {
                fragments = cutOut(fragments, special);
            }
        }
        return fragments;
    }

    private static List<Fragment> cutOut(List<Fragment> fragments, SpecialToken special) {
        List<Fragment> result = new ArrayList<>(fragments.size());
        for (Fragment fragment : fragments) {
            if (!(fragment instanceof Fragment.Text(String text)) || !text.contains(special.text())) {
                result.add(fragment);
                continue;
            }
            int start = 0;
            for (int match = text.indexOf(special.text()); match >= 0;
                    match = text.indexOf(special.text(), start)) {
                if (match > start) {
                    result.add(new Fragment.Text(text.substring(start, match)));
                }
                result.add(new Fragment.Token(special.id()));
                start = match + special.text().length();
            }
            if (start < text.length()) {
                result.add(new Fragment.Text(text.substring(start)));
            }
        }
        return result;
    }
}
