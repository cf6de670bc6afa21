package io.splitstream.cli;

import io.splitstream.engine.cli.Args;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** Starts a mesh on loopback and keeps it running until Ctrl-C / SIGTERM. */
final class UpCommand implements Main.Command {
    static final String DEFAULT_MODEL = "models/splitstream-demo.gguf";

    @Override
    public String usage() {
        return "[--model F] [--decode-model F] [--mode split|colocated] [--prefill N] [--decode N] [--threads T] "
                + "[--kv-tokens N] [--kv f32|q8] [--port GRPC] [--http-port HTTP] [--pin] [--draft-service [--draft-wait 2ms]] [--log-dir D] [--then PROMPT]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of("pin", "draft-service"));
        Path home = Path.of(System.getProperty("splitstream.home", "."));
        Path model = Path.of(args.string("model", home.resolve(DEFAULT_MODEL).toString()));
        String decodeModel = args.string("decode-model", null);
        Mesh.Mode mode = Mesh.Mode.valueOf(args.string("mode", "split").toUpperCase(Locale.ROOT));
        int prefill = args.integer("prefill", 1);
        int decode = args.integer("decode", 1);
        boolean pin = args.flag("pin");
        boolean draftService = args.flag("draft-service");
        String draftWait = args.string("draft-wait", null);
        int threads = args.integer("threads", pin ? 1 : Math.max(1, Runtime.getRuntime().availableProcessors()));
        int kvTokens = args.integer("kv-tokens", 16384);
        String kv = args.string("kv", "f32");
        int port = args.integer("port", 8080);
        int httpPort = args.integer("http-port", 8000);
        Path logDir = Path.of(args.string("log-dir", home.resolve("target/mesh-logs").toString()));
        String then = args.string("then", null);
        args.checkAllUsed();
        if (!Files.isRegularFile(model)) {
            throw new Args.UsageException("model file " + model + " not found");
        }
        if (prefill < 1 || decode < 1) {
            throw new Args.UsageException("--prefill and --decode must be at least 1");
        }
        if (draftWait != null && !draftService) {
            throw new Args.UsageException("--draft-wait needs --draft-service");
        }
        Map<String, String> props = new LinkedHashMap<>();
        if (draftWait != null) {
            props.put("splitstream.decode.speculation.draft-wait", draftWait);
        }
        props.put("splitstream.kv-precision", kv);
        props.put("splitstream.kv-encoding", kv);
        Mesh.Options options = new Mesh.Options(home, model, decodeModel == null ? null : Path.of(decodeModel), mode,
                prefill, decode, threads, kvTokens, logDir, port, httpPort, pin, props, draftService);
        System.err.printf("starting %s mesh on %s (%d prefill, %d decode%s), logs in %s%n", mode.name().toLowerCase(Locale.ROOT),
                model.getFileName(), mode == Mesh.Mode.SPLIT ? prefill : 0, decode,
                draftService ? ", a draft service decode drafts through" : "", logDir);
        Mesh mesh = Mesh.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            mesh.close();
            stopped.countDown();
        }));
        for (Mesh.Instance i : mesh.instances()) {
            System.err.printf("  %-10s grpc %s  http %s%n", i.name(), i.address(), i.httpAddress());
        }
        System.out.println("READY grpc=" + mesh.gateway().address() + " http=" + mesh.gateway().httpAddress());
        System.out.flush();
        if (then != null) {
            // The README's one-liner: stream a first completion through the gateway, then keep serving.
            new CompleteCommand().run(List.of("--endpoint", mesh.gateway().address(), "--prompt", then));
            System.err.println("mesh still running; Ctrl-C stops it");
        }
        stopped.await();
        return 0;
    }
}
