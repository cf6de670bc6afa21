package io.splitstream.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Single-thread GMAC/s per type for a 2048x2048 matrix (run: java ... TensorBench [types...]). */
public final class TensorBench {
    private static final int[] BATCHES = java.util.Arrays.stream(System.getProperty("batches", "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
    public static void main(String[] args) {
        int n = 2048;
        Random rnd = new Random(1);
        float[] w = new float[n * n];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.02f;
        GgmlType[] types = args.length == 0 ? GgmlType.values() : java.util.Arrays.stream(args).map(GgmlType::valueOf).toArray(GgmlType[]::new);
        System.out.println("species " + Kernels.F + ", threads 1, " + n + "x" + n);
        for (GgmlType t : types) {
            long rb = t.bytesFor(n);
            MemorySegment s = Arena.ofAuto().allocate(rb * n, 64);
            for (int r = 0; r < n; r++) Quantizer.quantizeRow(t, w, r * n, n, s, r * rb);
            WeightMatrix m = WeightMatrix.of(t, s, n, n);
            StringBuilder line = new StringBuilder(String.format("%-5s", t));
            java.lang.management.ThreadMXBean mx0 = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int round = 0; round < 3; round++) { // warm every batch size so JIT profiles cover all paths
                for (int batch : BATCHES) {
                    float[] x = new float[batch * n];
                    float[] out = new float[batch * n];
                    long end = mx0.getCurrentThreadCpuTime() + 700_000_000L;
                    while (mx0.getCurrentThreadCpuTime() < end) m.multiply(x, batch, out, 0, n);
                }
            }
            for (int batch : BATCHES) {
                float[] x = new float[batch * n];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] out = new float[batch * n];
                // thread CPU time, so that other load on the machine does not count
                java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
                long end = mx.getCurrentThreadCpuTime() + 1_000_000_000L;
                while (mx.getCurrentThreadCpuTime() < end) m.multiply(x, batch, out, 0, n);
                int iters = 0;
                long t0 = mx.getCurrentThreadCpuTime();
                while (mx.getCurrentThreadCpuTime() - t0 < 1_000_000_000L) {
                    m.multiply(x, batch, out, 0, n);
                    iters++;
                }
                double sec = (mx.getCurrentThreadCpuTime() - t0) / 1e9;
                double gmac = (double) n * n * batch * iters / sec / 1e9;
                line.append(String.format("  batch %d: %6.2f GMAC/s (%.3f ms)", batch, gmac, sec * 1e3 / iters));
            }
            System.out.println(line);
        }
    }
}
