package io.splitstream.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.Multi;
import io.splitstream.engine.kv.ModelFingerprint;
import io.splitstream.proto.internal.v1.DecodeGrpc;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.MutinyKvTransferGrpc;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import io.splitstream.proto.v1.SpeculationStats;
import io.splitstream.service.Protocol;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
class DecodeServiceTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static ManagedChannel channel;
    private static TestModel.Export export;
    private static int[] golden;

    @Inject
    EngineHolder holder;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    private DecodeGrpc.DecodeBlockingStub decode;
    private MutinyKvTransferGrpc.MutinyKvTransferStub kv;

    @BeforeAll
    static void fixtures() throws Exception {
        golden = TestModel.goldenGreedy();
        export = TestModel.export(TestModel.ONCE_UPON_A_TIME, 3);
        assertEquals(golden[0], export.firstToken(), "the test's own prefill samples the golden first token");
    }

    @BeforeEach
    void connect() throws Exception {
        holder.await(WAIT);
        if (channel == null) {
            int port = grpcPort();
            channel = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
        }
        decode = DecodeGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        kv = MutinyKvTransferGrpc.newMutinyStub(channel);
    }

    /** The HTTP port (gRPC shares it), or the separate gRPC server's port when one is configured. */
    static int grpcPort() {
        var config = ConfigProvider.getConfig();
        boolean separate = config.getOptionalValue("quarkus.grpc.server.use-separate-server", Boolean.class).orElse(true);
        return separate ? config.getValue("quarkus.grpc.server.test-port", Integer.class)
                : config.getValue("quarkus.http.test-port", Integer.class);
    }

    @AfterAll
    static void close() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static DecodeRequest.Builder greedy(int maxTokens) {
        DecodeRequest.Builder b = DecodeRequest.newBuilder().setRequestId("test")
                .setSampling(SamplingParameters.newBuilder().setTemperature(0f))
                .setMaxTokens(maxTokens).setIgnoreEos(true);
        for (int t : TestModel.ONCE_UPON_A_TIME) {
            b.addPromptTokens(t);
        }
        return b;
    }

    private record Result(int[] tokens, String text, GenerateChunk last) {
    }

    private Result collect(Iterator<GenerateChunk> it) {
        List<Integer> tokens = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        GenerateChunk last = null;
        while (it.hasNext()) {
            last = it.next();
            tokens.addAll(last.getTokenIdsList());
            text.append(last.getText());
        }
        assertNotNull(last);
        assertTrue(last.hasFinal(), "the last chunk carries Final");
        return new Result(tokens.stream().mapToInt(Integer::intValue).toArray(), text.toString(), last);
    }

    private InstanceStatus status() {
        return decode.status(StatusRequest.getDefaultInstance());
    }

    /** Waits until every KV block is free again (the batcher frees at its next step). */
    private void awaitAllBlocksFree() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        InstanceStatus s = status();
        while (s.getKvBlocksFree() != s.getKvBlocksTotal() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            s = status();
        }
        assertEquals(s.getKvBlocksTotal(), s.getKvBlocksFree(), "all KV blocks free: " + s);
    }

    private String reserve(int tokens) {
        return decode.reserve(ReserveRequest.newBuilder().setRequestId("test").setTokens(tokens).build()).getTransferId();
    }

    private KvPushReply push(List<KvMessage> messages) {
        return kv.push(Multi.createFrom().iterable(messages)).await().atMost(WAIT);
    }

    private static Status.Code code(Throwable t) {
        return Status.fromThrowable(t).getCode();
    }

    @Test
    void statusDescribesTheInstance() {
        InstanceStatus s = status();
        assertTrue(s.getReady());
        assertEquals("stories260K.gguf", s.getModel());
        assertEquals(16, s.getKvBlockTokens());
        assertEquals(1024 / 16, s.getKvBlocksTotal());
        assertTrue(s.getContextLength() > 0);
    }

    @Test
    void colocatedGreedyMatchesGolden() throws Exception {
        Result r = collect(decode.generate(greedy(64).build()));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), r.tokens());
        var fin = r.last().getFinal();
        assertEquals(FinishReason.FINISH_REASON_LENGTH, fin.getFinishReason());
        assertEquals(5, fin.getUsage().getPromptTokens());
        assertEquals(64, fin.getUsage().getCompletionTokens());
        assertTrue(fin.getDecodeInstance().endsWith(":" + grpcPort()), fin.getDecodeInstance());
        assertTrue(fin.getTimings().getTtftMs() >= fin.getTimings().getQueueMs());
        assertFalse(r.text().isEmpty());
        awaitAllBlocksFree();
    }

    @Test
    void splitGenerationFromPushedKvMatchesGolden() throws Exception {
        String id = reserve(5 + 64);
        KvPushReply reply = push(export.withTransferId(id));
        assertEquals(export.messages().size() - 2, reply.getChunks());
        assertTrue(reply.getBytes() > 0);
        Result r = collect(decode.generate(greedy(64).setTransferId(id).setFirstToken(export.firstToken()).build()));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), r.tokens());
        assertEquals(64, r.last().getFinal().getUsage().getCompletionTokens());
        awaitAllBlocksFree();
        // The reservation was consumed.
        var e = assertThrows(StatusRuntimeException.class, () -> collect(decode.generate(greedy(4).setTransferId(id)
                .setFirstToken(export.firstToken()).build())));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    }

    @Test
    void corruptedChunkIsDataLossAndFreesTheReservation() throws Exception {
        String id = reserve(69);
        assertTrue(status().getKvBlocksFree() < status().getKvBlocksTotal());
        List<KvMessage> messages = export.withTransferId(id);
        KvMessage good = messages.get(2);
        byte[] keys = good.getChunk().getKeys().toByteArray();
        keys[7] ^= 0x40;
        messages.set(2, KvMessage.newBuilder().setChunk(good.getChunk().toBuilder().setKeys(ByteString.copyFrom(keys))).build());
        Throwable t = assertThrows(Throwable.class, () -> push(messages));
        assertEquals(Status.Code.DATA_LOSS, code(t), t.toString());
        awaitAllBlocksFree();
        // The reservation is gone.
        t = assertThrows(Throwable.class, () -> push(export.withTransferId(id)));
        assertEquals(Status.Code.FAILED_PRECONDITION, code(t), t.toString());
    }

    @Test
    void wrongSizedChunkIsInvalidArgument() throws Exception {
        String id = reserve(69);
        List<KvMessage> messages = export.withTransferId(id);
        var c = messages.get(1).getChunk();
        ByteString keys = c.getKeys().substring(0, c.getKeys().size() - 4);
        messages.set(1, KvMessage.newBuilder().setChunk(c.toBuilder().setKeys(keys)
                .setChecksum(io.splitstream.service.KvWire.checksum(keys, c.getValues()))).build());
        Throwable t = assertThrows(Throwable.class, () -> push(messages));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(t), t.toString());
        awaitAllBlocksFree();
    }

    @Test
    void foreignFingerprintIsFailedPrecondition() throws Exception {
        String id = reserve(69);
        List<KvMessage> messages = export.withTransferId(id);
        var h = messages.get(0).getHeader();
        ModelFingerprint mine = Protocol.fingerprint(h.getFingerprint());
        ModelFingerprint other = new ModelFingerprint(mine.architecture(), mine.layers(), mine.kvHeads(), mine.headDim(),
                "0".repeat(64));
        messages.set(0, KvMessage.newBuilder().setHeader(h.toBuilder().setFingerprint(Protocol.fingerprint(other))).build());
        Throwable t = assertThrows(Throwable.class, () -> push(messages));
        assertEquals(Status.Code.FAILED_PRECONDITION, code(t), t.toString());
        String message = Status.fromThrowable(t).getDescription();
        assertTrue(message.contains("0".repeat(64)) && message.contains(mine.weightsDigest()), message);
        awaitAllBlocksFree();
    }

    @Test
    void unknownReservationIsFailedPrecondition() {
        Throwable t = assertThrows(Throwable.class, () -> push(export.withTransferId("no-such-reservation")));
        assertEquals(Status.Code.FAILED_PRECONDITION, code(t), t.toString());
        assertTrue(Status.fromThrowable(t).getDescription().contains("unknown or expired reservation"));
    }

    @Test
    void missingTrailerIsRefusedAndFreed() throws Exception {
        String id = reserve(69);
        List<KvMessage> messages = export.withTransferId(id);
        messages.remove(messages.size() - 1);
        Throwable t = assertThrows(Throwable.class, () -> push(messages));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(t), t.toString());
        awaitAllBlocksFree();
    }

    @Test
    void reserveBeyondCapacityIsResourceExhausted() throws Exception {
        var e = assertThrows(StatusRuntimeException.class, () -> reserve(1024 + 1));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertNotNull(e.getStatus().getDescription());
        awaitAllBlocksFree();
    }

    @Test
    void unusedReservationExpires() throws Exception {
        reserve(100);
        assertTrue(status().getKvBlocksFree() < status().getKvBlocksTotal());
        awaitAllBlocksFree(); // reservation-timeout is 2s in tests
    }

    @Test
    void speculativeGreedyEqualsPlainGreedyAndReportsItsStats() throws Exception {
        Result plain = collect(decode.generate(greedy(200).build()));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), java.util.Arrays.copyOf(plain.tokens(), 64));
        SpeculationStats plainStats = plain.last().getFinal().getSpeculation();
        assertEquals("off", plainStats.getMode(), "the default is off");
        assertEquals(0, plainStats.getDrafted());
        assertEquals(1.0, plainStats.getMeanAcceptedPerStep());
        for (String mode : List.of("recycling", "retrieval", "hybrid", "auto", "rag")) {
            double draftedBefore = drafted(mode);
            Result r = collect(decode.generate(greedy(200)
                    .setSpeculation(SpeculationParameters.newBuilder().setMode(mode).setMaxTreeNodes(32)).build()));
            assertArrayEquals(plain.tokens(), r.tokens(), mode);
            assertEquals(plain.text(), r.text(), mode);
            SpeculationStats s = r.last().getFinal().getSpeculation();
            assertEquals(mode, s.getMode());
            assertTrue(s.getSteps() > 0 && s.getSteps() < 199, mode + ": " + s);
            assertTrue(s.getDrafted() > 0 && s.getAccepted() > 0, mode + ": " + s);
            assertTrue(s.getMeanAcceptedPerStep() > 1, mode + ": " + s);
            assertEquals(s.getDrafted(), drafted(mode) - draftedBefore, 0.0, "splitstream_speculation_drafted_total{drafter=" + mode + "}");
            assertTrue(registry.get("splitstream.speculation.accepted.per.step").tag("drafter", mode).summary().count() > 0);
        }
        awaitAllBlocksFree();
    }

    private double drafted(String mode) {
        return registry.get("splitstream.speculation.drafted").tag("drafter", mode).counter().count();
    }

    @Test
    void speculativeSplitGenerationFromPushedKvMatchesGolden() throws Exception {
        String id = reserve(5 + 64);
        push(export.withTransferId(id));
        Result r = collect(decode.generate(greedy(64).setTransferId(id).setFirstToken(export.firstToken())
                .setSpeculation(SpeculationParameters.newBuilder().setMode("hybrid")).build()));
        assertArrayEquals(java.util.Arrays.copyOf(golden, 64), r.tokens());
        assertEquals("hybrid", r.last().getFinal().getSpeculation().getMode());
        assertTrue(r.last().getFinal().getSpeculation().getAccepted() > 0);
        awaitAllBlocksFree();
    }

    @Test
    void badSpeculationIsInvalidArgument() {
        var badMode = greedy(4).setSpeculation(SpeculationParameters.newBuilder().setMode("fast")).build();
        var e = assertThrows(StatusRuntimeException.class, () -> collect(decode.generate(badMode)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("off, auto, recycling, retrieval, hybrid, rag"),
                e.getStatus().getDescription());
        var tooMany = greedy(4).setSpeculation(SpeculationParameters.newBuilder().setMode("hybrid").setMaxTreeNodes(1000)).build();
        e = assertThrows(StatusRuntimeException.class, () -> collect(decode.generate(tooMany)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("max_tree_nodes"), e.getStatus().getDescription());
    }

    @Test
    void badSamplingIsInvalidArgument() {
        var req = greedy(4).setSampling(SamplingParameters.newBuilder().setTemperature(-1f)).build();
        var e = assertThrows(StatusRuntimeException.class, () -> collect(decode.generate(req)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }

    /**
     * With the unified server (gRPC on the HTTP port, Vert.x 4.5 transport) a client's RST_STREAM on a server-streaming
     * call never reaches the service (quarkusio/quarkus#46986, #56268; eclipse-vertx/vert.x#5562), and the late writes
     * make Vert.x close the whole HTTP/2 connection: the blocks are then freed only when the generation ends. With a
     * separate gRPC server (grpc-java Netty) the cancellation arrives and the blocks are freed at once. The engine-level
     * path (Multi cancellation → handle.cancel → blocks freed) is tested in DecodeEngineTest.
     */
    @Test
    void cancellingAStreamFreesItsBlocks() throws Exception {
        long cancelledBefore = holder.engine().cancelledStreams();
        boolean separate = ConfigProvider.getConfig().getOptionalValue("quarkus.grpc.server.use-separate-server", Boolean.class)
                .orElse(true);
        // As long as the KV cache allows (1024 tokens in tests), so the stream is still running when cancelled.
        var req = greedy(1024 - 5).build();
        List<GenerateChunk> first = new ArrayList<>();
        // Own connection: on the unified server the cancelled stream takes its connection down.
        ManagedChannel own = NettyChannelBuilder.forAddress("localhost", grpcPort()).usePlaintext().build();
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            Iterator<GenerateChunk> it = ctx.call(() -> DecodeGrpc.newBlockingStub(own).generate(req));
            while (first.size() < 3 && it.hasNext()) {
                first.add(it.next());
            }
            ctx.cancel(null); // the client goes away mid-stream
        } finally {
            own.shutdownNow();
        }
        assertEquals(3, first.size());
        assertFalse(first.get(2).hasFinal());
        long t0 = System.nanoTime();
        awaitAllBlocksFree();
        assertEquals(0, status().getRunningSequences());
        System.out.printf("cancel test (separate server: %s): blocks freed %.1f ms after the cancel, server saw %d cancellation(s)%n",
                separate, (System.nanoTime() - t0) / 1e6, holder.engine().cancelledStreams() - cancelledBefore);
        if (separate) {
            assertEquals(cancelledBefore + 1, holder.engine().cancelledStreams(), "the server saw the cancellation");
        }
    }

    @Test
    void requestLargerThanTheCacheIsResourceExhausted() throws Exception {
        var e = assertThrows(StatusRuntimeException.class, () -> collect(decode.generate(greedy(1500).build())));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("KV cache"), e.getStatus().getDescription());
        awaitAllBlocksFree();
    }

}
