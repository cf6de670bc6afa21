package io.splitstream.bench;

import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.engine.tensor.GgmlType;
import io.splitstream.engine.tensor.Quantizer;
import io.splitstream.engine.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@link WeightMatrix#multiply(float[], int, float[], ComputePool)} at Llama-3.2-1B shapes (rows x cols:
 * 2048x2048 = q/o projections, 8192x2048 = ffn gate/up).
 *
 * <p>The weights live off-heap. So that each call streams its weights from memory rather than from cache
 * (as in real decoding, where a token touches every layer's weights once), the benchmark keeps enough
 * identical copies of the matrix to fill at least {@link #footprintMB} MB and multiplies by the next copy on
 * each call. Bytes per call = rows * rowBytes; flops per call = 2 * rows * cols * batch.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MatmulBench {

    @Param({"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    /** rows x cols. */
    @Param({"2048x2048", "8192x2048"})
    public String shape;

    @Param({"1", "8"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    /** Minimum total size of the rotated weight copies, far above any L3. */
    @Param({"256"})
    public int footprintMB;

    private Arena arena;
    private ComputePool pool;
    private WeightMatrix[] copies;
    private int next;
    private float[] x;
    private float[] out;

    public static int rows(String shape) {
        return Integer.parseInt(shape.substring(0, shape.indexOf('x')));
    }

    public static int cols(String shape) {
        return Integer.parseInt(shape.substring(shape.indexOf('x') + 1));
    }

    /** Weight bytes one multiply reads. */
    public static long weightBytes(String type, String shape) {
        return GgmlType.valueOf(type).bytesFor(cols(shape)) * rows(shape);
    }

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        int rows = rows(shape);
        int cols = cols(shape);
        long bytes = t.bytesFor(cols) * rows;
        long rowBytes = t.bytesFor(cols);
        int n = (int) Math.max(1, (footprintMB * (1L << 20) + bytes - 1) / bytes);
        arena = Arena.ofShared();
        SplittableRandom rnd = new SplittableRandom(42);
        MemorySegment first = arena.allocate(bytes, 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (rnd.nextDouble() * 2 - 1) * 0.05f;
            }
            Quantizer.quantizeRow(t, row, 0, cols, first, r * rowBytes);
        }
        copies = new WeightMatrix[n];
        copies[0] = WeightMatrix.of(t, first, rows, cols);
        for (int i = 1; i < n; i++) {
            MemorySegment seg = arena.allocate(bytes, 64);
            MemorySegment.copy(first, 0, seg, 0, bytes);
            copies[i] = WeightMatrix.of(t, seg, rows, cols);
        }
        x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        out = new float[batch * rows];
        pool = new ComputePool(threads);
        next = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        WeightMatrix w = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        w.multiply(x, batch, out, pool);
        return out;
    }
}
