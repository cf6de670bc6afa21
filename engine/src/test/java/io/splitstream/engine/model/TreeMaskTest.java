package io.splitstream.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.testing.SharedModels;
import org.junit.jupiter.api.Test;

/**
 * One forward over a draft tree gives, for every node, the logits a causal run along that node's path gives; and
 * keeping an accepted path with {@link KvCache#retain} leaves the cache as if that path had been decoded.
 */
class TreeMaskTest {

    @Test
    void treeRowsEqualTheirPathsAndRetainKeepsThePath() throws Exception {
        try (Model m = Model.load(SharedModels.STORIES_F32); ComputePool pool = new ComputePool(2)) {
            Transformer t = new Transformer(m, pool);
            int[] prompt = m.tokenizer().encode("Once upon a time", true, false);
            KvCache cache = m.newKvCache(KvPrecision.F32, 256);
            int seq = cache.newSequence();
            t.forward(Batch.chunk(seq, 0, prompt, false), cache, LayerListener.NONE);
            int base = prompt.length;
            // tree: 0:a(root) 1:b(child of 0) 2:c(child of 0) 3:d(child of 2)
            int[] tokens = {432, 383, 286, 261};
            int[] parents = {-1, 0, 0, 2};
            int[] depth = {0, 1, 1, 2};
            Batch.Builder b = new Batch.Builder().tree();
            for (int i = 0; i < 4; i++) {
                b.add(seq, base + depth[i], tokens[i], parents[i], true);
            }
            float[][] tree = t.forward(b.build(), cache, LayerListener.NONE);
            int[][] paths = {{432}, {432, 383}, {432, 286}, {432, 286, 261}};
            for (int node = 0; node < 4; node++) {
                KvCache ref = m.newKvCache(KvPrecision.F32, 256);
                int r = ref.newSequence();
                int[] full = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompt), java.util.Arrays.stream(paths[node])).toArray();
                float[] expected = t.forward(Batch.chunk(r, 0, full, true), ref, LayerListener.NONE)[full.length - 1];
                assertArrayEquals(expected, tree[node], 1e-4f, "node " + node);
            }
            // accept path 0 -> 2 -> 3 and continue: must equal the causal continuation
            cache.retain(seq, base, new int[] {0, 2, 3});
            assertEquals(base + 3, cache.length(seq));
            float[] next = t.forward(Batch.chunk(seq, base + 3, new int[] {300}, true), cache, LayerListener.NONE)[0];
            KvCache ref = m.newKvCache(KvPrecision.F32, 256);
            int r = ref.newSequence();
            int[] full = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompt), java.util.stream.IntStream.of(432, 286, 261, 300)).toArray();
            assertArrayEquals(t.forward(Batch.chunk(r, 0, full, true), ref, LayerListener.NONE)[full.length - 1], next, 1e-4f);
        }
    }

    /**
     * Several sequences' trees in one forward, beside another sequence's prompt chunk (a chain) and a plain decode
     * row: every row's logits equal its own sequence's causal run, so the batcher can verify many speculating
     * sequences in one step.
     */
    @Test
    void treesOfSeveralSequencesShareOneForward() throws Exception {
        try (Model m = Model.load(SharedModels.STORIES_F32); ComputePool pool = new ComputePool(2)) {
            Transformer t = new Transformer(m, pool);
            KvCache cache = m.newKvCache(KvPrecision.F32, 512);
            int[][] prompts = {m.tokenizer().encode("Once upon a time", true, false),
                    m.tokenizer().encode("The cat sat on the", true, false),
                    m.tokenizer().encode("Tom and his dog", true, false)};
            int[] seqs = new int[3];
            for (int s = 0; s < 3; s++) {
                seqs[s] = cache.newSequence();
                t.forward(Batch.chunk(seqs[s], 0, prompts[s], false), cache, LayerListener.NONE);
            }
            int chunkSeq = cache.newSequence();
            int[] chunk = m.tokenizer().encode("One day, a little girl", true, false);
            // sequences 0 and 1: root + tree {a, b under root; c under a}; sequence 2: one plain row; then a chunk
            int[][] tokens = {{432, 383, 286, 261}, {300, 261, 383, 432}};
            int[] parents = {-1, 0, 0, 1}; // within a tree, relative to its root row
            int[] depth = {0, 1, 1, 2};
            int[][][] paths = new int[2][4][];
            Batch.Builder b = new Batch.Builder().tree();
            for (int s = 0; s < 2; s++) {
                int rootRow = b.size();
                for (int i = 0; i < 4; i++) {
                    b.add(seqs[s], prompts[s].length + depth[i], tokens[s][i], parents[i] < 0 ? -1 : rootRow + parents[i], true);
                }
                paths[s] = new int[][] {{tokens[s][0]}, {tokens[s][0], tokens[s][1]}, {tokens[s][0], tokens[s][2]},
                        {tokens[s][0], tokens[s][1], tokens[s][3]}};
            }
            int plainRow = b.add(seqs[2], prompts[2].length, 450, -1, true);
            int previous = -1;
            for (int i = 0; i < chunk.length; i++) {
                previous = b.add(chunkSeq, i, chunk[i], previous, i == chunk.length - 1);
            }
            float[][] logits = t.forward(b.build(), cache, LayerListener.NONE);
            for (int s = 0; s < 2; s++) {
                for (int node = 0; node < 4; node++) {
                    int[] full = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompts[s]),
                            java.util.Arrays.stream(paths[s][node])).toArray();
                    assertArrayEquals(causal(m, t, full), logits[s * 4 + node], 1e-4f, "sequence " + s + " node " + node);
                }
            }
            int[] plainFull = java.util.stream.IntStream.concat(java.util.Arrays.stream(prompts[2]), java.util.stream.IntStream.of(450)).toArray();
            assertArrayEquals(causal(m, t, plainFull), logits[plainRow], 1e-4f, "plain row");
            assertArrayEquals(causal(m, t, chunk), logits[previous], 1e-4f, "prompt chunk as a chain");
        }
    }

    private static float[] causal(Model m, Transformer t, int[] tokens) {
        KvCache ref = m.newKvCache(KvPrecision.F32, 256);
        int r = ref.newSequence();
        return t.forward(Batch.chunk(r, 0, tokens, true), ref, LayerListener.NONE)[tokens.length - 1];
    }
}
