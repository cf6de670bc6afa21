package io.splitstream.engine.spec;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.sampling.Sampler;
import java.util.Arrays;

/**
 * One sequence's speculative step, shared by {@link SpeculativeDecoder} (one sequence alone) and the
 * {@link io.splitstream.engine.generate.ContinuousBatcher} (many sequences in one forward):
 * <ol>
 *   <li>{@link #addRows}: draft, then add the root row (the last emitted token, at position {@code base} = the
 *       cache length) and the tree's rows (at {@code base + depth}, each row's parent its tree parent) to a
 *       tree-masked batch;</li>
 *   <li>after the forward, {@link #verify}: the verifier picks the accepted path and the tokens to emit,
 *       {@link KvCache#retain} keeps the root and the accepted path so the cache reads as if they had been
 *       decoded one by one, and the drafter learns from every verified row.</li>
 * </ol>
 * A step with no draft nodes is exactly a plain decode row, verified by sampling the root's logits.
 */
public final class SpeculativeSequence {
    private static final DraftTree EMPTY = new DraftTree(0);

    private final int kvSequence;
    private final Drafter drafter;
    private final Verifier verifier;
    private final SpeculationMode mode;
    private DraftTree tree;
    private int rootRow = -1;
    private int root;
    private int base;
    private long steps;
    private long drafted;
    private long accepted;
    private long emitted;

    /**
     * @param history tokens before the first root: the prompt and anything emitted already (the first root is its
     *                last token); the drafter {@link Drafter#begin begins} with them
     */
    public SpeculativeSequence(int kvSequence, Drafter drafter, Verifier verifier, SpeculationMode mode, int[] history,
                               int length) {
        this.kvSequence = kvSequence;
        this.drafter = drafter;
        this.verifier = verifier;
        this.mode = mode;
        drafter.begin(Arrays.copyOf(history, length));
    }

    /**
     * Drafts under {@code history[length - 1]} (at most {@code maxNodes} nodes; 0 = a plain row) and adds the
     * root and tree rows to {@code batch}, all wanting logits.
     *
     * @param base the root's position (the sequence's cache length)
     */
    public void addRows(Batch.Builder batch, int base, int[] history, int length, int maxNodes) {
        if (rootRow >= 0) {
            throw new IllegalStateException("the previous step of sequence " + kvSequence + " was not verified");
        }
        DraftTree t = maxNodes > 0 ? drafter.draft(history, length) : EMPTY;
        if (t.size() > maxNodes) {
            t = t.prefix(Math.max(0, maxNodes));
        }
        this.tree = t;
        this.root = history[length - 1];
        this.base = base;
        batch.tree();
        rootRow = batch.add(kvSequence, base, root, -1, true);
        for (int i = 0; i < t.size(); i++) {
            int parentRow = t.parent(i) < 0 ? rootRow : rootRow + 1 + t.parent(i);
            batch.add(kvSequence, base + t.depth(i), t.token(i), parentRow, true);
        }
    }

    /**
     * Verifies the step from the forward's logits (indexed by batch row), keeps the accepted path in the cache and
     * lets the drafter learn. The sampler has accepted every emitted token when this returns.
     */
    public Verification verify(float[][] logits, KvCache cache, Sampler sampler) {
        if (rootRow < 0) {
            throw new IllegalStateException("no rows added for sequence " + kvSequence);
        }
        float[] rootLogits = logits[rootRow];
        float[][] nodeLogits = Arrays.copyOfRange(logits, rootRow + 1, rootRow + 1 + tree.size());
        Verification v = verifier.verify(tree, rootLogits, nodeLogits, sampler);
        int[] keep = new int[v.acceptedNodes().length + 1];
        for (int i = 0; i < v.acceptedNodes().length; i++) {
            keep[i + 1] = v.acceptedNodes()[i] + 1; // offsets after base; the root is offset 0
        }
        cache.retain(kvSequence, base, keep);
        drafter.verified(root, tree, rootLogits, nodeLogits, v);
        steps++;
        drafted += tree.size();
        accepted += v.acceptedDraftTokens();
        emitted += v.emitted().length;
        rootRow = -1;
        tree = null;
        return v;
    }

    /** Rows the last {@link #addRows} added (root included). */
    public int rows() {
        return tree == null ? 0 : tree.size() + 1;
    }

    public Drafter drafter() {
        return drafter;
    }

    public SpeculationStats stats() {
        return new SpeculationStats(mode, steps, drafted, accepted, emitted);
    }

    /** The sequence ended: its drafter {@link Drafter#end releases} what it holds. */
    public void end() {
        drafter.end();
    }
}
