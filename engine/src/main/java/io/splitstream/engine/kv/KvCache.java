package io.splitstream.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A paged KV cache shared by many sequences: storage is cut into fixed-size blocks of token slots, each sequence
 * owns a block table, and a sequence's position p lives in slot {@code table[p / blockTokens] * blockTokens +
 * p % blockTokens}. Structural operations are synchronized (services reserve blocks from their own threads);
 * element reads and writes are not, because only the thread running the forward pass touches a sequence's
 * slots while it runs.
 */
public final class KvCache {
    private final ModelFingerprint fingerprint;
    private final KvPrecision precision;
    private final int layers;
    private final int kvDim;
    private final int kvHeads;
    private final int blockTokens;
    private final int totalBlocks;
    private final KvStorage storage;
    private final int[] freeStack;
    private int freeCount;
    private final Map<Integer, Sequence> sequences = new HashMap<>();
    private int nextSequenceId = 1;

    private static final class Sequence {
        int[] blocks = new int[4];
        int blockCount;
        int length;
    }

    public KvCache(ModelFingerprint fingerprint, int layers, int kvHeads, int headDim, KvPrecision precision,
                   int capacityTokens, int blockTokens) {
        if (capacityTokens <= 0 || blockTokens <= 0) {
            throw new IllegalArgumentException("KV capacity and block size must be positive");
        }
        this.fingerprint = fingerprint;
        this.precision = precision;
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.kvDim = kvHeads * headDim;
        this.blockTokens = blockTokens;
        this.totalBlocks = (capacityTokens + blockTokens - 1) / blockTokens;
        this.storage = KvStorage.create(precision, layers, totalBlocks * blockTokens, kvHeads, headDim);
        freeStack = new int[totalBlocks];
        for (int i = 0; i < totalBlocks; i++) {
            freeStack[i] = totalBlocks - 1 - i;
        }
        freeCount = totalBlocks;
    }

    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public KvPrecision precision() {
        return precision;
    }

    public int blockTokens() {
        return blockTokens;
    }

    public int totalBlocks() {
        return totalBlocks;
    }

    public synchronized int freeBlocks() {
        return freeCount;
    }

    public synchronized int usedBlocks() {
        return totalBlocks - freeCount;
    }

    public int kvDim() {
        return kvDim;
    }

    public long bytesPerToken() {
        return storage.bytesPerSlot();
    }

    public synchronized int activeSequences() {
        return sequences.size();
    }

    public synchronized int newSequence() {
        int id = nextSequenceId++;
        sequences.put(id, new Sequence());
        return id;
    }

    /** Frees all of a sequence's blocks; unknown ids are ignored so cancellation paths can call it twice. */
    public synchronized void release(int sequence) {
        Sequence s = sequences.remove(sequence);
        if (s != null) {
            for (int i = 0; i < s.blockCount; i++) {
                freeStack[freeCount++] = s.blocks[i];
            }
        }
    }

    public synchronized int length(int sequence) {
        return seq(sequence).length;
    }

    /** Blocks needed to grow a sequence to {@code tokens} positions. */
    public synchronized int blocksNeeded(int sequence, int tokens) {
        return Math.max(0, ceilBlocks(tokens) - seq(sequence).blockCount);
    }

    /**
     * Makes room for positions {@code [0, tokens)}, allocating all blocks or none.
     *
     * @throws KvCacheFullException when too few blocks are free
     */
    public synchronized void reserve(int sequence, int tokens) {
        Sequence s = seq(sequence);
        int need = ceilBlocks(tokens) - s.blockCount;
        if (need <= 0) {
            return;
        }
        if (need > freeCount) {
            throw new KvCacheFullException(need, freeCount);
        }
        if (s.blocks.length < s.blockCount + need) {
            s.blocks = Arrays.copyOf(s.blocks, Math.max(s.blocks.length * 2, s.blockCount + need));
        }
        for (int i = 0; i < need; i++) {
            s.blocks[s.blockCount++] = freeStack[--freeCount];
        }
    }

    /** Records that positions {@code [0, length)} are filled (they must be reserved). */
    public synchronized void setLength(int sequence, int length) {
        Sequence s = seq(sequence);
        if (length < 0 || ceilBlocks(length) > s.blockCount) {
            throw new IllegalArgumentException("length " + length + " exceeds the reserved blocks of sequence " + sequence);
        }
        s.length = length;
    }

    /** Drops positions from {@code length} on and frees the blocks no longer needed. */
    public synchronized void truncate(int sequence, int length) {
        Sequence s = seq(sequence);
        if (length > s.length) {
            throw new IllegalArgumentException("cannot truncate sequence of length " + s.length + " to " + length);
        }
        s.length = length;
        int keep = ceilBlocks(length);
        while (s.blockCount > keep) {
            freeStack[freeCount++] = s.blocks[--s.blockCount];
        }
    }

    /** A new sequence holding a copy of {@code sequence}'s positions. */
    public synchronized int fork(int sequence) {
        Sequence source = seq(sequence);
        int id = newSequence();
        try {
            reserve(id, source.length);
        } catch (KvCacheFullException e) {
            release(id);
            throw e;
        }
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int p = 0; p < source.length; p++) {
            for (int l = 0; l < layers; l++) {
                storage.load(l, slot(sequence, p), k, 0, v, 0);
                storage.store(l, slot(id, p), k, 0, v, 0);
            }
        }
        seq(id).length = source.length;
        return id;
    }

    /**
     * Keeps, after position {@code base}, only the rows at offsets {@code keep} (ascending), moved to
     * {@code base, base+1, ...}: after verifying a draft tree this leaves the accepted path in place. The
     * sequence's blocks stay reserved (a batcher reserved room for the next step's tree rows; taking it back here
     * would let another sequence claim it between steps); {@link #truncate} or {@link #release} frees them.
     */
    public synchronized void retain(int sequence, int base, int[] keep) {
        Sequence s = seq(sequence);
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] != i) {
                for (int l = 0; l < layers; l++) {
                    storage.load(l, slot(sequence, base + keep[i]), k, 0, v, 0);
                    storage.store(l, slot(sequence, base + i), k, 0, v, 0);
                }
            }
        }
        if (base + keep.length > s.length) {
            throw new IllegalArgumentException("retained rows beyond the sequence's length");
        }
        s.length = base + keep.length;
    }

    /** Global slot index of a sequence's position (must be reserved). */
    public int slot(int sequence, int position) {
        Sequence s;
        synchronized (this) {
            s = seq(sequence);
        }
        return s.blocks[position / blockTokens] * blockTokens + position % blockTokens;
    }

    /** Slots of positions {@code [0, count)} in order, for the attention loop. */
    public synchronized int[] slots(int sequence, int count) {
        Sequence s = seq(sequence);
        int[] out = new int[count];
        for (int p = 0; p < count; p++) {
            out[p] = s.blocks[p / blockTokens] * blockTokens + p % blockTokens;
        }
        return out;
    }

    public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        storage.store(layer, slot, k, kOffset, v, vOffset);
    }

    public float dotKey(int layer, int slot, int kvHead, float[] q, int qOffset) {
        return storage.dotKey(layer, slot, kvHead, q, qOffset);
    }

    public void addValue(int layer, int slot, int kvHead, float weight, float[] out, int outOffset) {
        storage.addValue(layer, slot, kvHead, weight, out, outOffset);
    }

    /** One layer's K/V for positions {@code [from, from + tokens)} as floats. */
    public KvChunk export(int sequence, int layer, int from, int tokens) {
        if (from < 0 || tokens <= 0 || from + tokens > length(sequence)) {
            throw new IllegalArgumentException("export range [" + from + ", " + (from + tokens) + ") outside sequence of length "
                    + length(sequence));
        }
        float[] k = new float[tokens * kvDim];
        float[] v = new float[tokens * kvDim];
        for (int t = 0; t < tokens; t++) {
            storage.load(layer, slot(sequence, from + t), k, t * kvDim, v, t * kvDim);
        }
        return new KvChunk(layer, from, tokens, k, v);
    }

    /**
     * Writes an exported chunk into reserved positions. The caller checks the fingerprint once per transfer
     * ({@link #checkFingerprint}); this checks shapes.
     */
    public void importChunk(int sequence, KvChunk chunk) {
        if (chunk.layer() < 0 || chunk.layer() >= layers || chunk.keys().length != chunk.tokens() * kvDim) {
            throw new IllegalArgumentException("KV chunk for layer " + chunk.layer() + " with " + chunk.keys().length
                    + " elements does not fit this cache (" + layers + " layers, kv dim " + kvDim + ")");
        }
        reserve(sequence, chunk.fromPosition() + chunk.tokens());
        for (int t = 0; t < chunk.tokens(); t++) {
            storage.store(chunk.layer(), slot(sequence, chunk.fromPosition() + t), chunk.keys(), t * kvDim,
                    chunk.values(), t * kvDim);
        }
    }

    /**
     * Refuses KV state from another model.
     *
     * @param allowOtherWeights accept same-shaped state computed by different weights of the same model family
     *                          (a decode instance on a Q8 file fed by an F32 prefill)
     */
    public void checkFingerprint(ModelFingerprint source, boolean allowOtherWeights) {
        boolean ok = allowOtherWeights ? fingerprint.sameShapes(source) : fingerprint.sameModel(source);
        if (!ok) {
            throw new IllegalArgumentException("KV state from model " + source + " does not match this cache's model "
                    + fingerprint);
        }
    }

    private Sequence seq(int id) {
        Sequence s = sequences.get(id);
        if (s == null) {
            throw new IllegalArgumentException("unknown KV sequence " + id);
        }
        return s;
    }

    private int ceilBlocks(int tokens) {
        return (tokens + blockTokens - 1) / blockTokens;
    }

    public int layers() {
        return layers;
    }

    public int kvHeads() {
        return kvHeads;
    }
}
