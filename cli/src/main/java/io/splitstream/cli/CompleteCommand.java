package io.splitstream.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.cli.Args;
import io.splitstream.engine.cli.Json;
import io.splitstream.engine.cli.SpeculationReport;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.GenerationGrpc;
import io.splitstream.proto.v1.Mode;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** A streaming gRPC client of the gateway: prints tokens as they arrive, then a timing line. */
final class CompleteCommand implements Main.Command {
    @Override
    public String usage() {
        return "--endpoint HOST:PORT --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] "
                + "[--stop S] [--ignore-eos] [--mode split|colocated] "
                + "[--speculation off|auto|recycling|retrieval|hybrid|rag [--max-tree-nodes N]] [--json]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("ignore-eos", "json"));
        String endpoint = args.string("endpoint", "127.0.0.1:8080");
        String prompt = args.required("prompt");
        GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(prompt)
                .setMaxTokens(args.integer("max-tokens", 128)).setIgnoreEos(args.flag("ignore-eos"));
        SamplingParameters.Builder s = SamplingParameters.newBuilder();
        String temperature = args.string("temperature", null);
        if (temperature != null) {
            s.setTemperature(Float.parseFloat(temperature));
        }
        String topK = args.string("top-k", null);
        if (topK != null) {
            s.setTopK(Integer.parseInt(topK));
        }
        String topP = args.string("top-p", null);
        if (topP != null) {
            s.setTopP(Float.parseFloat(topP));
        }
        String seed = args.string("seed", null);
        if (seed != null) {
            s.setSeed(Long.parseLong(seed));
        }
        req.setSampling(s);
        String stop = args.string("stop", null);
        if (stop != null) {
            req.addStop(stop);
        }
        String mode = args.string("mode", null);
        if (mode != null) {
            req.setMode(Mode.valueOf("MODE_" + mode.toUpperCase(Locale.ROOT)));
        }
        String speculation = args.string("speculation", null);
        int maxTreeNodes = args.integer("max-tree-nodes", 0);
        if (speculation != null || maxTreeNodes != 0) {
            // checked by the gateway (INVALID_ARGUMENT names the valid modes); empty = the decode instance's default
            req.setSpeculation(SpeculationParameters.newBuilder().setMode(speculation == null ? "" : speculation)
                    .setMaxTreeNodes(maxTreeNodes));
        }
        boolean json = args.flag("json");
        args.checkAllUsed();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        ManagedChannel channel = ManagedChannelBuilder.forTarget(endpoint).usePlaintext().build();
        try {
            long start = System.nanoTime();
            long firstToken = 0;
            List<Integer> tokens = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            GenerateChunk last = null;
            Iterator<GenerateChunk> it = GenerationGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.MINUTES)
                    .generate(req.build());
            while (it.hasNext()) {
                GenerateChunk c = it.next();
                if (firstToken == 0 && c.getTokenIdsCount() > 0) {
                    firstToken = System.nanoTime();
                }
                tokens.addAll(c.getTokenIdsList());
                text.append(c.getText());
                if (!json) {
                    out.print(c.getText());
                }
                if (c.hasFinal()) {
                    last = c;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (last == null) {
                throw new IllegalStateException("stream ended without a final chunk");
            }
            var f = last.getFinal();
            double ttftMs = firstToken == 0 ? seconds * 1e3 : (firstToken - start) / 1e6;
            double decodeSeconds = (System.nanoTime() - (firstToken == 0 ? start : firstToken)) / 1e9;
            double tokensPerSecond = tokens.size() > 1 ? (tokens.size() - 1) / decodeSeconds : 0;
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("endpoint", endpoint);
                r.put("prompt", prompt);
                r.put("tokens", tokens.stream().mapToInt(Integer::intValue).toArray());
                r.put("text", text.toString());
                r.put("finish_reason", f.getFinishReason().name().replace("FINISH_REASON_", "").toLowerCase(Locale.ROOT));
                r.put("usage", Map.of("prompt_tokens", f.getUsage().getPromptTokens(), "completion_tokens", f.getUsage().getCompletionTokens()));
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("ttft_ms", ttftMs);
                t.put("server_ttft_ms", f.getTimings().getTtftMs());
                t.put("queue_ms", f.getTimings().getQueueMs());
                t.put("prefill_ms", f.getTimings().getPrefillMs());
                t.put("kv_transfer_ms", f.getTimings().getKvTransferMs());
                t.put("kv_bytes", f.getTimings().getKvBytes());
                t.put("kv_transfer_hidden_fraction", f.getTimings().getKvTransferHiddenFraction());
                t.put("decode_ms", f.getTimings().getDecodeMs());
                t.put("total_ms", seconds * 1e3);
                t.put("tokens_per_s", tokensPerSecond);
                r.put("timings", t);
                r.put("prefill_instance", f.getPrefillInstance());
                r.put("decode_instance", f.getDecodeInstance());
                var spec = f.getSpeculation();
                r.put("speculation", SpeculationReport.json(spec.getMode(), spec.getSteps(), spec.getDrafted(), spec.getAccepted(),
                        spec.getMeanAcceptedPerStep()));
                out.println(Json.write(r));
            } else {
                out.println();
                var spec = f.getSpeculation();
                System.err.printf("[TTFT %.0f ms, %.1f tokens/s, %d tokens, KV moved %.1f KB in %.0f ms, finish %s%s]%n",
                        ttftMs, tokensPerSecond, tokens.size(), f.getTimings().getKvBytes() / 1024.0,
                        f.getTimings().getKvTransferMs(),
                        f.getFinishReason().name().replace("FINISH_REASON_", "").toLowerCase(Locale.ROOT),
                        spec.getMode().isEmpty() || spec.getMode().equals("off") ? ""
                                : ", " + SpeculationReport.line(spec.getMode(), spec.getDrafted(), spec.getAccepted(),
                                        spec.getMeanAcceptedPerStep()));
            }
            return 0;
        } catch (StatusRuntimeException e) {
            System.err.println("splitstream complete: " + endpoint + " answered " + e.getStatus().getCode() + ": " + e.getStatus().getDescription()
                    + (e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE ? " (is the mesh up? start it with: splitstream up)" : ""));
            return 1;
        } finally {
            channel.shutdownNow();
        }
    }
}
