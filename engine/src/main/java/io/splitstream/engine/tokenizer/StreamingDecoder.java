package io.splitstream.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Turns tokens arriving one at a time into text without ever splitting a character: a token may end in the
 * middle of a multi-byte UTF-8 sequence (byte-fallback and byte-level tokens do), so those bytes are held back
 * until the sequence is complete. Bytes that can never form a character come out as U+FFFD. One per stream; not
 * thread-safe.
 */
public final class StreamingDecoder {

    private final IntFunction<byte[]> tokenBytes;
    private byte[] pending = new byte[8];
    private int pendingLength;

    StreamingDecoder(IntFunction<byte[]> tokenBytes) {
        this.tokenBytes = tokenBytes;
    }

    /** The text that the token completes, possibly empty. */
    public String append(int tokenId) {
        byte[] bytes = tokenBytes.apply(tokenId);
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        return take(pendingLength - incompleteTailLength());
    }

    /** Whatever is still held back (an unfinished character comes out as U+FFFD); call at the end of the stream. */
    public String flush() {
        return take(pendingLength);
    }

    private String take(int length) {
        String text = new String(pending, 0, length, StandardCharsets.UTF_8);
        System.arraycopy(pending, length, pending, 0, pendingLength - length);
        pendingLength -= length;
        return text;
    }

    /** How many trailing bytes form the start of a UTF-8 sequence that still lacks continuation bytes. */
    private int incompleteTailLength() {
        // A sequence is at most 4 bytes, so its lead byte is within the last 4.
        for (int back = 1; back <= Math.min(4, pendingLength); back++) {
            int b = pending[pendingLength - back] & 0xFF;
            if ((b & 0xC0) != 0x80) { // not a continuation byte: this is where the last sequence starts
                int needed = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1;
                return needed > back ? back : 0;
            }
        }
        return 0; // only continuation bytes: nothing can complete them
    }
}
