package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.cli.Mesh;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.GenerationGrpc;
import io.splitstream.proto.v1.Mode;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A split mesh (gateway, one prefill, one decode: three JVMs on loopback) gives exactly what the engine alone gives:
 * llama.cpp's golden greedy tokens, in split mode and in colocated mode, alone and concurrently.
 */
class SplitMeshTest {
    static MeshFixture fixture;

    @BeforeAll
    static void start() throws Exception {
        fixture = new MeshFixture(Mesh.Mode.SPLIT);
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    static GenerateRequest greedy(String prompt, int maxTokens, Mode mode) {
        return GenerateRequest.newBuilder().setPrompt(prompt).setMaxTokens(maxTokens).setIgnoreEos(true).setMode(mode)
                .setSampling(SamplingParameters.newBuilder().setTemperature(0)).build();
    }

    @Test
    void everyGoldenPromptMatchesInSplitAndColocatedMode() throws Exception {
        for (Golden g : Golden.load("greedy-f32.json")) {
            for (Mode mode : new Mode[] {Mode.MODE_SPLIT, Mode.MODE_COLOCATED}) {
                MeshFixture.Result r = fixture.generate(greedy(g.prompt(), 64, mode));
                assertArrayEquals(g.generated(), r.ids(), mode + ": " + g.prompt());
                assertEquals(g.text(), r.text(), mode + ": " + g.prompt());
                var f = r.last().getFinal();
                assertEquals(FinishReason.FINISH_REASON_LENGTH, f.getFinishReason());
                assertEquals(64, f.getUsage().getCompletionTokens());
                assertEquals(g.promptTokens().length, f.getUsage().getPromptTokens());
                if (mode == Mode.MODE_SPLIT) {
                    assertTrue(f.getTimings().getKvBytes() > 0, "split mode moves KV state");
                    assertTrue(!f.getPrefillInstance().isEmpty());
                } else {
                    assertEquals(0, f.getTimings().getKvBytes());
                }
            }
        }
    }

    /** 16 streams at once, half greedy and half sampled with their own settings, each equal to its run alone. */
    @Test
    void concurrentStreamsEachMatchTheirRunAlone() throws Exception {
        List<Golden> golden = Golden.load("greedy-f32.json");
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Golden g = golden.get(i % golden.size());
            requests.add(i < 8 ? greedy(g.prompt(), 64, Mode.MODE_DEFAULT)
                    : GenerateRequest.newBuilder().setPrompt(g.prompt()).setMaxTokens(48).setIgnoreEos(true)
                            .setSampling(SamplingParameters.newBuilder().setTemperature(0.5f + 0.1f * (i - 8)).setTopK(10 + i)
                                    .setTopP(0.9f).setSeed(1000 + i)).build());
        }
        List<int[]> alone = new ArrayList<>();
        for (GenerateRequest r : requests) {
            alone.add(fixture.generate(r).ids());
        }
        List<CompletableFuture<MeshFixture.Result>> futures = new ArrayList<>();
        for (GenerateRequest r : requests) {
            futures.add(CompletableFuture.supplyAsync(() -> fixture.generate(r)));
        }
        for (int i = 0; i < 16; i++) {
            int[] together = futures.get(i).get(180, TimeUnit.SECONDS).ids();
            assertArrayEquals(alone.get(i), together, "stream " + i);
            if (i < 8) {
                assertArrayEquals(golden.get(i).generated(), together, "greedy stream " + i);
            }
        }
        awaitAllBlocksFree();
    }

    @Test
    void invalidRequestsGetInvalidArgumentWithAMessage() {
        var stub = GenerationGrpc.newBlockingStub(fixture.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        for (GenerateRequest bad : List.of(
                GenerateRequest.newBuilder().setPrompt("x").setSampling(SamplingParameters.newBuilder().setTemperature(-1)).build(),
                GenerateRequest.newBuilder().setPrompt("x").setSampling(SamplingParameters.newBuilder().setTopP(2)).build(),
                GenerateRequest.newBuilder().build(),
                GenerateRequest.newBuilder().setPrompt("x").addStop("").build(),
                GenerateRequest.newBuilder().setPrompt("x").setSpeculation(SpeculationParameters.newBuilder().setMode("warp")).build(),
                GenerateRequest.newBuilder().setPrompt("x").setSpeculation(SpeculationParameters.newBuilder().setMaxTreeNodes(999)).build(),
                GenerateRequest.newBuilder().setPrompt("once ".repeat(3000)).build())) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.generate(bad).forEachRemaining(c -> { }));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), String.valueOf(e.getStatus()));
            assertTrue(e.getStatus().getDescription() != null && !e.getStatus().getDescription().isBlank());
        }
    }

    @Test
    void cancellingAStreamFreesItsKvBlocks() throws Exception {
        var stub = GenerationGrpc.newBlockingStub(fixture.channel);
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        int seen = ctx.call(() -> {
            Iterator<GenerateChunk> it = stub.generate(greedy("Once upon a time", 1000, Mode.MODE_SPLIT));
            int n = 0;
            while (it.hasNext() && n < 5) {
                n += it.next().getTokenIdsCount();
            }
            return n;
        });
        ctx.cancel(null);
        assertTrue(seen >= 5);
        awaitAllBlocksFree();
    }

    @Test
    void stopStringsEndTheStreamBeforeTheStopText() {
        MeshFixture.Result r = fixture.generate(greedy("Once upon a time", 64, Mode.MODE_SPLIT).toBuilder().addStop("Lily").build());
        assertEquals(", there was a little girl named ", r.text());
        assertEquals(FinishReason.FINISH_REASON_STOP, r.last().getFinal().getFinishReason());
    }

    /** Speculative requests through the real split mesh (gRPC and the OpenAI API) give the golden greedy text. */
    @Test
    @SuppressWarnings("unchecked")
    void speculativeRequestsMatchGoldenAndReportTheirStats() throws Exception {
        List<Golden> golden = Golden.load("greedy-f32.json");
        String[] drafters = {"hybrid", "recycling", "retrieval"};
        long[] accepted = new long[drafters.length];
        for (int i = 0; i < golden.size(); i++) {
            Golden g = golden.get(i);
            Mode mode = i % 2 == 0 ? Mode.MODE_SPLIT : Mode.MODE_COLOCATED;
            MeshFixture.Result r = fixture.generate(greedy(g.prompt(), 64, mode).toBuilder()
                    .setSpeculation(SpeculationParameters.newBuilder().setMode(drafters[i % 3]).setMaxTreeNodes(32)).build());
            assertArrayEquals(g.generated(), r.ids(), drafters[i % 3] + ", " + mode + ": " + g.prompt());
            assertEquals(g.text(), r.text());
            var stats = r.last().getFinal().getSpeculation();
            assertEquals(drafters[i % 3], stats.getMode());
            assertTrue(stats.getSteps() > 0 && stats.getSteps() <= 64 && stats.getMeanAcceptedPerStep() >= 1, stats.toString());
            accepted[i % 3] += stats.getAccepted();
        }
        for (int d = 0; d < drafters.length; d++) {
            assertTrue(accepted[d] > 0, drafters[d] + " accepted drafts");
        }
        Golden first = golden.getFirst();
        HttpResponse<String> ok = post("""
                {"prompt":%s,"max_tokens":64,"temperature":0,"ignore_eos":true,"speculation":{"mode":"hybrid","max_tree_nodes":16}}"""
                .formatted(io.splitstream.engine.cli.Json.write(first.prompt())));
        assertEquals(200, ok.statusCode(), ok.body());
        Map<String, Object> body = (Map<String, Object>) io.splitstream.engine.testing.Json.parse(ok.body());
        assertEquals(first.text(), ((List<Map<String, Object>>) body.get("choices")).getFirst().get("text"));
        assertEquals("hybrid", ((Map<String, Object>) body.get("speculation")).get("mode"));
        HttpResponse<String> bad = post("""
                {"prompt":"x","speculation":"warp"}""");
        assertEquals(400, bad.statusCode(), bad.body());
        Map<String, Object> error = (Map<String, Object>) ((Map<String, Object>) io.splitstream.engine.testing.Json.parse(bad.body()))
                .get("error");
        assertEquals("speculation.mode", error.get("param"));
        assertTrue(((String) error.get("message")).contains("hybrid"), bad.body());
        awaitAllBlocksFree();
    }

    private static HttpResponse<String> post(String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://" + fixture.mesh.gateway().httpAddress() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static void awaitAllBlocksFree() throws InterruptedException {
        awaitAllBlocksFree(fixture);
    }

    static void awaitAllBlocksFree(MeshFixture fixture) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        InstanceStatus s = fixture.decodeStatus(0);
        while (s.getKvBlocksFree() != s.getKvBlocksTotal() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            s = fixture.decodeStatus(0);
        }
        assertEquals(s.getKvBlocksTotal(), s.getKvBlocksFree(), "all KV blocks free again");
    }
}
