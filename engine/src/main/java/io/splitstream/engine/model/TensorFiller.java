package io.splitstream.engine.model;

import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.tensor.GgmlType;
import io.splitstream.engine.tensor.Quantizer;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/** Produces tensor bytes row by row in any type, in parallel, deterministically per (seed, tensor, row). */
public final class TensorFiller {
    private final long seed;
    private int tensorCounter;

    /** Fills one float row. */
    @FunctionalInterface
    public interface RowSource {
        void row(int row, float[] dst);
    }

    public TensorFiller(long seed) {
        this.seed = seed;
    }

    public Consumer<MemorySegment> gaussian(int rows, int cols, GgmlType type) {
        long tensorSeed = seed * 1_000_003L + tensorCounter++;
        return dst -> writeRows(dst, rows, cols, type, (row, out) -> {
            SplittableRandom r = new SplittableRandom(tensorSeed * 2_147_483_647L + row);
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (r.nextGaussian() * 0.02);
            }
        });
    }

    public Consumer<MemorySegment> constant(int n, float value) {
        return dst -> writeRows(dst, 1, n, GgmlType.F32, (row, out) -> java.util.Arrays.fill(out, value));
    }

    /** Converts rows from a source into {@code type}, spreading rows over all cores. */
    public static void writeRows(MemorySegment dst, int rows, int cols, GgmlType type, RowSource source) {
        long rowBytes = type.bytesFor(cols);
        try (ComputePool pool = new ComputePool(ComputePool.defaultThreads())) {
            pool.parallelFor(rows, (from, to) -> {
                float[] row = new float[cols];
                for (int r = from; r < to; r++) {
                    source.row(r, row);
                    Quantizer.quantizeRow(type, row, 0, cols, dst, r * rowBytes);
                }
            });
        }
    }
}
