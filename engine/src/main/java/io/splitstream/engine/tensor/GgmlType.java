package io.splitstream.engine.tensor;

/**
 * The ggml tensor element types this runtime can read, with ggml's numeric ids and block geometry.
 * Quantized types store elements in fixed-size blocks; {@link #blockSize()} elements occupy
 * {@link #blockBytes()} bytes.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144),
    Q6_K(14, 256, 210),
    BF16(30, 1, 2);

    private static final GgmlType[] BY_ID = new GgmlType[64];
    /** ggml type names by id, including the types this runtime does not support. */
    private static final String[] KNOWN_NAMES = new String[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
        String[] names = {
                "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
                "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
                "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8",
                "IQ4_NL_8_8", "MXFP4"};
        System.arraycopy(names, 0, KNOWN_NAMES, 0, names.length);
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** ggml's numeric type id (as stored in GGUF tensor infos). */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain float types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** True for the block-quantized types. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes needed to store {@code elements} elements.
     *
     * @throws IllegalArgumentException if elements is negative or not a multiple of {@link #blockSize()}
     */
    public long bytesFor(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    "element count " + elements + " is not a multiple of the " + name() + " block size " + blockSize);
        }
        return elements / blockSize * blockBytes;
    }

    /**
     * The type with ggml id {@code id}.
     *
     * @throws IllegalArgumentException "unsupported ggml type N" (with the ggml name when known)
     */
    public static GgmlType fromId(int id) {
        if (id >= 0 && id < BY_ID.length && BY_ID[id] != null) {
            return BY_ID[id];
        }
        String name = id >= 0 && id < KNOWN_NAMES.length ? KNOWN_NAMES[id] : null;
        throw new IllegalArgumentException(
                "unsupported ggml type " + id + (name != null ? " (" + name + ")" : ""));
    }
}
