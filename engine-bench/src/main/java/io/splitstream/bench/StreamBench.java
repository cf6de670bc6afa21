package io.splitstream.bench;

import io.splitstream.engine.tensor.ComputePool;
import java.util.Arrays;
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
 * STREAM-style memory bandwidth (McCalpin's copy/scale/add/triad) over three double arrays of
 * {@link #elements} each (default 8 Mi doubles = 64 MB per array, 192 MB in all), split across a
 * {@link ComputePool} of {@link #threads} like the kernels are. Bytes per op are counted as STREAM counts
 * them (no write-allocate traffic): copy/scale 16 bytes per element, add/triad 24.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StreamBench {

    @Param({"1", "2"})
    public int threads;

    @Param({"8388608"})
    public int elements;

    private ComputePool pool;
    private double[] a;
    private double[] b;
    private double[] c;
    private static final double SCALAR = 3.0;

    /** STREAM byte count per op for a kernel name (copy, scale, add, triad). */
    public static long bytesPerElement(String kernel) {
        return switch (kernel) {
            case "copy", "scale" -> 16;
            case "add", "triad" -> 24;
            default -> throw new IllegalArgumentException(kernel);
        };
    }

    @Setup(Level.Trial)
    public void setup() {
        pool = new ComputePool(threads);
        a = new double[elements];
        b = new double[elements];
        c = new double[elements];
        // First touch from the pool's threads, as STREAM does with OpenMP.
        pool.parallelFor(elements, (from, to) -> {
            Arrays.fill(a, from, to, 1.0);
            Arrays.fill(b, from, to, 2.0);
            Arrays.fill(c, from, to, 0.0);
        });
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public double[] copy() {
        double[] a = this.a, c = this.c;
        pool.parallelFor(elements, (from, to) -> {
            for (int j = from; j < to; j++) {
                c[j] = a[j];
            }
        });
        return c;
    }

    @Benchmark
    public double[] scale() {
        double[] b = this.b, c = this.c;
        pool.parallelFor(elements, (from, to) -> {
            for (int j = from; j < to; j++) {
                b[j] = SCALAR * c[j];
            }
        });
        return b;
    }

    @Benchmark
    public double[] add() {
        double[] a = this.a, b = this.b, c = this.c;
        pool.parallelFor(elements, (from, to) -> {
            for (int j = from; j < to; j++) {
                c[j] = a[j] + b[j];
            }
        });
        return c;
    }

    @Benchmark
    public double[] triad() {
        double[] a = this.a, b = this.b, c = this.c;
        pool.parallelFor(elements, (from, to) -> {
            for (int j = from; j < to; j++) {
                a[j] = b[j] + SCALAR * c[j];
            }
        });
        return a;
    }
}
