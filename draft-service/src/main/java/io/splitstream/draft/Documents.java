package io.splitstream.draft;

import io.splitstream.proto.internal.v1.Document;
import java.util.ArrayList;
import java.util.List;

/** Documents of a request as token arrays: token lists checked against the vocabulary, text tokenized. */
final class Documents {
    private Documents() {
    }

    static List<int[]> tokens(List<Document> documents, DraftModel model) {
        List<int[]> out = new ArrayList<>(documents.size());
        for (int d = 0; d < documents.size(); d++) {
            Document document = documents.get(d);
            switch (document.getContentCase()) {
                case TOKENS -> out.add(checked(document.getTokens().getTokensList(), model.vocabularySize(),
                        "document " + d));
                case TEXT -> out.add(model.model().tokenizer().encode(document.getText(), false, false));
                case CONTENT_NOT_SET -> throw new IllegalArgumentException("document " + d + " has neither tokens nor text");
            }
        }
        return out;
    }

    /** The tokens as ints, each in {@code [0, vocabularySize)}. */
    static int[] checked(List<Integer> tokens, int vocabularySize, String what) {
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            int t = tokens.get(i);
            if (t < 0 || t >= vocabularySize) {
                throw new IllegalArgumentException(what + ": token id " + Integer.toUnsignedString(t) + " at " + i
                        + " is outside the vocabulary of " + vocabularySize);
            }
            out[i] = t;
        }
        return out;
    }
}
