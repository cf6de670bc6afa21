package io.splitstream.engine.cli;

import io.splitstream.engine.generate.ContinuousBatcher;
import io.splitstream.engine.generate.GenerationListener;
import io.splitstream.engine.generate.GenerationRequest;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculationStats;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** Streams a completion of a prompt from a local model. */
final class GenerateCommand implements Main.Command {

    @Override
    public String usage() {
        return "[--model F] --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] "
                + "[--repeat-penalty R] [--seed S] [--stop S] [--ignore-eos] [--threads T] [--kv f32|q8] "
                + "[--speculation off|auto|recycling|retrieval|hybrid|rag [--max-tree-nodes N]] [--json]";
    }

    /** llama.cpp's defaults, so a user switching over sees the same behaviour. */
    static SamplingParams sampling(Args args) {
        return SamplingParams.greedy()
                .withTemperature(args.real("temperature", 0.8f))
                .withTopK(args.integer("top-k", 40))
                .withTopP(args.real("top-p", 0.95f))
                .withMinP(args.real("min-p", 0.05f))
                .withRepetitionPenalty(args.real("repeat-penalty", 1.0f))
                .withPenaltyWindow(args.integer("repeat-last-n", 64))
                .withSeed(args.longValue("seed", System.nanoTime()))
                .validate();
    }

    /** {@code --speculation MODE [--max-tree-nodes N]}; off by default. */
    static Speculation speculation(Args args) {
        String mode = args.string("speculation", "off");
        int nodes = args.integer("max-tree-nodes", 0);
        try {
            return Speculation.parse(mode, nodes, SpeculationMode.OFF);
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException(e.getMessage());
        }
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("ignore-eos", "json"));
        ModelOptions options = ModelOptions.from(args);
        String prompt = args.required("prompt");
        int maxTokens = args.integer("max-tokens", 128);
        SamplingParams sampling = sampling(args);
        boolean ignoreEos = args.flag("ignore-eos");
        boolean json = args.flag("json");
        String stop = args.string("stop", null);
        Speculation speculation = speculation(args);
        args.checkAllUsed();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (ModelOptions.Loaded loaded = options.load()) {
            int[] promptTokens = loaded.model().tokenizer().encode(prompt, true, false);
            int context = loaded.model().config().contextLength();
            KvCache cache = loaded.model().newKvCache(options.kvPrecision(), Math.min(context, promptTokens.length + maxTokens + 1)
                    + (speculation.enabled() ? speculation.maxTreeNodes() : 0));
            List<Integer> tokens = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            CompletableFuture<GenerationListener.Finish> done = new CompletableFuture<>();
            long start = System.nanoTime();
            try (ContinuousBatcher batcher = new ContinuousBatcher(loaded.transformer(), cache,
                    ContinuousBatcher.Options.defaults(), "splitstream-generate")) {
                batcher.submit(new GenerationRequest(promptTokens, sampling, maxTokens, ignoreEos,
                        stop == null ? List.of() : List.of(stop), speculation), new GenerationListener() {
                    @Override
                    public void onToken(int token, String piece) {
                        tokens.add(token);
                        text.append(piece);
                        if (!json) {
                            out.print(piece);
                        }
                    }

                    @Override
                    public void onFinish(Finish finish) {
                        text.append(finish.trailingText());
                        if (!json) {
                            out.print(finish.trailingText());
                        }
                        done.complete(finish);
                    }
                });
                GenerationListener.Finish f = done.get();
                double seconds = (System.nanoTime() - start) / 1e9;
                if (f.error() != null) {
                    throw new IllegalStateException(f.error());
                }
                double tokensPerSecond = f.completionTokens() > 1 ? (f.completionTokens() - 1) / (f.timings().decodeMs() / 1e3) : 0;
                if (json) {
                    Map<String, Object> result = new LinkedHashMap<>();
                    result.put("model", options.model().getFileName().toString());
                    result.put("prompt", prompt);
                    result.put("prompt_tokens", promptTokens);
                    result.put("tokens", tokens.stream().mapToInt(Integer::intValue).toArray());
                    result.put("text", text.toString());
                    result.put("finish_reason", f.reason().name().toLowerCase(java.util.Locale.ROOT));
                    result.put("usage", Map.of("prompt_tokens", f.promptTokens(), "completion_tokens", f.completionTokens()));
                    Map<String, Object> timings = new LinkedHashMap<>();
                    timings.put("prefill_ms", f.timings().prefillMs());
                    timings.put("decode_ms", f.timings().decodeMs());
                    timings.put("total_ms", seconds * 1e3);
                    timings.put("tokens_per_s", tokensPerSecond);
                    result.put("timings", timings);
                    SpeculationStats s = f.speculation();
                    result.put("speculation", SpeculationReport.json(s.mode().apiName(), s.steps(), s.drafted(), s.accepted(),
                            s.meanAcceptedPerStep()));
                    out.println(Json.write(result));
                } else {
                    out.println();
                    SpeculationStats s = f.speculation();
                    System.err.printf("[%d prompt tokens, %d generated, prefill %.0f ms, %.1f tokens/s, finish %s%s]%n",
                            f.promptTokens(), f.completionTokens(), f.timings().prefillMs(), tokensPerSecond,
                            f.reason().name().toLowerCase(java.util.Locale.ROOT), speculation.enabled()
                                    ? ", " + SpeculationReport.line(s.mode().apiName(), s.drafted(), s.accepted(), s.meanAcceptedPerStep())
                                    : "");
                }
            }
        }
        return 0;
    }
}
