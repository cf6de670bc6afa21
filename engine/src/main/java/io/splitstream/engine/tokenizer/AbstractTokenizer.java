package io.splitstream.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/** What SentencePiece and BPE share: special-token handling, id lookup and decoding. */
abstract sealed class AbstractTokenizer implements Tokenizer permits SentencePieceTokenizer, BytePairTokenizer {

    private static final byte[] NO_BYTES = new byte[0];
    /** End-of-turn tokens llama.cpp also stops at, recognised by their text. */
    private static final List<String> END_OF_TURN_TEXTS = List.of("<|eot_id|>", "<|eom_id|>", "<|im_end|>",
            "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "<｜end▁of▁sentence｜>");

    final Vocabulary vocabulary;
    private final TokenIndex tokenIndex;
    private final SpecialTokenSplitter specialTokens;
    private final Set<Integer> endOfGeneration;
    /** Each token's bytes as llama.cpp's token_to_piece(special=false) gives them. */
    private final byte[][] pieces;

    /**
     * @param normalTokenBytes the bytes a normal token's stored text stands for
     * @param byteTokenBytes   the bytes a byte-type token's stored text stands for
     */
    AbstractTokenizer(Vocabulary vocabulary, Function<String, byte[]> normalTokenBytes,
            Function<String, byte[]> byteTokenBytes) {
        this.vocabulary = vocabulary;
        List<String> tokens = vocabulary.tokens();
        tokenIndex = new TokenIndex(tokens);
        specialTokens = new SpecialTokenSplitter(vocabulary);
        endOfGeneration = endOfGenerationIds(vocabulary, tokenIndex);
        pieces = new byte[tokens.size()][];
        for (int id = 0; id < tokens.size(); id++) {
            String text = tokens.get(id);
            // Control, unknown, unused and undefined tokens print nothing unless rendered as special.
            pieces[id] = switch (TokenType.of(vocabulary.tokenTypes()[id])) {
                case NORMAL -> normalTokenBytes.apply(text);
                case BYTE -> byteTokenBytes.apply(text);
                case USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
                case CONTROL, UNKNOWN, UNUSED, UNDEFINED -> NO_BYTES;
            };
        }
    }

    /** Appends the ids for plain text; {@code atBoundary}: at the start or right after a special token. */
    abstract void encodeText(String text, boolean atBoundary, IntList out);

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList();
        if (addSpecial && vocabulary.addBos() && vocabulary.bosId() >= 0) {
            out.add(vocabulary.bosId());
        }
        boolean atBoundary = true;
        for (Fragment fragment : specialTokens.split(text, parseSpecial)) {
            switch (fragment) {
                case Fragment.Text(String plain) -> {
                    encodeText(plain, atBoundary, out);
                    atBoundary = false;
                }
                case Fragment.Token(int id) -> {
                    out.add(id);
                    atBoundary = true;
                }
            }
        }
        if (addSpecial && vocabulary.addEos() && vocabulary.eosId() >= 0) {
            out.add(vocabulary.eosId());
        }
        return out.toArray();
    }

    @Override
    public byte[] tokenBytes(int id, boolean renderSpecial) {
        checkId(id);
        TokenType type = TokenType.of(vocabulary.tokenTypes()[id]);
        if (renderSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN)) {
            return vocabulary.tokens().get(id).getBytes(StandardCharsets.UTF_8);
        }
        return pieces[id].clone();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            checkId(id);
            bytes.writeBytes(pieces[id]);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(id -> {
            checkId(id);
            return pieces[id];
        });
    }

    @Override
    public int vocabularySize() {
        return vocabulary.tokens().size();
    }

    @Override
    public int bosId() {
        return vocabulary.bosId();
    }

    @Override
    public int eosId() {
        return vocabulary.eosId();
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }

    @Override
    public int tokenId(String piece) {
        return tokenIndex.find(piece, 0, piece.length());
    }

    /** The id of the token whose text is {@code text[start, end)}, or -1. */
    final int tokenId(String text, int start, int end) {
        return tokenIndex.find(text, start, end);
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocabularySize()) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary (size "
                    + vocabularySize() + ")");
        }
    }

    private static Set<Integer> endOfGenerationIds(Vocabulary vocabulary, TokenIndex tokenIndex) {
        Set<Integer> ids = new HashSet<>();
        if (vocabulary.eosId() >= 0) {
            ids.add(vocabulary.eosId());
        }
        for (String text : END_OF_TURN_TEXTS) {
            int id = tokenIndex.find(text, 0, text.length());
            if (id >= 0) {
                ids.add(id);
            }
        }
        return Set.copyOf(ids);
    }
}
