package io.splitstream.engine.gguf;

/** A GGUF file that cannot be read: says what is wrong and at which byte offset. */
public final class GgufFormatException extends RuntimeException {
    private final long offset;

    public GgufFormatException(String problem, long offset) {
        super(problem + " (at byte offset " + offset + ")");
        this.offset = offset;
    }

    public long offset() {
        return offset;
    }
}
