package io.splitstream.engine.spec;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Token Recycling (Luo et al., ACL 2025): the target's own top-k predictions, remembered per input token,
 * drafted again the next time that token shows up. State is a vocab × k table of token ids (-1 = empty);
 * row t holds the top-k next tokens the target predicted the last time t was an input. It costs nothing to
 * compute (the verification forward produces the logits anyway) and is meant to be kept across requests
 * ("hot start"), so one instance serves every request of a model.
 *
 * <p>Not synchronized: one engine thread updates it. Concurrent readers may see a row mid-update, which only
 * makes a draft worse, never wrong — verification decides what is emitted.
 */
public final class TokenRecycler {
    public static final int DEFAULT_K = 8;
    private static final int MAGIC = 0x53535452; // "SSTR"
    private static final int FORMAT_VERSION = 1;

    private final int vocabularySize;
    private final int k;
    private final int[] table;

    public TokenRecycler(int vocabularySize) {
        this(vocabularySize, DEFAULT_K);
    }

    public TokenRecycler(int vocabularySize, int k) {
        if (vocabularySize <= 0 || k <= 0) {
            throw new IllegalArgumentException("vocabulary size and k must be > 0, got " + vocabularySize + ", " + k);
        }
        if ((long) vocabularySize * k > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("table of " + vocabularySize + " x " + k + " is too large");
        }
        this.vocabularySize = vocabularySize;
        this.k = k;
        this.table = new int[vocabularySize * k];
        Arrays.fill(table, -1);
    }

    public int vocabularySize() {
        return vocabularySize;
    }

    public int k() {
        return k;
    }

    /** Candidate {@code column} of {@code token}'s row, -1 when empty. */
    public int candidate(int token, int column) {
        return table[token * k + column];
    }

    /**
     * Drafts a tree under {@code lastToken} by expanding {@link TreeTemplate#forBudget} breadth-first: a
     * template node takes column c of its parent's token's row. Nodes whose row entry is empty are dropped
     * with their subtree.
     */
    public DraftTree propose(int lastToken, int budget) {
        DraftTree tree = new DraftTree(Math.max(0, budget));
        proposeInto(tree, -1, lastToken, budget);
        return tree;
    }

    /**
     * Adds up to {@code budget} template nodes under {@code parent} (-1 = root) of an existing tree, whose
     * token is {@code parentToken}; nodes the tree already holds are shared, not duplicated.
     *
     * @return nodes added
     */
    public int proposeInto(DraftTree tree, int parent, int parentToken, int budget) {
        checkToken(parentToken);
        TreeTemplate template = TreeTemplate.forBudget(budget);
        int[] placed = new int[template.size()]; // template node -> tree node, -1 when dropped
        int added = 0;
        for (int i = 0; i < template.size() && added < budget && !tree.isFull(); i++) {
            int tp = template.parent(i);
            int treeParent = tp < 0 ? parent : placed[tp];
            int fromToken = tp < 0 ? parentToken : (treeParent < 0 ? -1 : tree.token(treeParent));
            placed[i] = -1;
            if ((tp >= 0 && treeParent < 0) || template.column(i) >= k) {
                continue;
            }
            int token = table[fromToken * k + template.column(i)];
            if (token < 0) {
                continue;
            }
            int before = tree.size();
            placed[i] = tree.add(treeParent, token);
            added += tree.size() - before;
        }
        return added;
    }

    /**
     * Overwrites {@code token}'s row with the top-k of {@code logits} (the target's prediction after
     * {@code token}), best first, ties to the lower id. Overwrite rather than merge: the latest context is the
     * best guess for the next occurrence.
     */
    public void update(int token, float[] logits) {
        checkToken(token);
        if (logits.length != vocabularySize) {
            throw new IllegalArgumentException("logits must have " + vocabularySize + " entries, got " + logits.length);
        }
        overwrite(token, topCandidates(logits, k));
    }

    /**
     * Overwrites {@code token}'s row with {@code candidates} (best first, at most k; missing columns become
     * empty): what {@link #update} does when only the target's top-k reached this table, e.g. from a remote decoder.
     */
    public void overwrite(int token, int[] candidates) {
        checkToken(token);
        if (candidates.length > k) {
            throw new IllegalArgumentException("at most " + k + " candidates per row, got " + candidates.length);
        }
        for (int id : candidates) {
            if (id < -1 || id >= vocabularySize) {
                throw new IllegalArgumentException("candidate " + id + " outside the vocabulary of " + vocabularySize);
            }
        }
        int row = token * k;
        for (int c = 0; c < k; c++) {
            table[row + c] = c < candidates.length ? candidates[c] : -1;
        }
    }

    /**
     * The ids of the {@code k} largest logits, best first, ties to the lower id, NaN skipped (fewer than k when
     * fewer are numbers). Partial selection: one pass keeping a sorted k-array, O(V) typically.
     */
    public static int[] topCandidates(float[] logits, int k) {
        int[] ids = new int[k];
        float[] values = new float[k];
        int count = 0;
        for (int id = 0; id < logits.length; id++) {
            float v = logits[id];
            if (count == k && !(v > values[k - 1])) {
                continue; // not better than the current k-th (ties keep the lower id already held); NaN skipped
            }
            if (Float.isNaN(v)) {
                continue;
            }
            int pos = count < k ? count++ : k - 1;
            while (pos > 0 && v > values[pos - 1]) {
                values[pos] = values[pos - 1];
                ids[pos] = ids[pos - 1];
                pos--;
            }
            values[pos] = v;
            ids[pos] = id;
        }
        return count == k ? ids : Arrays.copyOf(ids, count);
    }

    /** Bytes of the table (ids are int32: 512 × 8 → 16 KiB, 128 K × 8 → 4 MiB). */
    public long sizeBytes() {
        return (long) table.length * Integer.BYTES;
    }

    /** Writes a header (magic, format version, vocabulary size, k) and the table, so the hot state survives restarts. */
    public void snapshot(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(new java.io.BufferedOutputStream(out));
        data.writeInt(MAGIC);
        data.writeInt(FORMAT_VERSION);
        data.writeInt(vocabularySize);
        data.writeInt(k);
        for (int id : table) {
            data.writeInt(id);
        }
        data.flush();
    }

    /**
     * Replaces the table with a {@link #snapshot}.
     *
     * @throws IOException if the stream is not a snapshot, has another format version, or was taken for another
     *                     vocabulary size or k (the table is then left unchanged)
     */
    public void load(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(new java.io.BufferedInputStream(in));
        int magic = data.readInt();
        if (magic != MAGIC) {
            throw new IOException("not a token-recycler snapshot (magic 0x" + Integer.toHexString(magic) + ")");
        }
        int version = data.readInt();
        if (version != FORMAT_VERSION) {
            throw new IOException("token-recycler snapshot format version " + version + " is not supported (expected "
                    + FORMAT_VERSION + ")");
        }
        int vocab = data.readInt();
        int snapK = data.readInt();
        if (vocab != vocabularySize || snapK != k) {
            throw new IOException("token-recycler snapshot is for vocabulary " + vocab + " with k = " + snapK
                    + ", this recycler has vocabulary " + vocabularySize + " with k = " + k);
        }
        int[] loaded = new int[table.length];
        for (int i = 0; i < loaded.length; i++) {
            int id = data.readInt();
            if (id < -1 || id >= vocabularySize) {
                throw new IOException("token-recycler snapshot holds token id " + id + " outside the vocabulary");
            }
            loaded[i] = id;
        }
        System.arraycopy(loaded, 0, table, 0, table.length);
    }

    private void checkToken(int token) {
        if (token < 0 || token >= vocabularySize) {
            throw new IllegalArgumentException("token " + token + " outside the vocabulary of " + vocabularySize);
        }
    }
}
