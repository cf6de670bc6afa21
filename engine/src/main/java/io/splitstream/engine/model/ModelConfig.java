package io.splitstream.engine.model;

import io.splitstream.engine.gguf.GgufFile;

/** Shapes and hyper-parameters of a model, read from GGUF metadata alone. */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ropeDims,
        int ffnDim,
        int vocabularySize,
        int contextLength,
        float rmsEps,
        float ropeBase) {

    public ModelConfig {
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffnDim <= 0 || vocabularySize <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("non-positive model shape: " + this);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("head count " + heads + " is not a multiple of the KV head count " + kvHeads);
        }
        if (ropeDims > headDim || ropeDims % 2 != 0) {
            throw new IllegalArgumentException("rope dimension count " + ropeDims + " does not fit head dim " + headDim);
        }
    }

    public static ModelConfig from(GgufFile gguf) {
        Architecture arch = Architecture.fromGguf(gguf.string("general.architecture"));
        String p = arch.ggufName() + ".";
        int dim = (int) gguf.integer(p + "embedding_length");
        int heads = (int) gguf.integer(p + "attention.head_count");
        int kvHeads = (int) gguf.integer(p + "attention.head_count_kv", heads);
        if (heads <= 0 || dim % heads != 0) {
            throw new IllegalArgumentException("embedding length " + dim + " is not divisible by head count " + heads);
        }
        int headDim = (int) gguf.integer(p + "attention.key_length", dim / heads);
        int vocab = (int) gguf.integer(p + "vocab_size", tokenCount(gguf));
        return new ModelConfig(arch, dim, (int) gguf.integer(p + "block_count"), heads, kvHeads, headDim,
                (int) gguf.integer(p + "rope.dimension_count", headDim),
                (int) gguf.integer(p + "feed_forward_length"), vocab,
                (int) gguf.integer(p + "context_length"),
                (float) gguf.real(p + "attention.layer_norm_rms_epsilon", 1e-5),
                (float) gguf.real(p + "rope.freq_base", 10000.0));
    }

    private static long tokenCount(GgufFile gguf) {
        Object tokens = gguf.metadata().get("tokenizer.ggml.tokens");
        if (tokens instanceof java.util.List<?> list) {
            return list.size();
        }
        throw new IllegalArgumentException("neither " + "vocab_size nor tokenizer.ggml.tokens present");
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int queryDim() {
        return heads * headDim;
    }

    /** Query heads per KV head (grouped-query attention). */
    public int groupSize() {
        return heads / kvHeads;
    }
}
