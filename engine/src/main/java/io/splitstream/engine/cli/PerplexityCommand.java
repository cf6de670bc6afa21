package io.splitstream.engine.cli;

import io.splitstream.engine.model.Perplexity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Perplexity of a text file, computed as llama-perplexity does. */
final class PerplexityCommand implements Main.Command {
    @Override
    public String usage() {
        return "[--model F] --file TEXT [--context 128] [--max-bytes N] [--threads T] [--kv f32|q8] [--json]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("json"));
        ModelOptions options = ModelOptions.from(args);
        Path file = Path.of(args.required("file"));
        int context = args.integer("context", 128);
        int maxBytes = args.integer("max-bytes", Integer.MAX_VALUE);
        boolean json = args.flag("json");
        args.checkAllUsed();
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, 0, Math.min(bytes.length, maxBytes), StandardCharsets.UTF_8);
        try (ModelOptions.Loaded loaded = options.load()) {
            int[] tokens = loaded.model().tokenizer().encode(text, true, false);
            long start = System.nanoTime();
            Perplexity.Result r = Perplexity.compute(loaded.transformer(), tokens, context, options.kvPrecision());
            double seconds = (System.nanoTime() - start) / 1e9;
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("model", options.model().getFileName().toString());
                m.put("tokens", tokens.length);
                m.put("context", context);
                m.put("scored_tokens", r.scoredTokens());
                m.put("perplexity", r.perplexity());
                m.put("seconds", seconds);
                System.out.println(Json.write(m));
            } else {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < r.afterChunk().length; i++) {
                    sb.append(String.format("[%d]%.4f ", i + 1, r.afterChunk()[i]));
                }
                System.out.println(sb.toString().trim());
                System.out.printf("perplexity %.4f over %d scored tokens (%d tokens, context %d, kv %s) in %.1f s%n",
                        r.perplexity(), r.scoredTokens(), tokens.length, context, options.kvPrecision(), seconds);
            }
        }
        return 0;
    }
}
