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

    static void awaitAllBlocksFree() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        InstanceStatus s = fixture.decodeStatus(0);
        while (s.getKvBlocksFree() != s.getKvBlocksTotal() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            s = fixture.decodeStatus(0);
        }
        assertEquals(s.getKvBlocksTotal(), s.getKvBlocksFree(), "all KV blocks free again");
    }
}
