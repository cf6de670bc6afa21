package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.cli.Mesh;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's run command: `splitstream up` prints READY, `splitstream complete --json` streams, `splitstream loadgen`
 * drives open-loop load, SIGTERM stops all.
 */
class UpCommandTest {

    static final String SCRIPT = MeshFixture.HOME.resolve("splitstream").toString();

    /** What a test does with a running mesh, given the gateway's gRPC port. */
    interface WithMesh {
        void run(int port) throws Exception;
    }

    /** Runs {@code up} with {@code options}, waits for READY, runs {@code test}, then SIGTERM: every instance stops. */
    static void withUp(String logDir, List<String> options, WithMesh test) throws Exception {
        int port = Mesh.freePort();
        int httpPort = Mesh.freePort();
        List<String> command = new java.util.ArrayList<>(List.of(SCRIPT, "up", "--model", MeshFixture.STORIES.toString(),
                "--port", String.valueOf(port), "--http-port", String.valueOf(httpPort), "--threads", "1",
                "--kv-tokens", "2048", "--log-dir", MeshFixture.HOME.resolve("integration-tests/target/mesh-logs/" + logDir).toString()));
        command.addAll(options);
        Process up = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            assertEquals("READY grpc=127.0.0.1:" + port + " http=127.0.0.1:" + httpPort, ready);
            test.run(port);
        } finally {
            List<ProcessHandle> children = up.descendants().toList();
            up.destroy(); // SIGTERM: the shutdown hook stops the instances
            assertTrue(up.waitFor(30, TimeUnit.SECONDS));
            for (ProcessHandle c : children) {
                c.onExit().get(30, TimeUnit.SECONDS);
                assertTrue(!c.isAlive(), "instance " + c.pid() + " stopped");
            }
        }
    }

    @Test
    void upThenCompleteThenStop() throws Exception {
        String script = SCRIPT;
        withUp("up", List.of(), port -> {
            Process complete = new ProcessBuilder(script, "complete", "--endpoint", "127.0.0.1:" + port, "--prompt",
                    "Once upon a time", "--max-tokens", "16", "--temperature", "0", "--json").start();
            String json = new String(complete.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(complete.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, complete.exitValue(), json + new String(complete.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(json.contains("\"text\":\", there was a little girl named Lily. She loved to play\""), json);
            assertTrue(json.contains("\"ttft_ms\":"), json);
            assertTrue(json.contains("\"speculation\":{\"mode\":\"off\""), json);

            Process speculative = new ProcessBuilder(script, "complete", "--endpoint", "127.0.0.1:" + port, "--prompt",
                    "Once upon a time", "--max-tokens", "16", "--temperature", "0", "--speculation", "hybrid", "--json").start();
            String specJson = new String(speculative.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(speculative.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, speculative.exitValue(), specJson);
            assertTrue(specJson.contains("\"text\":\", there was a little girl named Lily. She loved to play\""), specJson);
            assertTrue(specJson.contains("\"speculation\":{\"mode\":\"hybrid\",\"steps\":"), specJson);
            assertTrue(specJson.contains("\"mean_accepted_per_step\":"), specJson);

            Process load = new ProcessBuilder(script, "loadgen", "--endpoint", "127.0.0.1:" + port, "--rate", "3",
                    "--duration", "3", "--prompt-len", "fixed:16", "--output-len", "fixed:8", "--json").start();
            String report = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(load.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, load.exitValue(), report + new String(load.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(report.contains("\"errors\":{}"), report);
            assertTrue(report.contains("\"completed\":") && !report.contains("\"completed\":0,"), report);
            assertTrue(report.contains("\"tbt_ms\":{\"p50\":"), report);
        });
    }

    /**
     * {@code up --draft-service}: decode drafts through the draft service it started; SIGTERM stops it too. The wait
     * is longer than the 2 ms default: the first drafts of a just started (not yet compiled) draft service on the
     * loaded test machine take longer, and a request that gets none would not show the drafting.
     */
    @Test
    void upWithADraftServiceDraftsThroughIt() throws Exception {
        withUp("up-draft", List.of("--mode", "colocated", "--draft-service", "--draft-wait", "50ms"), port -> {
            Process speculative = new ProcessBuilder(SCRIPT, "complete", "--endpoint", "127.0.0.1:" + port, "--prompt",
                    "Once upon a time", "--max-tokens", "64", "--temperature", "0", "--speculation", "recycling", "--json").start();
            String json = new String(speculative.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(speculative.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, speculative.exitValue(), json);
            assertTrue(json.contains("\"text\":\", there was a little girl named Lily. She loved to play"), json);
            assertTrue(json.contains("\"speculation\":{\"mode\":\"recycling\",\"steps\":"), json);
            assertTrue(!json.contains("\"drafted\":0,"), "the draft service drafted: " + json);
        });
    }
}
