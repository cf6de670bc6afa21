package io.splitstream.engine.model;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.tensor.Activations;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.tensor.WeightMatrix;
import java.util.HashMap;
import java.util.Map;

/**
 * The forward pass over a {@link Batch}: embeddings, then per layer RMSNorm → q/k/v → RoPE → K/V into the
 * paged cache → masked attention → output projection → residual, RMSNorm → SwiGLU → residual; then the final
 * norm and logits for the rows that ask for them. All matrix products run once per layer for the whole batch,
 * so each weight row is streamed once per step however many sequences or draft rows the batch holds.
 */
public final class Transformer {
    /** Elements per piece of element-wise work: a few vectors, so a piece is worth its hand-off. */
    private static final int ELEMENT_GRAIN = 1024;

    private final Model model;
    private final ModelConfig c;
    private final ComputePool pool;
    private final Rope rope;

    public Transformer(Model model, ComputePool pool) {
        this.model = model;
        this.c = model.config();
        this.pool = pool;
        this.rope = new Rope(c, model.weights().ropeFrequencyFactors());
    }

    public Model model() {
        return model;
    }

    public ComputePool pool() {
        return pool;
    }

    /**
     * Runs the batch, appending its rows to their sequences' caches (blocks are reserved here; a
     * {@link io.splitstream.engine.kv.KvCacheFullException} leaves the cache unchanged).
     *
     * @return logits per row ({@code null} for rows that did not ask)
     */
    public float[][] forward(Batch batch, KvCache cache, LayerListener listener) {
        int n = batch.size();
        Weights w = model.weights();
        int dim = c.dim();
        int[] slots = appendRows(batch, cache);
        int[][] visible = visibleSlots(batch, cache, slots);

        float[] x = new float[n * dim];
        for (int i = 0; i < n; i++) {
            int token = batch.tokens()[i];
            if (token < 0 || token >= c.vocabularySize()) {
                throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + c.vocabularySize());
            }
            w.tokenEmbedding().dequantizeRow(token, x, i * dim);
        }
        float[] xb = new float[n * dim];
        float[] q = new float[n * c.queryDim()];
        float[] k = new float[n * c.kvDim()];
        float[] v = new float[n * c.kvDim()];
        float[] att = new float[n * c.queryDim()];
        float[] proj = new float[n * dim];
        float[] gate = new float[n * c.ffnDim()];
        float[] up = new float[n * c.ffnDim()];
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer layer = w.layers()[l];
            rmsNorm(x, layer.attentionNorm(), xb, n);
            WeightMatrix.multiplyEach(layer.qkv(), xb, n, new float[][] {q, k, v}, pool);
            if (layer.qBias() != null) {
                addBias(q, layer.qBias(), n);
                addBias(k, layer.kBias(), n);
                addBias(v, layer.vBias(), n);
            }
            for (int i = 0; i < n; i++) {
                rope.rotate(q, i * c.queryDim(), c.heads(), batch.positions()[i]);
                rope.rotate(k, i * c.kvDim(), c.kvHeads(), batch.positions()[i]);
                cache.store(l, slots[i], k, i * c.kvDim(), v, i * c.kvDim());
            }
            attention(cache, l, q, att, visible);
            layer.wo().multiply(att, n, proj, pool);
            add(x, proj);
            rmsNorm(x, layer.ffnNorm(), xb, n);
            WeightMatrix.multiplyEach(layer.gateUp(), xb, n, new float[][] {gate, up}, pool);
            swiglu(gate, up);
            layer.down().multiply(gate, n, proj, pool);
            add(x, proj);
            listener.layerDone(l);
        }
        return logits(batch, x);
    }

    private float[][] logits(Batch batch, float[] x) {
        int n = batch.size();
        int dim = c.dim();
        int wanted = 0;
        for (boolean b : batch.wantLogits()) {
            wanted += b ? 1 : 0;
        }
        float[][] result = new float[n][];
        if (wanted == 0) {
            return result;
        }
        float[] rows = new float[wanted * dim];
        int r = 0;
        for (int i = 0; i < n; i++) {
            if (batch.wantLogits()[i]) {
                System.arraycopy(x, i * dim, rows, r++ * dim, dim);
            }
        }
        float[] normed = new float[rows.length];
        rmsNorm(rows, model.weights().outputNorm(), normed, wanted);
        int vocab = c.vocabularySize();
        float[] out = new float[wanted * vocab];
        model.weights().output().multiply(normed, wanted, out, pool);
        r = 0;
        for (int i = 0; i < n; i++) {
            if (batch.wantLogits()[i]) {
                result[i] = java.util.Arrays.copyOfRange(out, r * vocab, (r + 1) * vocab);
                r++;
            }
        }
        return result;
    }

    /** Reserves and assigns each row the next slot of its sequence. */
    private static int[] appendRows(Batch batch, KvCache cache) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int s : batch.sequences()) {
            counts.merge(s, 1, Integer::sum);
        }
        Map<Integer, Integer> start = new HashMap<>();
        synchronized (cache) {
            int need = 0;
            for (var e : counts.entrySet()) {
                need += cache.blocksNeeded(e.getKey(), cache.length(e.getKey()) + e.getValue());
            }
            if (need > cache.freeBlocks()) {
                throw new io.splitstream.engine.kv.KvCacheFullException(need, cache.freeBlocks());
            }
            for (var e : counts.entrySet()) {
                int len = cache.length(e.getKey());
                cache.reserve(e.getKey(), len + e.getValue());
                cache.setLength(e.getKey(), len + e.getValue());
                start.put(e.getKey(), len);
            }
        }
        int[] slots = new int[batch.size()];
        Map<Integer, Integer> next = new HashMap<>(start);
        for (int i = 0; i < batch.size(); i++) {
            int s = batch.sequences()[i];
            int p = next.merge(s, 1, Integer::sum) - 1;
            slots[i] = cache.slot(s, p);
        }
        return slots;
    }

    /** For each row, the cache slots it attends to, in position order. */
    private static int[][] visibleSlots(Batch batch, KvCache cache, int[] slots) {
        int n = batch.size();
        Map<Integer, int[]> prefix = new HashMap<>();
        Map<Integer, Integer> seen = new HashMap<>();
        int[][] visible = new int[n][];
        for (int i = 0; i < n; i++) {
            int s = batch.sequences()[i];
            int before = seen.merge(s, 1, Integer::sum) - 1;
            int[] committed = prefix.computeIfAbsent(s, id -> {
                int rowsOfSeq = 0;
                for (int t : batch.sequences()) {
                    rowsOfSeq += t == id ? 1 : 0;
                }
                return cache.slots(id, cache.length(id) - rowsOfSeq);
            });
            if (batch.parents() == null) {
                int[] vis = java.util.Arrays.copyOf(committed, committed.length + before + 1);
                int m = committed.length;
                for (int j = 0; j <= i; j++) {
                    if (batch.sequences()[j] == s) {
                        vis[m++] = slots[j];
                    }
                }
                visible[i] = vis;
            } else {
                int depth = 0;
                for (int a = i; a >= 0; a = batch.parents()[a]) {
                    depth++;
                }
                int[] vis = java.util.Arrays.copyOf(committed, committed.length + depth);
                int m = vis.length;
                for (int a = i; a >= 0; a = batch.parents()[a]) {
                    vis[--m] = slots[a];
                }
                visible[i] = vis;
            }
        }
        return visible;
    }

    private void attention(KvCache cache, int layer, float[] q, float[] att, int[][] visible) {
        int heads = c.heads();
        int headDim = c.headDim();
        int group = c.groupSize();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        int rows = visible.length;
        java.util.Arrays.fill(att, 0f);
        pool.parallelFor(rows * heads, (from, to) -> {
            float[] scores = null;
            for (int task = from; task < to; task++) {
                int i = task / heads;
                int h = task % heads;
                int[] vis = visible[i];
                if (scores == null || scores.length < vis.length) {
                    scores = new float[Math.max(vis.length, 64)];
                }
                int qOff = i * c.queryDim() + h * headDim;
                int kvHead = h / group;
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < vis.length; t++) {
                    float s = cache.dotKey(layer, vis[t], kvHead, q, qOff) * scale;
                    scores[t] = s;
                    max = Math.max(max, s);
                }
                double sum = Activations.expShifted(scores, vis.length, max);
                float inv = (float) (1.0 / sum);
                for (int t = 0; t < vis.length; t++) {
                    cache.addValue(layer, vis[t], kvHead, scores[t] * inv, att, qOff);
                }
            }
        });
    }

    private void rmsNorm(float[] x, float[] weight, float[] out, int rows) {
        int dim = c.dim();
        for (int r = 0; r < rows; r++) {
            int off = r * dim;
            double sum = 0;
            for (int i = 0; i < dim; i++) {
                sum += (double) (x[off + i] * x[off + i]);
            }
            float scale = (float) (1.0f / Math.sqrt((float) (sum / dim) + c.rmsEps()));
            for (int i = 0; i < dim; i++) {
                out[off + i] = (x[off + i] * scale) * weight[i];
            }
        }
    }

    private static void addBias(float[] x, float[] bias, int rows) {
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < bias.length; i++) {
                x[r * bias.length + i] += bias[i];
            }
        }
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private void swiglu(float[] gate, float[] up) {
        pool.parallelFor(gate.length, ELEMENT_GRAIN, (from, to) -> Activations.swiglu(gate, up, from, to));
    }

}
