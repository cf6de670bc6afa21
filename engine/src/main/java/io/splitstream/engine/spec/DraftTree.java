package io.splitstream.engine.spec;

/**
 * Draft tokens arranged as a tree under the root, which is the last accepted token (not stored here: it is
 * the first row of the verification batch). Node i has a token, a parent index ({@code -1} = child of the
 * root) and a depth (1 for the root's children). Parents always precede their children, which is the order
 * {@link io.splitstream.engine.model.Batch} requires, and siblings never repeat a token: a duplicate would
 * cost a row without ever raising the chance of acceptance.
 */
public final class DraftTree {
    private final int capacity;
    private final int[] tokens;
    private final int[] parents;
    private final int[] depths;
    private int size;

    /** @param capacity the node budget: {@link #add} refuses nodes beyond it */
    public DraftTree(int capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must be >= 0, got " + capacity);
        }
        this.capacity = capacity;
        this.tokens = new int[capacity];
        this.parents = new int[capacity];
        this.depths = new int[capacity];
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return capacity;
    }

    public boolean isFull() {
        return size == capacity;
    }

    public int token(int node) {
        check(node);
        return tokens[node];
    }

    public int parent(int node) {
        check(node);
        return parents[node];
    }

    /** 1 for children of the root. */
    public int depth(int node) {
        check(node);
        return depths[node];
    }

    public int maxDepth() {
        int max = 0;
        for (int i = 0; i < size; i++) {
            max = Math.max(max, depths[i]);
        }
        return max;
    }

    /** The child of {@code parent} (-1 = root) carrying {@code token}, or -1. */
    public int child(int parent, int token) {
        // Linear scan: trees hold at most a few hundred nodes, and children follow their parent.
        for (int i = parent + 1; i < size; i++) {
            if (parents[i] == parent && tokens[i] == token) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Adds {@code token} under {@code parent} (-1 = root) unless that sibling exists already.
     *
     * @return the node's index (the existing one for a duplicate), or -1 when the budget is spent
     */
    public int add(int parent, int token) {
        if (parent < -1 || parent >= size) {
            throw new IllegalArgumentException("parent " + parent + " is not a node of this tree of " + size);
        }
        if (token < 0) {
            throw new IllegalArgumentException("token must be >= 0, got " + token);
        }
        int existing = child(parent, token);
        if (existing >= 0) {
            return existing;
        }
        if (size == capacity) {
            return -1;
        }
        tokens[size] = token;
        parents[size] = parent;
        depths[size] = parent < 0 ? 1 : depths[parent] + 1;
        return size++;
    }

    /** The first {@code nodes} nodes (parents precede children, so any prefix is a tree). */
    public DraftTree prefix(int nodes) {
        DraftTree out = new DraftTree(Math.min(nodes, size));
        for (int i = 0; i < out.capacity; i++) {
            out.tokens[i] = tokens[i];
            out.parents[i] = parents[i];
            out.depths[i] = depths[i];
        }
        out.size = out.capacity;
        return out;
    }

    /** Tokens from the root's child down to {@code node}. */
    public int[] path(int node) {
        check(node);
        int[] out = new int[depths[node]];
        for (int n = node, i = out.length - 1; n >= 0; n = parents[n]) {
            out[i--] = tokens[n];
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("DraftTree[");
        for (int i = 0; i < size; i++) {
            s.append(i == 0 ? "" : ", ").append(i).append(':').append(tokens[i]).append('^').append(parents[i]);
        }
        return s.append(']').toString();
    }

    private void check(int node) {
        if (node < 0 || node >= size) {
            throw new IndexOutOfBoundsException("node " + node + " of a tree of " + size);
        }
    }
}
