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
}
