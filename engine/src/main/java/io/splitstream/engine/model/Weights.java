package io.splitstream.engine.model;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.gguf.GgufTensorInfo;
import io.splitstream.engine.tensor.GgmlType;
import io.splitstream.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;

/** Typed views over a model's mapped tensors, with every shape checked against the config. */
public record Weights(WeightMatrix tokenEmbedding, Layer[] layers, float[] outputNorm, WeightMatrix output, float[] ropeFrequencyFactors) {

    /** One transformer block. Biases are null when the architecture has none. */
    public record Layer(float[] attentionNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                        float[] qBias, float[] kBias, float[] vBias,
                        float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    public static Weights load(GgufFile gguf, ModelConfig c) {
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            boolean bias = c.architecture().qkvBias();
            layers[i] = new Layer(
                    vector(gguf, p + "attn_norm.weight", c.dim()),
                    matrix(gguf, p + "attn_q.weight", c.queryDim(), c.dim()),
                    matrix(gguf, p + "attn_k.weight", c.kvDim(), c.dim()),
                    matrix(gguf, p + "attn_v.weight", c.kvDim(), c.dim()),
                    matrix(gguf, p + "attn_output.weight", c.dim(), c.queryDim()),
                    bias ? vector(gguf, p + "attn_q.bias", c.queryDim()) : null,
                    bias ? vector(gguf, p + "attn_k.bias", c.kvDim()) : null,
                    bias ? vector(gguf, p + "attn_v.bias", c.kvDim()) : null,
                    vector(gguf, p + "ffn_norm.weight", c.dim()),
                    matrix(gguf, p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    matrix(gguf, p + "ffn_up.weight", c.ffnDim(), c.dim()),
                    matrix(gguf, p + "ffn_down.weight", c.dim(), c.ffnDim()));
        }
        WeightMatrix embedding = matrix(gguf, "token_embd.weight", c.vocabularySize(), c.dim());
        // Tied embeddings: models without output.weight reuse the token embedding as the output projection.
        WeightMatrix output = gguf.tensors().containsKey("output.weight")
                ? matrix(gguf, "output.weight", c.vocabularySize(), c.dim()) : embedding;
        float[] ropeFactors = gguf.tensors().containsKey("rope_freqs.weight")
                ? vector(gguf, "rope_freqs.weight", c.ropeDims() / 2) : null;
        return new Weights(embedding, layers, vector(gguf, "output_norm.weight", c.dim()), output, ropeFactors);
    }

    static WeightMatrix matrix(GgufFile gguf, String name, int rows, int cols) {
        GgufTensorInfo t = gguf.tensor(name);
        if (t.dims().length != 2 || t.dims()[0] != cols || t.dims()[1] != rows) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + java.util.Arrays.toString(t.dims())
                    + ", expected [" + cols + ", " + rows + "]");
        }
        return WeightMatrix.of(t.type(), gguf.tensorData(t), rows, cols);
    }

    static float[] vector(GgufFile gguf, String name, int length) {
        GgufTensorInfo t = gguf.tensor(name);
        if (t.elements() != length) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + t.elements() + " elements, expected " + length);
        }
        if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + t.type() + "; vectors must be F32, F16 or BF16");
        }
        MemorySegment data = gguf.tensorData(t);
        float[] v = new float[length];
        WeightMatrix.of(t.type(), data, 1, length).dequantizeRow(0, v, 0);
        return v;
    }
}
