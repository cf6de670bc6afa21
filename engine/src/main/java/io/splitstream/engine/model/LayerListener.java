package io.splitstream.engine.model;

/** Told when a layer's K/V for the whole batch is in the cache, so a prefill can stream it while computing on. */
@FunctionalInterface
public interface LayerListener {
    LayerListener NONE = layer -> { };

    void layerDone(int layer);
}
