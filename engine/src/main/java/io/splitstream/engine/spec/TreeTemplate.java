package io.splitstream.engine.spec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A static draft-tree shape for {@link TokenRecycler}: each node names its parent (-1 = root) and the candidate
 * column of its parent's adjacency row it takes (0 = the token the target ranked first). Nodes are stored
 * breadth-first (by depth, then by parent), so the tree can be expanded level by level and every parent
 * precedes its children.
 *
 * <p>Shapes are imbalanced the way Token Recycling's is (80 nodes over 6 levels, 8/21/25/15/8/3 per level):
 * low columns are accepted far more often than high ones, so they get more and deeper children. The shape is
 * built, not copied: a (parent, column) pair is scored by the product of a per-column prior along its path,
 * {@code prior(c) = 1 / (c + 1)^1.5} (a rough fit to how acceptance falls with rank), and each level (or, for
 * {@link #bestFirst}, the whole tree) takes the best-scoring pairs. A child never scores above its parent, so
 * the best pairs always form a tree.
 */
public final class TreeTemplate {
    /** Nodes per level of Token Recycling's template: 80 nodes, 6 levels, 40 leaves. */
    public static final int[] TOKEN_RECYCLING_LEVELS = {8, 21, 25, 15, 8, 3};
    public static final int DEFAULT_COLUMNS = 8;
    public static final int DEFAULT_MAX_DEPTH = 6;

    private static final TreeTemplate TOKEN_RECYCLING = byLevels(TOKEN_RECYCLING_LEVELS, DEFAULT_COLUMNS);
    private static final ConcurrentHashMap<Integer, TreeTemplate> BY_BUDGET = new ConcurrentHashMap<>();

    private final int[] parents;
    private final int[] columns;
    private final int[] depths;

    private TreeTemplate(int[] parents, int[] columns) {
        this.parents = parents;
        this.columns = columns;
        this.depths = new int[parents.length];
        for (int i = 0; i < parents.length; i++) {
            if (parents[i] >= i) {
                throw new IllegalArgumentException("template node " + i + " precedes its parent " + parents[i]);
            }
            depths[i] = parents[i] < 0 ? 1 : depths[parents[i]] + 1;
        }
    }

    /** Token Recycling's shape: 80 nodes, 6 levels (8 / 21 / 25 / 15 / 8 / 3), 8 columns. */
    public static TreeTemplate tokenRecycling() {
        return TOKEN_RECYCLING;
    }

    /**
     * The template for a node budget: Token Recycling's 80-node shape from 80 nodes on, otherwise the best
     * {@code budget} nodes by path score (depth at most 6, 8 columns). Cached per budget.
     */
    public static TreeTemplate forBudget(int budget) {
        if (budget >= TOKEN_RECYCLING.size()) {
            return TOKEN_RECYCLING;
        }
        return BY_BUDGET.computeIfAbsent(Math.max(0, budget), b -> bestFirst(b, DEFAULT_MAX_DEPTH, DEFAULT_COLUMNS));
    }

    /** Level {@code d + 1} holds {@code levelSizes[d]} nodes: the best-scoring (parent, column) pairs of that level. */
    public static TreeTemplate byLevels(int[] levelSizes, int columns) {
        Candidate root = new Candidate(-1, -1, 1.0);
        root.index = -1;
        List<Candidate> previous = List.of(root);
        List<Candidate> all = new ArrayList<>();
        for (int levelSize : levelSizes) {
            List<Candidate> options = new ArrayList<>();
            for (Candidate p : previous) {
                for (int c = 0; c < columns; c++) {
                    options.add(new Candidate(p.index, c, p.score * prior(c)));
                }
            }
            options.sort(Comparator.comparingDouble((Candidate o) -> -o.score));
            if (options.size() < levelSize) {
                throw new IllegalArgumentException("level of " + levelSize + " nodes exceeds " + options.size() + " slots");
            }
            List<Candidate> level = new ArrayList<>(options.subList(0, levelSize));
            // Breadth-first order within the level: by parent, then column.
            level.sort(Comparator.comparingInt((Candidate o) -> o.parent).thenComparingInt(o -> o.column));
            List<Candidate> placed = new ArrayList<>();
            for (Candidate o : level) {
                Candidate n = new Candidate(o.parent, o.column, o.score);
                n.index = all.size();
                all.add(n);
                placed.add(n);
            }
            previous = placed;
        }
        return fromCandidates(all);
    }

    /** The {@code nodes} best-scoring nodes overall, depth at most {@code maxDepth}, stored breadth-first. */
    public static TreeTemplate bestFirst(int nodes, int maxDepth, int columns) {
        // Grow best-first: the frontier holds the children of the nodes chosen so far.
        List<Candidate> chosen = new ArrayList<>();
        java.util.PriorityQueue<Candidate> frontier = new java.util.PriorityQueue<>(
                Comparator.comparingDouble((Candidate o) -> -o.score));
        for (int c = 0; c < columns; c++) {
            frontier.add(new Candidate(-1, c, prior(c), 1));
        }
        while (chosen.size() < nodes && !frontier.isEmpty()) {
            Candidate n = frontier.poll();
            n.index = chosen.size();
            chosen.add(n);
            if (n.depth < maxDepth) {
                for (int c = 0; c < columns; c++) {
                    frontier.add(new Candidate(n.index, c, n.score * prior(c), n.depth + 1));
                }
            }
        }
        // Re-order breadth-first (depth, then parent's new index, then column) and remap parents.
        List<Candidate> order = new ArrayList<>(chosen);
        int[] newIndex = new int[chosen.size()];
        order.sort(Comparator.comparingInt((Candidate o) -> o.depth));
        List<Candidate> sorted = new ArrayList<>();
        int from = 0;
        while (from < order.size()) {
            int depth = order.get(from).depth;
            int to = from;
            while (to < order.size() && order.get(to).depth == depth) {
                to++;
            }
            List<Candidate> level = new ArrayList<>(order.subList(from, to));
            level.sort(Comparator.comparingInt((Candidate o) -> o.parent < 0 ? -1 : newIndex[o.parent])
                    .thenComparingInt(o -> o.column));
            for (Candidate o : level) {
                newIndex[o.index] = sorted.size();
                sorted.add(o);
            }
            from = to;
        }
        int[] parents = new int[sorted.size()];
        int[] cols = new int[sorted.size()];
        for (int i = 0; i < sorted.size(); i++) {
            Candidate o = sorted.get(i);
            parents[i] = o.parent < 0 ? -1 : newIndex[o.parent];
            cols[i] = o.column;
        }
        return new TreeTemplate(parents, cols);
    }

    private static TreeTemplate fromCandidates(List<Candidate> all) {
        int[] parents = new int[all.size()];
        int[] cols = new int[all.size()];
        for (int i = 0; i < all.size(); i++) {
            parents[i] = all.get(i).parent;
            cols[i] = all.get(i).column;
        }
        return new TreeTemplate(parents, cols);
    }

    /** Prior weight of candidate column c (rank c + 1 of the target's last prediction). */
    static double prior(int column) {
        return 1.0 / Math.pow(column + 1, 1.5);
    }

    public int size() {
        return parents.length;
    }

    public int parent(int node) {
        return parents[node];
    }

    public int column(int node) {
        return columns[node];
    }

    public int depth(int node) {
        return depths[node];
    }

    public int maxDepth() {
        int max = 0;
        for (int d : depths) {
            max = Math.max(max, d);
        }
        return max;
    }

    /** Nodes per level, for documentation and tests. */
    public int[] levelSizes() {
        int[] sizes = new int[maxDepth()];
        for (int d : depths) {
            sizes[d - 1]++;
        }
        return sizes;
    }

    @Override
    public String toString() {
        return "TreeTemplate[" + size() + " nodes, levels " + Arrays.toString(levelSizes()) + "]";
    }

    private static final class Candidate {
        final int parent;
        final int column;
        final double score;
        final int depth;
        int index;

        Candidate(int parent, int column, double score) {
            this(parent, column, score, 0);
        }

        Candidate(int parent, int column, double score, int depth) {
            this.parent = parent;
            this.column = column;
            this.score = score;
            this.depth = depth;
        }
    }
}
