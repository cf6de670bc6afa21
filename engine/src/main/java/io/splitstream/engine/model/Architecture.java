package io.splitstream.engine.model;

/**
 * The model families the engine runs, as named by {@code general.architecture}. Each fixes the facts that the
 * GGUF metadata does not state: how RoPE pairs dimensions and whether q/k/v carry biases.
 */
public enum Architecture {
    /** Llama 2/3, TinyLlama, SmolLM, Mistral-style: adjacent-pair RoPE (ggml "NORM"), no biases. */
    LLAMA("llama", RopeStyle.ADJACENT_PAIRS, false),
    /** Qwen2/2.5: split-half RoPE (ggml "NEOX") and q/k/v biases. */
    QWEN2("qwen2", RopeStyle.SPLIT_HALVES, true);

    /** Which dimensions RoPE rotates together. */
    public enum RopeStyle {
        /** (x[2i], x[2i+1]). */
        ADJACENT_PAIRS,
        /** (x[i], x[i + d/2]). */
        SPLIT_HALVES
    }

    private final String ggufName;
    private final RopeStyle ropeStyle;
    private final boolean qkvBias;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean qkvBias) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
    }

    public String ggufName() {
        return ggufName;
    }

    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    public boolean qkvBias() {
        return qkvBias;
    }

    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported architecture '" + name + "' (supported: llama, qwen2)");
    }
}
