package io.splitstream.engine.tokenizer;

/**
 * Text ↔ token ids for a GGUF vocabulary, matching llama.cpp's {@code llama_tokenize} and
 * {@code llama_token_to_piece}. Implementations are immutable and safe for concurrent use; a
 * {@link StreamingDecoder} is not and belongs to one stream.
 */
public interface Tokenizer {

    /**
     * The tokenizer for the vocabulary's model type: "llama" → SentencePiece, "gpt2" → byte-level BPE.
     *
     * @throws IllegalArgumentException for another model type or an unknown BPE pre-tokenizer
     */
    static Tokenizer create(Vocabulary vocabulary) {
        return switch (vocabulary.model()) {
            case "llama" -> new SentencePieceTokenizer(vocabulary);
            case "gpt2" -> new BytePairTokenizer(vocabulary);
            default -> throw new IllegalArgumentException("unsupported tokenizer model '" + vocabulary.model()
                    + "' (expected llama or gpt2)");
        };
    }

    /**
     * The token ids for the text.
     *
     * @param addSpecial   add BOS / EOS as the vocabulary's add_bos / add_eos flags say
     * @param parseSpecial turn control tokens written literally in the text (e.g. "&lt;|eot_id|&gt;") into their
     *                     ids; otherwise they are tokenized as ordinary text
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** The bytes the token stands for; control and unknown tokens give none. */
    default byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /** The bytes the token stands for; with renderSpecial, control and unknown tokens give their text. */
    byte[] tokenBytes(int id, boolean renderSpecial);

    /**
     * The text of the tokens: their bytes concatenated (control tokens give none) and read as UTF-8, so a
     * SentencePiece space prefix shows as a leading space, as in llama.cpp's token-by-token output.
     */
    String decode(int[] ids);

    /** A decoder for tokens arriving one at a time that only ever returns whole characters. */
    StreamingDecoder streamingDecoder();

    int vocabularySize();

    /** -1 if the vocabulary has none. */
    int bosId();

    /** -1 if the vocabulary has none. */
    int eosId();

    /** Whether generation should stop at this token: EOS or an end-of-turn token such as &lt;|eot_id|&gt;. */
    boolean isEndOfGeneration(int id);

    /** The id of the token with exactly this text, or -1. */
    int tokenId(String piece);

    Vocabulary vocabulary();
}
