package io.splitstream.engine.tensor;

/** A unit of parallel work over the half-open index range {@code [from, to)}. */
@FunctionalInterface
public interface IntRangeTask {
    void run(int from, int to);
}
