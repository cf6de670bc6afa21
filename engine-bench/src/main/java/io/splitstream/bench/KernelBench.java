package io.splitstream.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link MatmulBench} and {@link StreamBench} through the JMH Runner API and prints one table: time per
 * multiply, weight bytes read per multiply, achieved GB/s (weight bytes / time), GFLOP/s
 * (2*rows*cols*batch / time) and that GB/s as a percentage of the STREAM triad bandwidth measured in the same
 * run with the same thread count.
 *
 * <pre>
 * java --add-modules=jdk.incubator.vector -jar engine-bench/target/engine-benchmarks.jar [options]
 *   --include REGEX      benchmarks to run (repeatable; default MatmulBench); StreamBench is always added
 *   --no-stream          skip the STREAM measurement (no % column)
 *   -p NAME=V1,V2        override a @Param, e.g. -p type=Q4_0,Q8_0 -p shape=8192x2048 -p threads=1,2
 *   --forks N            (1)    --warmup N (3)   --iterations N (5)   --time SECONDS (1)
 * </pre>
 */
public final class KernelBench {

    private KernelBench() {
    }

    public static void main(String[] args) throws RunnerException {
        List<String> includes = new ArrayList<>();
        Map<String, String[]> params = new TreeMap<>();
        boolean stream = true;
        int forks = 1;
        int warmup = 3;
        int iterations = 5;
        int seconds = 1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--include" -> includes.add(args[++i]);
                case "--no-stream" -> stream = false;
                case "-p" -> {
                    String kv = args[++i];
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("-p wants NAME=V1,V2: " + kv);
                    }
                    params.put(kv.substring(0, eq), kv.substring(eq + 1).split(","));
                }
                case "--forks" -> forks = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                case "--time" -> seconds = Integer.parseInt(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: KernelBench [--include REGEX]... [--no-stream] [-p NAME=V1,V2]..."
                            + " [--forks N] [--warmup N] [--iterations N] [--time SECONDS]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + a + " (try --help)");
            }
        }
        if (includes.isEmpty()) {
            includes.add(MatmulBench.class.getSimpleName());
        }
        ChainedOptionsBuilder opt = new OptionsBuilder()
                .forks(forks)
                .warmupIterations(warmup)
                .warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(iterations)
                .measurementTime(TimeValue.seconds(seconds))
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                        "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch");
        for (String inc : includes) {
            opt.include(inc);
        }
        if (stream) {
            opt.include(StreamBench.class.getSimpleName());
        }
        params.forEach(opt::param);
        Collection<RunResult> results = new Runner(opt.build()).run();
        System.out.println();
        System.out.print(table(results));
    }

    /** The summary table (STREAM rows first, then the matmul rows) as text. */
    static String table(Collection<RunResult> results) {
        StringBuilder sb = new StringBuilder();
        Map<Integer, Double> triadGBs = new HashMap<>();
        List<RunResult> matmul = new ArrayList<>();
        List<String[]> streamRows = new ArrayList<>();
        for (RunResult r : results) {
            String bench = r.getParams().getBenchmark();
            String method = bench.substring(bench.lastIndexOf('.') + 1);
            double us = toMicros(r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreUnit());
            if (bench.contains("StreamBench")) {
                int threads = Integer.parseInt(r.getParams().getParam("threads"));
                long elements = Long.parseLong(r.getParams().getParam("elements"));
                // STREAM's convention: bandwidth from the best iteration (an average over a noisy machine understates
                // what memory can deliver, which would flatter the matmul percentages).
                double bestUs = toMicros(r.getPrimaryResult().getStatistics().getMin(), r.getPrimaryResult().getScoreUnit());
                double gbs = StreamBench.bytesPerElement(method) * elements / (bestUs * 1e3);
                if (method.equals("triad")) {
                    triadGBs.put(threads, gbs);
                }
                streamRows.add(new String[] {"stream." + method, "", "3x" + elements * 8 / (1 << 20) + " MB", "",
                        String.valueOf(threads), fmtTime(us, r.getPrimaryResult().getScoreError()),
                        fmtMB(StreamBench.bytesPerElement(method) * elements), f2(gbs), "", ""});
            } else if (bench.contains("MatmulBench")) {
                matmul.add(r);
            }
        }
        String[] head = {"benchmark", "type", "shape", "batch", "threads", "time/op", "bytes/op", "GB/s", "GFLOP/s",
                "% STREAM triad"};
        List<String[]> rows = new ArrayList<>(streamRows);
        for (RunResult r : matmul) {
            var p = r.getParams();
            String type = p.getParam("type");
            String shape = p.getParam("shape");
            int batch = Integer.parseInt(p.getParam("batch"));
            int threads = Integer.parseInt(p.getParam("threads"));
            double us = toMicros(r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreUnit());
            long bytes = MatmulBench.weightBytes(type, shape);
            double gbs = bytes / (us * 1e3);
            double gflops = 2.0 * MatmulBench.rows(shape) * MatmulBench.cols(shape) * batch / (us * 1e3);
            Double ref = triadGBs.get(threads);
            rows.add(new String[] {"matmul", type, shape, String.valueOf(batch), String.valueOf(threads),
                    fmtTime(us, r.getPrimaryResult().getScoreError()), fmtMB(bytes), f2(gbs), f2(gflops),
                    ref == null ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * gbs / ref)});
        }
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
            for (String[] row : rows) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        appendRow(sb, head, w);
        String[] sep = new String[head.length];
        for (int i = 0; i < sep.length; i++) {
            sep[i] = "-".repeat(w[i]);
        }
        appendRow(sb, sep, w);
        for (String[] row : rows) {
            appendRow(sb, row, w);
        }
        sb.append("time/op: JMH average +- 99.9% error; bytes/op: weight bytes read (STREAM: bytes as STREAM counts them);\n")
                .append("STREAM GB/s: from the best iteration, as STREAM reports; matmul GB/s: from the average;\n")
                .append("GB/s = bytes/op / time/op (1 GB = 1e9 bytes); GFLOP/s = 2*rows*cols*batch / time/op;\n")
                .append("% STREAM triad = matmul GB/s / STREAM triad GB/s at the same thread count.\n");
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, String[] row, int[] w) {
        sb.append('|');
        for (int i = 0; i < row.length; i++) {
            sb.append(' ');
            boolean left = i < 3;
            String cell = row[i];
            if (left) {
                sb.append(cell).append(" ".repeat(w[i] - cell.length()));
            } else {
                sb.append(" ".repeat(w[i] - cell.length())).append(cell);
            }
            sb.append(" |");
        }
        sb.append('\n');
    }

    static double toMicros(double score, String unit) {
        return switch (unit) {
            case "ns/op" -> score / 1e3;
            case "us/op" -> score;
            case "ms/op" -> score * 1e3;
            case "s/op" -> score * 1e6;
            default -> throw new IllegalStateException("unexpected unit " + unit);
        };
    }

    private static String fmtTime(double us, double errUs) {
        boolean ms = us >= 1000;
        double div = ms ? 1e3 : 1;
        String unit = ms ? " ms" : " us";
        String f = ms ? "%.2f" : "%.1f";
        String v = String.format(Locale.ROOT, f, us / div);
        // JMH reports NaN error when there are too few iterations to compute one.
        return Double.isNaN(errUs) ? v + unit : v + " +- " + String.format(Locale.ROOT, f, errUs / div) + unit;
    }

    private static String fmtMB(long bytes) {
        return String.format(Locale.ROOT, "%.2f MB", bytes / 1e6);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
