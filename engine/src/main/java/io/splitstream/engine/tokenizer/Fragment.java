package io.splitstream.engine.tokenizer;

/** A piece of the input after special tokens are cut out: either plain text or an already-known token. */
sealed interface Fragment {

    record Text(String text) implements Fragment {
    }

    record Token(int id) implements Fragment {
    }
}
