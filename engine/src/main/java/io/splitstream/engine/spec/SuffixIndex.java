package io.splitstream.engine.spec;

import java.util.Arrays;

/**
 * Retrieval drafting (prompt lookup / REST style): token documents (a request's prompt, RAG passages, its own
 * output so far, or a shared corpus) indexed so that the longest suffix of the recent tokens that occurred
 * before can be found, and what followed it proposed as draft branches.
 *
 * <p>Index: for every match length n in 1..maxMatch, a hash chain over the n-grams ending at each position
 * (an open-addressing table of n-gram hash → latest end position, and per position a link to the previous
 * end position with the same hash). Adding a token costs O(maxMatch); a lookup walks the chain of the
 * longest n that matches, most recent occurrences first, comparing tokens to rule out hash collisions.
 * Memory: (maxMatch + 2) × 4 bytes per token plus one table per n sized by its distinct n-grams (8 bytes a
 * slot, load ≤ 3/4) — at most ~50 bytes a token at maxMatch 8, less on real text where short n-grams repeat.
 * N-grams never span two documents, and continuations stop at a document's end.
 *
 * <p>Branches from several occurrences are merged into a trie; nodes are kept by how many occurrences pass
 * through them (REST keeps the most frequent prefixes), best first, so the proposal is a tree under the
 * node budget.
 */
public final class SuffixIndex {
    public static final int DEFAULT_MAX_MATCH = 8;
    /** Occurrences gathered per lookup at most: enough to rank continuations, bounded for latency. */
    public static final int DEFAULT_MAX_OCCURRENCES = 32;

    private final int maxMatch;
    private final int maxOccurrences;
    private int[] tokens = new int[1024];
    private int[] documentStart = new int[1024]; // per position: first position of its document
    private int size;
    private int currentDocumentStart;
    private final int[][] previous; // [n-1][position] -> previous end position with the same n-gram hash, -1
    // Per n: open addressing, 32-bit hash -> latest end position. A 32-bit key may merge two n-grams' chains;
    // lookups compare tokens anyway, so that only costs a wasted visit. Each table grows with its own key count
    // (n = 1 never exceeds the vocabulary).
    private final int[][] tableKeys;  // [n-1][slot] -> hash (0 = empty, hashes are forced non-zero)
    private final int[][] tableHeads; // [n-1][slot] -> latest end position
    private final int[] tableUsed;

    public SuffixIndex() {
        this(DEFAULT_MAX_MATCH, DEFAULT_MAX_OCCURRENCES);
    }

    public SuffixIndex(int maxMatch, int maxOccurrences) {
        if (maxMatch < 1 || maxOccurrences < 1) {
            throw new IllegalArgumentException("maxMatch and maxOccurrences must be >= 1");
        }
        this.maxMatch = maxMatch;
        this.maxOccurrences = maxOccurrences;
        this.previous = new int[maxMatch][1024];
        this.tableKeys = new int[maxMatch][1 << 8];
        this.tableHeads = new int[maxMatch][1 << 8];
        this.tableUsed = new int[maxMatch];
    }

    public int size() {
        return size;
    }

    public int maxMatch() {
        return maxMatch;
    }

    /** Starts a new document holding {@code document}; later {@link #append}s extend it. */
    public void addDocument(int[] document) {
        currentDocumentStart = size;
        for (int t : document) {
            append(t);
        }
    }

    /** Appends a token to the current document (e.g. each accepted token of a generation). */
    public void append(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token must be >= 0, got " + token);
        }
        ensureCapacity(size + 1);
        int pos = size++;
        tokens[pos] = token;
        documentStart[pos] = currentDocumentStart;
        int h = 0;
        for (int n = 1; n <= maxMatch; n++) {
            int first = pos - n + 1;
            if (first < currentDocumentStart) {
                for (int m = n; m <= maxMatch; m++) {
                    previous[m - 1][pos] = -1;
                }
                break;
            }
            h = mix(h, tokens[first], n);
            previous[n - 1][pos] = putHead(n, h, pos);
        }
    }

    /** Result of a lookup: the longest match length found (0 = none) and the branches proposed. */
    public record Match(int length, int occurrences) {
    }

    /**
     * Proposes continuations of the longest suffix of {@code context[0, length)} found in the index (tried
     * from maxMatch tokens down to 1) as branches under the root, which is {@code context[length - 1]}.
     */
    public DraftTree propose(int[] context, int length, int budget, int maxDepth) {
        DraftTree tree = new DraftTree(Math.max(0, budget));
        proposeInto(tree, context, length, budget, maxDepth);
        return tree;
    }

    /**
     * Adds up to {@code budget} nodes of continuations under the root of {@code tree}, sharing nodes it holds.
     *
     * @return the match found
     */
    public Match proposeInto(DraftTree tree, int[] context, int length, int budget, int maxDepth) {
        if (budget <= 0 || length <= 0 || size == 0) {
            return new Match(0, 0);
        }
        int[] ends = new int[maxOccurrences];
        for (int n = Math.min(maxMatch, length); n >= 1; n--) {
            int found = occurrences(context, length, n, ends);
            if (found > 0) {
                addBranches(tree, ends, found, budget, maxDepth);
                return new Match(n, found);
            }
        }
        return new Match(0, 0);
    }

    /** End positions (latest first) of earlier occurrences of the last n context tokens that have a continuation. */
    private int occurrences(int[] context, int length, int n, int[] ends) {
        int h = 0;
        for (int i = 1; i <= n; i++) {
            h = mix(h, context[length - i], i);
        }
        int found = 0;
        int visited = 0;
        for (int pos = head(n, h); pos >= 0 && found < ends.length && visited < 16 * ends.length;
             pos = previous[n - 1][pos], visited++) {
            if (pos + 1 >= size || documentStart[pos + 1] != documentStart[pos]) {
                continue; // nothing follows inside the document (e.g. the context's own tail)
            }
            boolean same = true;
            for (int i = 0; i < n && same; i++) {
                same = tokens[pos - i] == context[length - 1 - i];
            }
            if (same) {
                ends[found++] = pos;
            }
        }
        return found;
    }

    private void addBranches(DraftTree tree, int[] ends, int found, int budget, int maxDepth) {
        // Trie of continuations with pass-through counts; then keep the most travelled nodes.
        int cap = found * maxDepth;
        int[] trieToken = new int[cap];
        int[] trieParent = new int[cap];
        int[] trieCount = new int[cap];
        int[] trieFirstSeen = new int[cap];
        int nodes = 0;
        for (int o = 0; o < found; o++) {
            int parent = -1;
            for (int d = 1; d <= maxDepth; d++) {
                int pos = ends[o] + d;
                if (pos >= size || documentStart[pos] != documentStart[ends[o]]) {
                    break;
                }
                int t = tokens[pos];
                int node = -1;
                for (int i = 0; i < nodes; i++) {
                    if (trieParent[i] == parent && trieToken[i] == t) {
                        node = i;
                        break;
                    }
                }
                if (node < 0) {
                    node = nodes++;
                    trieToken[node] = t;
                    trieParent[node] = parent;
                    trieFirstSeen[node] = o;
                }
                trieCount[node]++;
                parent = node;
            }
        }
        // Best first by count (then most recent occurrence, then shallower); counts never rise with depth.
        Integer[] order = new Integer[nodes];
        for (int i = 0; i < nodes; i++) {
            order[i] = i;
        }
        int[] depth = new int[nodes];
        for (int i = 0; i < nodes; i++) {
            depth[i] = trieParent[i] < 0 ? 1 : depth[trieParent[i]] + 1;
        }
        Arrays.sort(order, (a, b) -> trieCount[a] != trieCount[b] ? trieCount[b] - trieCount[a]
                : trieFirstSeen[a] != trieFirstSeen[b] ? trieFirstSeen[a] - trieFirstSeen[b] : depth[a] - depth[b]);
        int[] placed = new int[nodes];
        Arrays.fill(placed, -2); // -2 = not placed
        int added = 0;
        for (int i = 0; i < nodes && added < budget; i++) {
            int node = order[i];
            int p = trieParent[node];
            if (p >= 0 && placed[p] < 0) {
                continue; // parent did not make it (budget or tie order): skip the orphan
            }
            int before = tree.size();
            int treeNode = tree.add(p < 0 ? -1 : placed[p], trieToken[node]);
            if (treeNode < 0) {
                break;
            }
            placed[node] = treeNode;
            added += tree.size() - before;
        }
    }

    /** Bytes held by the index (token arrays, chains and hash tables). */
    public long sizeBytes() {
        long bytes = (long) tokens.length * Integer.BYTES * (2 + maxMatch);
        for (int[] keys : tableKeys) {
            bytes += (long) keys.length * 2 * Integer.BYTES;
        }
        return bytes;
    }

    // --- hashing ---

    private static int mix(int h, int token, int n) {
        long x = ((long) h << 32 ^ (token + 0x9E3779B97F4A7C15L * n)) * 0xBF58476D1CE4E5B9L;
        x ^= x >>> 29;
        int y = (int) (x ^ (x >>> 32));
        return y == 0 ? 1 : y;
    }

    private static int slotOf(int h, int mask) {
        return (h ^ (h >>> 16)) * 0x45D9F3B & mask;
    }

    private int head(int n, int h) {
        int[] keys = tableKeys[n - 1];
        int mask = keys.length - 1;
        for (int s = slotOf(h, mask); ; s = (s + 1) & mask) {
            if (keys[s] == 0) {
                return -1;
            }
            if (keys[s] == h) {
                return tableHeads[n - 1][s];
            }
        }
    }

    /** Makes {@code pos} the latest end of hash h; returns the previous latest, -1 if none. */
    private int putHead(int n, int h, int pos) {
        int[] keys = tableKeys[n - 1];
        int[] heads = tableHeads[n - 1];
        int mask = keys.length - 1;
        for (int s = slotOf(h, mask); ; s = (s + 1) & mask) {
            if (keys[s] == 0) {
                keys[s] = h;
                heads[s] = pos;
                if (++tableUsed[n - 1] * 4 > keys.length * 3) {
                    grow(n);
                }
                return -1;
            }
            if (keys[s] == h) {
                int old = heads[s];
                heads[s] = pos;
                return old;
            }
        }
    }

    private void grow(int n) {
        int[] oldKeys = tableKeys[n - 1];
        int[] oldHeads = tableHeads[n - 1];
        int[] keys = new int[oldKeys.length * 2];
        int[] heads = new int[keys.length];
        int mask = keys.length - 1;
        for (int s = 0; s < oldKeys.length; s++) {
            if (oldKeys[s] != 0) {
                int slot = slotOf(oldKeys[s], mask);
                while (keys[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = oldKeys[s];
                heads[slot] = oldHeads[s];
            }
        }
        tableKeys[n - 1] = keys;
        tableHeads[n - 1] = heads;
    }

    private void ensureCapacity(int needed) {
        if (needed <= tokens.length) {
            return;
        }
        int grown = Math.max(needed, tokens.length * 2);
        tokens = Arrays.copyOf(tokens, grown);
        documentStart = Arrays.copyOf(documentStart, grown);
        for (int n = 0; n < maxMatch; n++) {
            previous[n] = Arrays.copyOf(previous[n], grown);
        }
    }
}
