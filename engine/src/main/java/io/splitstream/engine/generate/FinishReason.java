package io.splitstream.engine.generate;

/** Why a generation ended; names follow the OpenAI API. */
public enum FinishReason {
    /** End-of-generation token or a stop string. */
    STOP,
    /** max tokens or the context length reached. */
    LENGTH,
    /** The client cancelled or its deadline passed. */
    CANCELLED,
    /** The engine failed; the listener's message says why. */
    ERROR
}
