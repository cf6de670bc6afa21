package io.splitstream.engine.model;

/**
 * Shapes for synthetic models: real architectures at real sizes with random weights, so speed can be measured
 * (and compared with llama.cpp on the very same file) without downloading anything.
 */
public enum ModelPreset {
    /** A few-hundred-KB llama for tests. */
    TINY("tiny", Architecture.LLAMA, 64, 2, 4, 2, 172, 512, 256, 10000f, false),
    /** A tiny qwen2 (biases, split-half RoPE) for tests. */
    QWEN2_TINY("qwen2-tiny", Architecture.QWEN2, 64, 2, 4, 2, 160, 512, 256, 1000000f, true),
    /** SmolLM2-360M shapes. */
    SMOLLM2_360M("smollm2-360m", Architecture.LLAMA, 960, 32, 15, 5, 2560, 49152, 2048, 100000f, true),
    /** Qwen2.5-0.5B shapes. */
    QWEN2_05B("qwen2-0.5b", Architecture.QWEN2, 896, 24, 14, 2, 4864, 151936, 2048, 1000000f, true),
    /** Llama-3.2-1B shapes (1.24 B parameters). */
    LLAMA_1B("llama-1b", Architecture.LLAMA, 2048, 16, 32, 8, 8192, 128256, 2048, 500000f, true);

    private final String id;
    private final Architecture architecture;
    private final int dim;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int ffnDim;
    private final int vocabularySize;
    private final int contextLength;
    private final float ropeBase;
    private final boolean tiedEmbeddings;

    ModelPreset(String id, Architecture architecture, int dim, int layers, int heads, int kvHeads, int ffnDim,
                int vocabularySize, int contextLength, float ropeBase, boolean tiedEmbeddings) {
        this.id = id;
        this.architecture = architecture;
        this.dim = dim;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.ffnDim = ffnDim;
        this.vocabularySize = vocabularySize;
        this.contextLength = contextLength;
        this.ropeBase = ropeBase;
        this.tiedEmbeddings = tiedEmbeddings;
    }

    public String id() {
        return id;
    }

    public boolean tiedEmbeddings() {
        return tiedEmbeddings;
    }

    public ModelConfig config() {
        return new ModelConfig(architecture, dim, layers, heads, kvHeads, dim / heads, dim / heads, ffnDim,
                vocabularySize, contextLength, 1e-5f, ropeBase);
    }

    public static ModelPreset byId(String id) {
        for (ModelPreset p : values()) {
            if (p.id.equals(id)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + id + "' (known: "
                + java.util.Arrays.stream(values()).map(ModelPreset::id).toList() + ")");
    }
}
