package io.splitstream.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's {@code bytes_to_unicode}: byte-level BPE vocabularies spell every byte as one printable character
 * (printable Latin-1 bytes as themselves, the rest as U+0100 onwards; a space is "Ġ"), so that token texts
 * never hold raw control bytes or spaces.
 */
final class ByteLevel {

    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[512];

    static {
        Arrays.fill(BYTE_OF_CHAR, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevel() {
    }

    /** The text's UTF-8 bytes, one character per byte. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = CHAR_OF_BYTE[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    /** The bytes a byte-level token text spells; a character outside the mapping stands for its own UTF-8. */
    static byte[] decode(String tokenText) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(tokenText.length());
        tokenText.codePoints().forEach(c -> {
            if (c < BYTE_OF_CHAR.length && BYTE_OF_CHAR[c] >= 0) {
                bytes.write(BYTE_OF_CHAR[c]);
            } else {
                bytes.writeBytes(Character.toString(c).getBytes(StandardCharsets.UTF_8));
            }
        });
        return bytes.toByteArray();
    }
}
