package io.splitstream.engine.tokenizer;

/** The GGUF {@code tokenizer.ggml.token_type} codes, in llama.cpp's order. */
enum TokenType {
    UNDEFINED, NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE;

    private static final TokenType[] BY_CODE = values();

    static TokenType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : UNDEFINED;
    }

    /** Tokens matched literally in the input before the model's own tokenization runs. */
    boolean isSpecial() {
        return this == CONTROL || this == USER_DEFINED || this == UNKNOWN;
    }

    /** User-defined tokens are always matched; control and unknown ones only when asked to parse special tokens. */
    boolean isMatchedWithoutParseSpecial() {
        return this == USER_DEFINED;
    }
}
