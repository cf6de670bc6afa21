package io.splitstream.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * Starts a mesh as separate JVM processes on loopback: optionally a draft service, decode instances, prefill
 * instances (split mode) and the gateway; waits until each reports ready; stops them all on close. Used by
 * {@code splitstream up} and by the integration tests, so the tests run exactly what users run.
 */
public final class Mesh implements AutoCloseable {

    /** Split (prefill and decode instances) or colocated (decode instances prefill themselves). */
    public enum Mode { SPLIT, COLOCATED }

    /**
     * @param home           the Splitstream checkout (service jars under its modules' target/quarkus-app)
     * @param decodeModel    a different file of the same model for decode instances (e.g. Q8_0), or null
     * @param gatewayPort    gRPC port of the gateway, 0 = any free port
     * @param gatewayHttpPort HTTP port of the gateway (OpenAI API, health), 0 = any free port
     * @param pin            pin prefill instances to CPU 0 and decode instances to CPU 1 (taskset), for split mode on 2 cores
     * @param extraProperties system properties passed to every instance (e.g. KV precision)
     * @param draftService   also start a draft service ({@code draft-0}, serving the decode model) and make every
     *                       decode instance draft through it ({@code splitstream.decode.speculation.drafter=remote})
     */
    public record Options(Path home, Path model, Path decodeModel, Mode mode, int prefillInstances, int decodeInstances,
                          int threads, int kvTokens, Path logDir, int gatewayPort, int gatewayHttpPort, boolean pin,
                          Map<String, String> extraProperties, boolean draftService) {
        /** A mesh whose decode instances draft in process. */
        public Options(Path home, Path model, Path decodeModel, Mode mode, int prefillInstances, int decodeInstances,
                       int threads, int kvTokens, Path logDir, int gatewayPort, int gatewayHttpPort, boolean pin,
                       Map<String, String> extraProperties) {
            this(home, model, decodeModel, mode, prefillInstances, decodeInstances, threads, kvTokens, logDir, gatewayPort,
                    gatewayHttpPort, pin, extraProperties, false);
        }

        Path decodeModelOrModel() {
            return decodeModel != null ? decodeModel : model;
        }
    }

    /**
     * One started process. gRPC gets its own server port: on Quarkus' shared HTTP/gRPC port a client's cancel does
     * not reach the service (Vert.x 4.5, quarkusio/quarkus#46986), so KV blocks would be freed late.
     */
    public record Instance(String name, int port, int httpPort, Process process, Path log) {
        /** The gRPC address. */
        public String address() {
            return "127.0.0.1:" + port;
        }

        public String httpAddress() {
            return "127.0.0.1:" + httpPort;
        }
    }

    private final List<Instance> instances = new ArrayList<>();
    private Instance gateway;

    private Mesh() {
    }

    public static Mesh start(Options o) throws IOException, InterruptedException {
        Mesh mesh = new Mesh();
        try {
            Files.createDirectories(o.logDir());
            Instance draft = o.draftService()
                    ? mesh.launch(o, "draft-0", "draft-service", o.decodeModelOrModel(), o.extraProperties(), null, freePort(), freePort())
                    : null;
            List<Instance> decodes = new ArrayList<>();
            for (int i = 0; i < o.decodeInstances(); i++) {
                Path model = o.decodeModelOrModel();
                Map<String, String> props = new java.util.LinkedHashMap<>(o.extraProperties());
                props.put("splitstream.kv-tokens", String.valueOf(o.kvTokens()));
                if (draft != null) {
                    props.put("splitstream.decode.speculation.drafter", "remote");
                    props.put("splitstream.decode.speculation.draft-target", draft.address());
                }
                if (o.decodeModel() != null) {
                    props.put("splitstream.accept-other-weights", "true");
                }
                decodes.add(mesh.launch(o, "decode-" + i, "decode-service", model, props, o.pin() && o.mode() == Mode.SPLIT ? "1" : null, freePort(), freePort()));
            }
            List<Instance> prefills = new ArrayList<>();
            if (o.mode() == Mode.SPLIT) {
                for (int i = 0; i < o.prefillInstances(); i++) {
                    Map<String, String> props = new java.util.LinkedHashMap<>(o.extraProperties());
                    props.put("splitstream.kv-tokens", String.valueOf(o.kvTokens()));
                    prefills.add(mesh.launch(o, "prefill-" + i, "prefill-service", o.model(), props, o.pin() ? "0" : null, freePort(), freePort()));
                }
            }
            for (Instance i : mesh.instances) {
                awaitReady(i, Duration.ofSeconds(180));
            }
            Map<String, String> gw = new java.util.LinkedHashMap<>(o.extraProperties());
            gw.put("splitstream.mode", o.mode().name().toLowerCase(java.util.Locale.ROOT));
            gw.put("splitstream.decode.instances", decodes.stream().map(Instance::address).collect(Collectors.joining(",")));
            gw.put("splitstream.prefill.instances", prefills.stream().map(Instance::address).collect(Collectors.joining(",")));
            mesh.gateway = mesh.launch(o, "gateway", "gateway", o.model(), gw, null,
                    o.gatewayPort() == 0 ? freePort() : o.gatewayPort(), o.gatewayHttpPort() == 0 ? freePort() : o.gatewayHttpPort());
            awaitReady(mesh.gateway, Duration.ofSeconds(120));
            return mesh;
        } catch (IOException | InterruptedException | RuntimeException e) {
            mesh.close();
            throw e;
        }
    }

    public Instance gateway() {
        return gateway;
    }

    public List<Instance> instances() {
        return List.copyOf(instances);
    }

    public List<Instance> instances(String prefix) {
        return instances.stream().filter(i -> i.name().startsWith(prefix)).toList();
    }

    private Instance launch(Options o, String name, String module, Path model, Map<String, String> props, String cpu, int port,
                            int httpPort) throws IOException {
        Path jar = o.home().resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IOException(jar + " missing: build first with ./mvnw -q -B package -DskipTests");
        }
        List<String> cmd = new ArrayList<>();
        if (cpu != null) {
            cmd.addAll(List.of("taskset", "-c", cpu));
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                // as the splitstream launcher: a capped young generation keeps RSS near the model's size, and C2
                // alone compiles the Vector API kernels the same way from run to run
                "-XX:+UseParallelGC", "-Xmn256m", "-XX:-TieredCompilation",
                "-Dquarkus.http.port=" + httpPort, "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.grpc.server.use-separate-server=true", "-Dquarkus.grpc.server.port=" + port,
                "-Dquarkus.grpc.server.host=127.0.0.1", "-Dsplitstream.model=" + model.toAbsolutePath(),
                "-Dsplitstream.threads=" + o.threads()));
        props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-jar", jar.toString()));
        Path log = o.logDir().resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Instance instance = new Instance(name, port, httpPort, p, log);
        instances.add(instance);
        return instance;
    }

    private static void awaitReady(Instance i, Duration timeout) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        URI uri = URI.create("http://" + i.httpAddress() + "/q/health/ready");
        while (System.nanoTime() < deadline) {
            if (!i.process().isAlive()) {
                throw new IOException(i.name() + " exited with status " + i.process().exitValue() + "; log " + i.log() + ":\n" + tail(i.log()));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IOException(i.name() + " not ready after " + timeout.toSeconds() + " s; log " + i.log() + ":\n" + tail(i.log()));
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    public static int freePort() throws IOException {
        // Not ServerSocket(0): that port comes from the kernel's ephemeral range (32768-60999 on Linux), where an
        // outgoing connection of any process may take it between now and the instance's bind, which made an
        // instance exit with "port in use" now and then. Ports below that range are only taken by listeners.
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = FIRST_PORT + ThreadLocalRandom.current().nextInt(PORTS);
            if (!HANDED_OUT.add(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException taken) {
                // a listener has it: try another
            }
        }
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static final int FIRST_PORT = 20_000;
    private static final int PORTS = 12_000;
    /** Ports this JVM handed out: never twice, since each is free only until its instance binds it. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Stops every instance: SIGTERM, then a kill after 10 s. */
    @Override
    public void close() {
        List<Instance> all = new ArrayList<>(instances);
        all.forEach(i -> i.process().destroy());
        for (Instance i : all) {
            try {
                if (!i.process().waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    i.process().destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                i.process().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
