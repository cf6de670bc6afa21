package io.splitstream.engine.cli;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.spec.TreeTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Engine speed as llama-bench measures it: prompt processing (one forward over a P-token prompt), token
 * generation (G single-token steps of one sequence after a P-token prompt) and batched generation (B sequences
 * stepping together). One warm-up round, then R measured rounds; min / median / max reported.
 *
 * <p>{@code --tree-nodes} adds the cost of speculative verification: one step that checks a draft tree of N nodes
 * (Token Recycling's template for that budget, tree-masked, after the prompt) over one plain step at the same
 * context, measured side by side in each round. Its median ratio times the acceptance a drafter reaches gives
 * the speed-up speculation can bring on this model and machine.
 */
final class BenchCommand implements Main.Command {
    @Override
    public String usage() {
        return "[--model F] [--prompt-tokens 64] [--gen-tokens 32] [--threads T] [--repeat 3] [--batch 8] [--kv f32|q8] [--tree-nodes 1,16,32,64,80] [--json]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("json"));
        ModelOptions options = ModelOptions.from(args);
        int promptTokens = args.integer("prompt-tokens", 64);
        int genTokens = args.integer("gen-tokens", 32);
        int repeat = args.integer("repeat", 3);
        int batch = args.integer("batch", 8);
        boolean json = args.flag("json");
        String treeList = args.string("tree-nodes", null);
        int[] treeNodes = treeList == null ? new int[0] : parseCounts(treeList);
        args.checkAllUsed();
        if (promptTokens < 1 || genTokens < 1 || repeat < 1 || batch < 1) {
            throw new Args.UsageException("token counts, repeat and batch must be at least 1");
        }
        try (ModelOptions.Loaded loaded = options.load()) {
            Transformer t = loaded.transformer();
            KvCache cache = loaded.model().newKvCache(options.kvPrecision(), (promptTokens + genTokens + 1) * Math.max(batch, 1) + 64
                    + java.util.Arrays.stream(treeNodes).max().orElse(0));
            SplittableRandom random = new SplittableRandom(1);
            int vocab = loaded.model().config().vocabularySize();
            List<Double> pp = new ArrayList<>();
            List<Double> tg = new ArrayList<>();
            List<Double> btg = new ArrayList<>();
            List<List<Double>> treeCost = new ArrayList<>();
            for (int ignored : treeNodes) {
                treeCost.add(new ArrayList<>());
            }
            for (int round = 0; round <= repeat; round++) {
                int[] prompt = random.ints(promptTokens, 0, vocab).toArray();
                double ppRate = promptTokens / timePrompt(t, cache, prompt);
                double tgRate = genTokens / timeGeneration(t, cache, prompt, genTokens, 1);
                double btgRate = batch * genTokens / timeGeneration(t, cache, prompt, genTokens, batch);
                double[] costs = treeStepCosts(t, cache, prompt, treeNodes, genTokens);
                if (round > 0) { // round 0 warms up the JIT
                    pp.add(ppRate);
                    tg.add(tgRate);
                    btg.add(btgRate);
                    for (int i = 0; i < treeNodes.length; i++) {
                        treeCost.get(i).add(costs[i]);
                    }
                }
            }
            long weightBytes = loaded.model().weightBytesPerToken();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", options.model().getFileName().toString());
            r.put("file_bytes", Files.size(options.model()));
            r.put("threads", options.threads());
            r.put("prompt_tokens", promptTokens);
            r.put("gen_tokens", genTokens);
            r.put("batch", batch);
            r.put("repeat", repeat);
            r.put("pp_tokens_per_s", median(pp));
            r.put("tg_tokens_per_s", median(tg));
            r.put("batch_tg_tokens_per_s", median(btg));
            r.put("batch_speedup", median(btg) / median(tg));
            r.put("weight_bytes_per_token", weightBytes);
            r.put("effective_gb_per_s", weightBytes * median(tg) / 1e9);
            r.put("pp_min_median_max", stats(pp));
            r.put("tg_min_median_max", stats(tg));
            r.put("batch_tg_min_median_max", stats(btg));
            if (treeNodes.length > 0) {
                Map<String, Object> cost = new LinkedHashMap<>();
                for (int i = 0; i < treeNodes.length; i++) {
                    cost.put(Integer.toString(treeNodes[i]), round(median(treeCost.get(i))));
                }
                r.put("tree_step_cost_vs_plain", cost);
            }
            r.put("rss_mb", procStatus("VmRSS") / 1024.0);
            r.put("peak_rss_mb", procStatus("VmHWM") / 1024.0);
            if (json) {
                System.out.println(Json.write(r));
            } else {
                r.forEach((k, v) -> System.out.println(k + ": " + (v instanceof List<?> l ? l.toString() : Json.write(v))));
            }
        }
        return 0;
    }

    /** Seconds for one forward over the whole prompt in a fresh sequence. */
    private static double timePrompt(Transformer t, KvCache cache, int[] prompt) {
        int seq = cache.newSequence();
        try {
            long start = System.nanoTime();
            t.forward(Batch.chunk(seq, 0, prompt, true), cache, LayerListener.NONE);
            return (System.nanoTime() - start) / 1e9;
        } finally {
            cache.release(seq);
        }
    }

    /** Seconds for {@code steps} decode steps of {@code sequences} sequences after each got the prompt. */
    private static double timeGeneration(Transformer t, KvCache cache, int[] prompt, int steps, int sequences) {
        int[] seqs = new int[sequences];
        int[] last = new int[sequences];
        try {
            for (int s = 0; s < sequences; s++) {
                seqs[s] = cache.newSequence();
                float[][] logits = t.forward(Batch.chunk(seqs[s], 0, prompt, true), cache, LayerListener.NONE);
                last[s] = argmax(logits[prompt.length - 1]);
            }
            long start = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                Batch.Builder b = new Batch.Builder();
                for (int s = 0; s < sequences; s++) {
                    b.add(seqs[s], prompt.length + step, last[s], -1, true);
                }
                float[][] logits = t.forward(b.build(), cache, LayerListener.NONE);
                for (int s = 0; s < sequences; s++) {
                    last[s] = argmax(logits[s]);
                }
            }
            return (System.nanoTime() - start) / 1e9;
        } finally {
            for (int s : seqs) {
                if (s > 0) {
                    cache.release(s);
                }
            }
        }
    }

    /**
     * For each tree size N: seconds of {@code steps} verification steps (root + N tree-masked draft rows, then the
     * draft rows dropped from the cache) over seconds of {@code steps} plain steps, in one sequence after the
     * prompt, plain and tree steps alternating so that drift hits both alike.
     */
    private static double[] treeStepCosts(Transformer t, KvCache cache, int[] prompt, int[] treeNodes, int steps) {
        double[] ratios = new double[treeNodes.length];
        if (treeNodes.length == 0) {
            return ratios;
        }
        int seq = cache.newSequence();
        try {
            t.forward(Batch.chunk(seq, 0, prompt, false), cache, LayerListener.NONE);
            int base = prompt.length;
            for (int i = 0; i < treeNodes.length; i++) {
                TreeTemplate template = TreeTemplate.forBudget(treeNodes[i]);
                int nodes = Math.min(treeNodes[i], template.size());
                long plain = 0;
                long tree = 0;
                for (int step = 0; step < steps; step++) {
                    int token = prompt[step % prompt.length];
                    long start = System.nanoTime();
                    t.forward(Batch.chunk(seq, base, new int[] {token}, true), cache, LayerListener.NONE);
                    plain += System.nanoTime() - start;
                    cache.retain(seq, base, new int[0]);
                    Batch.Builder b = new Batch.Builder().tree();
                    b.add(seq, base, token, -1, true);
                    for (int n = 0; n < nodes; n++) {
                        b.add(seq, base + template.depth(n), prompt[(step + n) % prompt.length], template.parent(n) + 1, true);
                    }
                    start = System.nanoTime();
                    t.forward(b.build(), cache, LayerListener.NONE);
                    tree += System.nanoTime() - start;
                    cache.retain(seq, base, new int[0]);
                }
                ratios[i] = (double) tree / plain;
            }
            return ratios;
        } finally {
            cache.release(seq);
        }
    }

    private static int[] parseCounts(String list) {
        try {
            int[] counts = java.util.Arrays.stream(list.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
            for (int c : counts) {
                if (c < 1) {
                    throw new Args.UsageException("--tree-nodes wants positive counts, got " + list);
                }
            }
            return counts;
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--tree-nodes wants a comma-separated list of counts, got " + list);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static List<Double> stats(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return List.of(round(a[0]), round(median(v)), round(a[a.length - 1]));
    }

    private static double round(double d) {
        return Math.round(d * 100) / 100.0;
    }

    /** A /proc/self/status field in kB, or -1 where /proc is absent. */
    private static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
