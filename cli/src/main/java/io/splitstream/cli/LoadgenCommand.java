package io.splitstream.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.splitstream.engine.cli.Args;
import io.splitstream.engine.cli.Json;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.GenerationGrpc;
import io.splitstream.proto.v1.Mode;
import io.splitstream.proto.v1.SamplingParameters;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open-loop load: requests arrive as a Poisson process at the given rate whatever the server does (a closed loop
 * would hide queueing), each a streaming gRPC call; reports TTFT, time between tokens and end-to-end latency
 * percentiles, throughput, goodput under an SLO, errors, and the servers' own phase timings.
 */
final class LoadgenCommand implements Main.Command {
    private static final String[] WORDS = {" the", " and", " of", " to", " in", " he", " that", " it"};

    @Override
    public String usage() {
        return "--endpoint HOST:PORT --rate R --duration S [--prompt-len fixed:N|uniform:A:B|file:F] [--output-len DIST] "
                + "[--seed N] [--mode split|colocated] [--slo-ttft-ms X] [--slo-tbt-ms Y] [--json]";
    }

    /** What one request saw. */
    private static final class Sample {
        final long start = System.nanoTime();
        long firstToken;
        long lastToken;
        long end;
        int tokens;
        final List<Double> gapsMs = new ArrayList<>();
        Final fin;
        Status error;
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("json"));
        String endpoint = args.string("endpoint", "127.0.0.1:8080");
        double rate = Double.parseDouble(args.required("rate"));
        double duration = Double.parseDouble(args.required("duration"));
        LengthDistribution promptLen = LengthDistribution.parse(args.string("prompt-len", "uniform:32:256"));
        LengthDistribution outputLen = LengthDistribution.parse(args.string("output-len", "uniform:16:128"));
        long seed = args.longValue("seed", 1);
        String mode = args.string("mode", null);
        double sloTtft = Double.parseDouble(args.string("slo-ttft-ms", "2000"));
        double sloTbt = Double.parseDouble(args.string("slo-tbt-ms", "200"));
        boolean json = args.flag("json");
        args.checkAllUsed();
        if (rate <= 0 || duration <= 0) {
            throw new Args.UsageException("--rate and --duration must be positive");
        }
        SplittableRandom random = new SplittableRandom(seed);
        ManagedChannel channel = ManagedChannelBuilder.forTarget(endpoint).usePlaintext().build();
        var stub = GenerationGrpc.newStub(channel);
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger inflight = new AtomicInteger();
        Set<CountDownLatch> pending = ConcurrentHashMap.newKeySet();
        long begin = System.nanoTime();
        long endAt = begin + (long) (duration * 1e9);
        long nextArrival = begin;
        long lastProgress = begin;
        int sent = 0;
        while (true) {
            nextArrival += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
            if (nextArrival >= endAt) {
                break;
            }
            long wait = nextArrival - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            GenerateRequest.Builder req = GenerateRequest.newBuilder().setRequestId("loadgen-" + sent)
                    .setPrompt(prompt(promptLen.next(random), random)).setMaxTokens(outputLen.next(random)).setIgnoreEos(true)
                    .setSampling(SamplingParameters.newBuilder().setTemperature(0));
            if (mode != null) {
                req.setMode(Mode.valueOf("MODE_" + mode.toUpperCase(Locale.ROOT)));
            }
            Sample s = new Sample();
            samples.add(s);
            CountDownLatch done = new CountDownLatch(1);
            pending.add(done);
            inflight.incrementAndGet();
            stub.withDeadlineAfter(600, TimeUnit.SECONDS).generate(req.build(), new StreamObserver<>() {
                @Override
                public void onNext(GenerateChunk c) {
                    long now = System.nanoTime();
                    if (c.getTokenIdsCount() > 0) {
                        if (s.firstToken == 0) {
                            s.firstToken = now;
                        } else {
                            // tokens that arrive in one chunk share the gap evenly
                            double gap = (now - s.lastToken) / 1e6 / c.getTokenIdsCount();
                            for (int i = 0; i < c.getTokenIdsCount(); i++) {
                                s.gapsMs.add(gap);
                            }
                        }
                        s.lastToken = now;
                        s.tokens += c.getTokenIdsCount();
                    }
                    if (c.hasFinal()) {
                        s.fin = c.getFinal();
                    }
                }

                @Override
                public void onError(Throwable t) {
                    s.error = Status.fromThrowable(t);
                    finish();
                }

                @Override
                public void onCompleted() {
                    finish();
                }

                private void finish() {
                    s.end = System.nanoTime();
                    inflight.decrementAndGet();
                    done.countDown();
                    pending.remove(done);
                }
            });
            sent++;
            if (!json && System.nanoTime() - lastProgress > 1_000_000_000L) {
                lastProgress = System.nanoTime();
                System.err.printf("\rt=%4.0fs sent=%d in-flight=%d", (lastProgress - begin) / 1e9, sent, inflight.get());
            }
        }
        for (CountDownLatch l : List.copyOf(pending)) {
            l.await(600, TimeUnit.SECONDS);
        }
        double elapsed = (System.nanoTime() - begin) / 1e9;
        channel.shutdownNow();
        Map<String, Object> report = report(samples, elapsed, rate, duration, sloTtft, sloTbt);
        if (json) {
            System.out.println(Json.write(report));
        } else {
            System.err.println();
            report.forEach((k, v) -> System.out.println(k + ": " + Json.write(v)));
        }
        return 0;
    }

    private static String prompt(int tokens, SplittableRandom random) {
        StringBuilder sb = new StringBuilder("Once");
        for (int i = 1; i < tokens - 1; i++) {
            sb.append(WORDS[random.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    static Map<String, Object> report(List<Sample> samples, double elapsed, double rate, double duration, double sloTtft, double sloTbt) {
        List<Double> ttft = new ArrayList<>();
        List<Double> tbt = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        int ok = 0;
        int good = 0;
        long outTokens = 0;
        Map<String, Integer> errors = new LinkedHashMap<>();
        double kvBytes = 0;
        double kvMs = 0;
        double hidden = 0;
        double prefillMs = 0;
        double queueMs = 0;
        for (Sample s : samples) {
            if (s.error != null || s.fin == null) {
                errors.merge(s.error == null ? "NO_FINAL" : s.error.getCode().name(), 1, Integer::sum);
                continue;
            }
            ok++;
            outTokens += s.tokens;
            double t = (s.firstToken - s.start) / 1e6;
            ttft.add(t);
            tbt.addAll(s.gapsMs);
            e2e.add((s.end - s.start) / 1e6);
            double meanGap = s.gapsMs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
            if (t <= sloTtft && meanGap <= sloTbt) {
                good++;
            }
            kvBytes += s.fin.getTimings().getKvBytes();
            kvMs += s.fin.getTimings().getKvTransferMs();
            hidden += s.fin.getTimings().getKvTransferHiddenFraction();
            prefillMs += s.fin.getTimings().getPrefillMs();
            queueMs += s.fin.getTimings().getQueueMs();
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("rate", rate);
        r.put("duration_s", duration);
        r.put("requests", samples.size());
        r.put("completed", ok);
        r.put("errors", errors);
        r.put("request_throughput", ok / elapsed);
        r.put("output_tokens_per_s", outTokens / elapsed);
        r.put("ttft_ms", percentiles(ttft));
        r.put("tbt_ms", percentiles(tbt));
        r.put("e2e_ms", percentiles(e2e));
        r.put("slo", Map.of("ttft_ms", sloTtft, "mean_tbt_ms", sloTbt));
        r.put("goodput_requests_per_s", good / elapsed);
        r.put("slo_attainment", samples.isEmpty() ? 0.0 : (double) good / samples.size());
        Map<String, Object> server = new LinkedHashMap<>();
        server.put("mean_queue_ms", ok == 0 ? 0.0 : queueMs / ok);
        server.put("mean_prefill_ms", ok == 0 ? 0.0 : prefillMs / ok);
        server.put("mean_kv_transfer_ms", ok == 0 ? 0.0 : kvMs / ok);
        server.put("mean_kv_bytes", ok == 0 ? 0.0 : kvBytes / ok);
        server.put("mean_kv_transfer_hidden_fraction", ok == 0 ? 0.0 : hidden / ok);
        r.put("server", server);
        return r;
    }

    private static Map<String, Object> percentiles(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", percentile(v, 0.50));
        m.put("p90", percentile(v, 0.90));
        m.put("p99", percentile(v, 0.99));
        m.put("count", v.length);
        return m;
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
