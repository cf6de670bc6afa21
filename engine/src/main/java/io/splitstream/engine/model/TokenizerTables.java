package io.splitstream.engine.model;

import java.util.ArrayList;
import java.util.List;

/** GPT-2's byte-to-printable-character table, for writing byte-level BPE vocabularies. */
final class TokenizerTables {
    private TokenizerTables() {
    }

    /** The 256 single-byte tokens in byte order, as GPT-2 spells them. */
    static List<String> byteTokens() {
        List<String> out = new ArrayList<>(256);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out.add(String.valueOf((char) (printable ? b : 256 + extra++)));
        }
        return out;
    }
}
