package io.splitstream.engine.model;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.gguf.GgufTensorInfo;
import io.splitstream.engine.tensor.GgmlType;
import io.splitstream.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Typed views over a model's mapped tensors, with every shape checked against the config. */
public record Weights(WeightMatrix tokenEmbedding, Layer[] layers, float[] outputNorm, WeightMatrix output, float[] ropeFrequencyFactors) {

    /** One transformer block. Biases are null when the architecture has none. */
    public record Layer(float[] attentionNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                        float[] qBias, float[] kBias, float[] vBias,
                        float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
        /** q, k and v, which multiply the same input ({@link WeightMatrix#multiplyEach}). */
        public WeightMatrix[] qkv() {
            return new WeightMatrix[] {wq, wk, wv};
        }

        /** gate and up, which multiply the same input. */
        public WeightMatrix[] gateUp() {
            return new WeightMatrix[] {gate, up};
        }
    }

    /**
     * Checks and views every tensor. Matrices that are multiplied are prepared on a few load-time threads, because
     * preparing a Q8_0 or Q4_0 matrix repacks it (seconds for a 1B model on one thread). A token embedding that
     * is not also the output projection only serves row lookups, so it stays as mapped.
     */
    public static Weights load(GgufFile gguf, ModelConfig c) {
        try (ExecutorService loader = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(), r -> {
            Thread t = new Thread(r, "splitstream-weights-load");
            t.setDaemon(true);
            return t;
        })) {
            return load(gguf, c, loader);
        }
    }

    private static Weights load(GgufFile gguf, ModelConfig c, ExecutorService loader) {
        @SuppressWarnings("unchecked")
        Future<WeightMatrix>[][] m = new Future[c.layers()][];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            m[i] = new Future[] {
                    loader.submit(() -> multiplied(gguf, p + "attn_q.weight", c.queryDim(), c.dim())),
                    loader.submit(() -> multiplied(gguf, p + "attn_k.weight", c.kvDim(), c.dim())),
                    loader.submit(() -> multiplied(gguf, p + "attn_v.weight", c.kvDim(), c.dim())),
                    loader.submit(() -> multiplied(gguf, p + "attn_output.weight", c.dim(), c.queryDim())),
                    loader.submit(() -> multiplied(gguf, p + "ffn_gate.weight", c.ffnDim(), c.dim())),
                    loader.submit(() -> multiplied(gguf, p + "ffn_up.weight", c.ffnDim(), c.dim())),
                    loader.submit(() -> multiplied(gguf, p + "ffn_down.weight", c.dim(), c.ffnDim()))};
        }
        // Tied embeddings: models without output.weight reuse the token embedding as the output projection.
        boolean tied = !gguf.tensors().containsKey("output.weight");
        Future<WeightMatrix> embeddingLoad = loader.submit(() -> {
            WeightMatrix embedding = matrix(gguf, "token_embd.weight", c.vocabularySize(), c.dim());
            return tied ? prepared("token_embd.weight", embedding) : embedding;
        });
        Future<WeightMatrix> outputLoad = tied ? embeddingLoad
                : loader.submit(() -> multiplied(gguf, "output.weight", c.vocabularySize(), c.dim()));
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            boolean bias = c.architecture().qkvBias();
            layers[i] = new Layer(
                    vector(gguf, p + "attn_norm.weight", c.dim()),
                    done(m[i][0]), done(m[i][1]), done(m[i][2]), done(m[i][3]),
                    bias ? vector(gguf, p + "attn_q.bias", c.queryDim()) : null,
                    bias ? vector(gguf, p + "attn_k.bias", c.kvDim()) : null,
                    bias ? vector(gguf, p + "attn_v.bias", c.kvDim()) : null,
                    vector(gguf, p + "ffn_norm.weight", c.dim()),
                    done(m[i][4]), done(m[i][5]), done(m[i][6]));
        }
        float[] ropeFactors = gguf.tensors().containsKey("rope_freqs.weight")
                ? vector(gguf, "rope_freqs.weight", c.ropeDims() / 2) : null;
        return new Weights(done(embeddingLoad), layers, vector(gguf, "output_norm.weight", c.dim()), done(outputLoad), ropeFactors);
    }

    /** A matrix that is multiplied, made ready for it. */
    private static WeightMatrix multiplied(GgufFile gguf, String name, int rows, int cols) {
        return prepared(name, matrix(gguf, name, rows, cols));
    }

    private static WeightMatrix prepared(String name, WeightMatrix m) {
        try {
            m.prepareForMultiply();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage(), e);
        }
        return m;
    }

    /** The matrix a load-time task built; its failure (a bad tensor) is rethrown as it was. */
    private static WeightMatrix done(Future<WeightMatrix> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while loading weights", e);
        }
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
