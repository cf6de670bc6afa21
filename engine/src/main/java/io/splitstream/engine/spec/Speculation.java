package io.splitstream.engine.spec;

/**
 * A request's speculation setting.
 *
 * @param mode         where drafts come from ({@link SpeculationMode#OFF} = plain decoding)
 * @param maxTreeNodes draft nodes verified per step at most, 1..{@link #LIMIT_TREE_NODES}; it is also the KV room
 *                     a speculating sequence reserves beyond its prompt and output
 */
public record Speculation(SpeculationMode mode, int maxTreeNodes) {
    /** Token Recycling's template size (80 nodes over 6 levels). */
    public static final int DEFAULT_TREE_NODES = 80;
    public static final int LIMIT_TREE_NODES = 256;
    public static final Speculation OFF = new Speculation(SpeculationMode.OFF, DEFAULT_TREE_NODES);

    public Speculation {
        if (mode == null) {
            throw new IllegalArgumentException("speculation mode must be set");
        }
        if (maxTreeNodes < 1 || maxTreeNodes > LIMIT_TREE_NODES) {
            throw new IllegalArgumentException("max_tree_nodes must be in 1.." + LIMIT_TREE_NODES + ", got " + maxTreeNodes);
        }
    }

    /** {@code mode} with the default tree size. */
    public static Speculation of(SpeculationMode mode) {
        return new Speculation(mode, DEFAULT_TREE_NODES);
    }

    /**
     * From API values: a mode name (blank = {@code defaultMode}) and a node limit (0 = default).
     *
     * @throws IllegalArgumentException with a message fit for a client
     */
    public static Speculation parse(String mode, long maxTreeNodes, SpeculationMode defaultMode) {
        if (maxTreeNodes < 0 || maxTreeNodes > LIMIT_TREE_NODES) {
            throw new IllegalArgumentException("max_tree_nodes must be in 1.." + LIMIT_TREE_NODES + " (0 = default "
                    + DEFAULT_TREE_NODES + "), got " + maxTreeNodes);
        }
        return new Speculation(SpeculationMode.parse(mode, defaultMode),
                maxTreeNodes == 0 ? DEFAULT_TREE_NODES : (int) maxTreeNodes);
    }

    public boolean enabled() {
        return mode != SpeculationMode.OFF;
    }
}
