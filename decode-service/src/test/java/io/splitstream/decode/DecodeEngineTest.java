package io.splitstream.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.SamplingParameters;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The decode logic without Quarkus or gRPC transport. */
class DecodeEngineTest {
    private static DecodeEngine engine;
    private static int[] golden;

    @BeforeAll
    static void start() throws Exception {
        golden = TestModel.goldenGreedy();
        engine = DecodeEngine.start(new DecodeSettings(TestModel.modelPath(), 2, 1024, KvPrecision.F32, false,
                Duration.ofSeconds(30), 8, 128), () -> "test:0");
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
    }

    private static DecodeRequest.Builder greedy(int maxTokens) {
        DecodeRequest.Builder b = DecodeRequest.newBuilder()
                .setSampling(SamplingParameters.newBuilder().setTemperature(0f)).setMaxTokens(maxTokens).setIgnoreEos(true);
        for (int t : TestModel.ONCE_UPON_A_TIME) {
            b.addPromptTokens(t);
        }
        return b;
    }

    private static int[] tokens(List<GenerateChunk> chunks) {
        return chunks.stream().flatMap(c -> c.getTokenIdsList().stream()).mapToInt(Integer::intValue).toArray();
    }

    private static void awaitAllFree() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (engine.cache().freeBlocks() != engine.cache().totalBlocks() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(engine.cache().totalBlocks(), engine.cache().freeBlocks());
    }

    @Test
    void colocatedAndSplitMatchGolden() throws Exception {
        List<GenerateChunk> chunks = engine.generate(greedy(64).build()).collect().asList().await().atMost(Duration.ofSeconds(60));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), tokens(chunks));
        assertTrue(chunks.getLast().hasFinal());

        TestModel.Export export = TestModel.export(TestModel.ONCE_UPON_A_TIME, 2);
        String transferId = export.importInto(engine, 69);
        chunks = engine.generate(greedy(64).setTransferId(transferId).setFirstToken(export.firstToken()).build())
                .collect().asList().await().atMost(Duration.ofSeconds(60));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), tokens(chunks));
        awaitAllFree();
    }

    @Test
    void cancellingTheSubscriptionCancelsTheGenerationAndFreesItsBlocks() throws Exception {
        long before = engine.cancelledStreams();
        AtomicLong t0 = new AtomicLong(System.nanoTime());
        List<GenerateChunk> first = engine.generate(greedy(1000).build()).select().first(3).collect().asList()
                .await().atMost(Duration.ofSeconds(60));
        assertEquals(3, first.size());
        assertEquals(before + 1, engine.cancelledStreams());
        long cancelled = System.nanoTime();
        awaitAllFree();
        double ms = (System.nanoTime() - cancelled) / 1e6;
        System.out.printf("first 3 tokens after %.1f ms, blocks freed %.1f ms after cancel%n", (cancelled - t0.get()) / 1e6, ms);
        assertTrue(ms < 1000, "freed at the next batcher step, not after 1000 tokens: " + ms + " ms");
    }

    @Test
    void invalidRequestsAreInvalidArgument() {
        var e = assertThrows(StatusRuntimeException.class, () -> engine.generate(greedy(4).setLogprobs(21).build())
                .collect().asList().await().indefinitely());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> engine.generate(DecodeRequest.newBuilder().build())
                .collect().asList().await().indefinitely());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> engine.generate(greedy(4).setTransferId("nope").build())
                .collect().asList().await().indefinitely());
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    }

    @Test
    void reservationsExpire() throws Exception {
        AtomicLong now = new AtomicLong();
        Reservations rs = new Reservations(engine.cache(), Duration.ofSeconds(5), now::get);
        int free = engine.cache().freeBlocks();
        rs.reserve(40);
        assertEquals(free - 3, engine.cache().freeBlocks());
        now.set(Duration.ofSeconds(4).toNanos());
        assertEquals(0, rs.expire());
        now.set(Duration.ofSeconds(5).toNanos());
        assertEquals(1, rs.expire());
        assertEquals(free, engine.cache().freeBlocks());
        assertEquals(0, rs.size());
    }
}
