package io.splitstream.engine.kv;

import java.util.HexFormat;

/**
 * Identifies the model whose KV state this is: KV computed by one model is garbage to another, so export tags it
 * and import refuses a mismatch. {@code weightsDigest} is a SHA-256 of the GGUF header (metadata and tensor table)
 * and a sample of every tensor's bytes, cheap even for multi-gigabyte files.
 */
public record ModelFingerprint(String architecture, int layers, int kvHeads, int headDim, String weightsDigest) {

    /** Same shapes and the same weights. */
    public boolean sameModel(ModelFingerprint other) {
        return equals(other);
    }

    /** Same shapes: KV state is structurally importable (for example a Q8 decode model fed by an F32 prefill model). */
    public boolean sameShapes(ModelFingerprint other) {
        return architecture.equals(other.architecture) && layers == other.layers && kvHeads == other.kvHeads
                && headDim == other.headDim;
    }

    public static String digest(byte[]... parts) {
        try {
            var sha = java.security.MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                sha.update(p);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
