package io.splitstream.prefill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.v1.SamplingParameters;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The scheduler and the gRPC KV pusher against a real KvTransfer server on loopback, without Quarkus. */
class PrefillSchedulerTest {
    static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};
    static final SamplingParameters GREEDY = SamplingParameters.newBuilder().setTemperature(0f).build();
    static final AtomicInteger IDS = new AtomicInteger();

    static Model model;
    static ComputePool pool;
    static Model receiverModel;
    static KvReceiver receiver;
    static GrpcKvPusher pusher;

    KvCache cache;
    PrefillScheduler scheduler;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestModels.stories());
        pool = new ComputePool(1);
        receiverModel = Model.load(TestModels.stories()); // the "decode instance": a second engine
        receiver = new KvReceiver(receiverModel);
        pusher = new GrpcKvPusher(Duration.ofSeconds(30));
    }

    @AfterAll
    static void unload() throws Exception {
        pusher.close();
        receiver.close();
        pool.close();
        receiverModel.close();
        model.close();
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            scheduler.close();
        }
        receiver.mode = KvReceiver.Mode.ACCEPT;
    }

    PrefillScheduler scheduler(PrefillSettings settings, boolean start) {
        cache = model.newKvCache(KvPrecision.F32, settings.kvTokens());
        scheduler = new PrefillScheduler(new Transformer(model, pool), cache, pusher, settings);
        if (start) {
            scheduler.start();
        }
        return scheduler;
    }

    static PrefillSettings settings() {
        return PrefillSettings.defaults().withThreads(2).withKvTokens(2048);
    }

    static PrefillRequest request(int[] tokens, String target, KvEncoding encoding) {
        return PrefillRequest.newBuilder().setRequestId("r" + IDS.incrementAndGet())
                .addAllPromptTokens(Arrays.stream(tokens).boxed().toList()).setSampling(GREEDY).setDecodeTarget(target)
                .setTransferId("t" + IDS.incrementAndGet()).setEncoding(encoding).build();
    }

    static PrefillReply await(CompletableFuture<PrefillReply> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    static StatusRuntimeException awaitFailure(CompletableFuture<PrefillReply> f) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        return assertInstanceOf(StatusRuntimeException.class, e.getCause());
    }

    /** Greedy tokens of an engine-only run (no transfer): prompt, then {@code n} generated tokens. */
    static int[] engineOnlyGreedy(int[] prompt, int n) {
        KvCache c = model.newKvCache(KvPrecision.F32, 1024);
        Transformer t = new Transformer(model, pool);
        int seq = c.newSequence();
        float[][] logits = t.forward(Batch.chunk(seq, 0, prompt, true), c, LayerListener.NONE);
        int[] out = new int[n];
        out[0] = KvReceiver.argmax(logits[prompt.length - 1]);
        for (int i = 1; i < n; i++) {
            logits = t.forward(Batch.chunk(seq, c.length(seq), new int[] {out[i - 1]}, true), c, LayerListener.NONE);
            out[i] = KvReceiver.argmax(logits[0]);
        }
        return out;
    }

    @Test
    void firstTokenAndImportedKvContinueLikeTheGolden() throws Exception {
        scheduler(settings(), true);
        PrefillRequest r = request(ONCE_UPON_A_TIME, receiver.target(), KvEncoding.KV_ENCODING_F32);
        PrefillReply reply = await(scheduler.submit(r));
        assertEquals(432, reply.getFirstToken());

        int[] golden = TestModels.greedyF32().get(0).generated();
        int[] continued = receiver.continueGreedy(r.getTransferId(), reply.getFirstToken(), 16);
        assertArrayEquals(Arrays.copyOf(golden, 16), continued);
        assertArrayEquals(new int[] {432, 383, 286, 261, 376}, Arrays.copyOf(continued, 5));

        var c = model.config();
        assertEquals(c.layers(), reply.getKvChunks()); // 5 positions fit one chunk per layer
        assertEquals((long) c.layers() * 2 * ONCE_UPON_A_TIME.length * c.kvDim() * 4, reply.getKvBytes());
        assertTrue(reply.getKvTransferMs() > 0);
        assertTrue(reply.getPrefillMs() > 0);
        assertEquals(cache.totalBlocks(), cache.freeBlocks(), "the job's KV is freed after export");
        assertEquals(0, scheduler.queuedPromptTokens());
    }

    @Test
    void longPromptStreamsEarlyLayersWhileComputing() throws Exception {
        scheduler(settings().withPrefillChunkTokens(64).withKvChunkTokens(32), true);
        int[] prompt = new int[200];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 37) % 500;
        }
        PrefillRequest r = request(prompt, receiver.target(), KvEncoding.KV_ENCODING_F32);
        long t0 = System.nanoTime();
        PrefillReply reply = await(scheduler.submit(r));
        long computeEnd = t0 + (long) ((reply.getQueueMs() + reply.getPrefillMs()) * 1e6);

        int[] expected = engineOnlyGreedy(prompt, 8);
        assertEquals(expected[0], reply.getFirstToken());
        assertArrayEquals(expected, receiver.continueGreedy(r.getTransferId(), reply.getFirstToken(), 8));

        // steps of 64, 64, 64, 8 rows; each step's layer split into KV messages of at most 32 positions
        int layers = model.config().layers();
        assertEquals(layers * (2 + 2 + 2 + 1), reply.getKvChunks());
        var arrivals = receiver.transfers.get(r.getTransferId()).arrivals();
        assertTrue(arrivals.stream().allMatch(a -> a.tokens() <= 32));
        var firstLayer0 = arrivals.stream().filter(a -> a.layer() == 0).findFirst().orElseThrow();
        assertEquals(0, firstLayer0.from());
        assertTrue(firstLayer0.nanos() < computeEnd, "layer 0 of the first chunk arrived before the prompt finished computing");
        assertTrue(reply.getKvTransferHiddenFraction() > 0 && reply.getKvTransferHiddenFraction() <= 1,
                "hidden fraction " + reply.getKvTransferHiddenFraction());
        System.out.printf("200-token prompt: prefill %.2f ms, transfer %.2f ms, hidden %.2f, %d chunks, %d bytes%n",
                reply.getPrefillMs(), reply.getKvTransferMs(), reply.getKvTransferHiddenFraction(), reply.getKvChunks(),
                reply.getKvBytes());
    }

    @Test
    void concurrentPromptsShareStepsAndEachGetsItsFirstToken() throws Exception {
        scheduler(settings().withPrefillChunkTokens(64), false);
        List<TestModels.Golden> golden = TestModels.greedyF32();
        List<PrefillRequest> requests = new ArrayList<>();
        List<CompletableFuture<PrefillReply>> replies = new ArrayList<>();
        for (TestModels.Golden g : golden) {
            PrefillRequest r = request(g.prompt(), receiver.target(), KvEncoding.KV_ENCODING_F32);
            requests.add(r);
            replies.add(scheduler.submit(r));
        }
        int total = golden.stream().mapToInt(g -> g.prompt().length).sum();
        assertEquals(total, scheduler.queuedPromptTokens());
        assertEquals(golden.size(), scheduler.waitingJobs());
        scheduler.start();
        for (int i = 0; i < golden.size(); i++) {
            long w0 = System.nanoTime();
            PrefillReply reply = await(replies.get(i));
            System.out.printf("prompt %d: waited %.1f ms, queue %.1f ms, prefill %.1f ms, transfer %.1f ms%n", i,
                    (System.nanoTime() - w0) / 1e6, reply.getQueueMs(), reply.getPrefillMs(), reply.getKvTransferMs());
            assertEquals(golden.get(i).generated()[0], reply.getFirstToken(), "prompt " + i);
            assertArrayEquals(Arrays.copyOf(golden.get(i).generated(), 6),
                    receiver.continueGreedy(requests.get(i).getTransferId(), reply.getFirstToken(), 6), "prompt " + i);
        }
        assertTrue(scheduler.maxSequencesPerStep() > 1, "prompts were batched together");
        assertEquals((total + 63) / 64, scheduler.steps(), "steps were filled to the chunk size");
        assertEquals(0, scheduler.queuedPromptTokens());
        assertEquals(cache.totalBlocks(), cache.freeBlocks());
    }

    @Test
    void q8MovesAboutAQuarterOfTheBytes() throws Exception {
        scheduler(settings(), true);
        PrefillReply f32 = await(scheduler.submit(request(ONCE_UPON_A_TIME, receiver.target(), KvEncoding.KV_ENCODING_F32)));
        PrefillRequest r = request(ONCE_UPON_A_TIME, receiver.target(), KvEncoding.KV_ENCODING_Q8);
        PrefillReply q8 = await(scheduler.submit(r));
        assertEquals(432, q8.getFirstToken());
        int hd = model.config().headDim();
        // per token and head: 4 * hd bytes as F32, 4 + hd as Q8 (a quarter plus the scale)
        assertEquals(f32.getKvBytes() * (4 + hd) / (4L * hd), q8.getKvBytes());
        assertEquals(432, receiver.continueGreedy(r.getTransferId(), 432, 2)[0]);
        System.out.printf("Q8/F32 bytes: %d/%d = %.3f (head dim %d)%n", q8.getKvBytes(), f32.getKvBytes(),
                (double) q8.getKvBytes() / f32.getKvBytes(), hd);
    }

    @Test
    void refusedPushFailsWithTheDecodeInstancesStatus() throws Exception {
        scheduler(settings(), true);
        receiver.mode = KvReceiver.Mode.DATA_LOSS;
        StatusRuntimeException e = awaitFailure(scheduler.submit(request(ONCE_UPON_A_TIME, receiver.target(),
                KvEncoding.KV_ENCODING_F32)));
        assertEquals(Status.Code.DATA_LOSS, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("KV push to " + receiver.target() + " failed: "),
                e.getStatus().getDescription());
        assertTrue(e.getStatus().getDescription().contains("CRC32C"), e.getStatus().getDescription());
        waitUntil(() -> cache.freeBlocks() == cache.totalBlocks() && scheduler.runningJobs() == 0);
    }

    @Test
    void deadDecodeTargetFailsUnavailable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String target = "127.0.0.1:" + port;
        scheduler(settings().withPrefillChunkTokens(16), true);
        int[] prompt = new int[100];
        Arrays.fill(prompt, 300);
        StatusRuntimeException e = awaitFailure(scheduler.submit(request(prompt, target, KvEncoding.KV_ENCODING_F32)));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("KV push to " + target + " failed: "),
                e.getStatus().getDescription());
        waitUntil(() -> cache.freeBlocks() == cache.totalBlocks() && scheduler.queuedPromptTokens() == 0);
        // the instance keeps serving
        assertEquals(432, await(scheduler.submit(request(ONCE_UPON_A_TIME, receiver.target(), KvEncoding.KV_ENCODING_F32)))
                .getFirstToken());
    }

    @Test
    void invalidRequestsAndFullQueueAreRefused() {
        scheduler(settings().withMaxQueuedTokens(8), false);
        String t = receiver.target();
        assertInvalid(request(new int[0], t, KvEncoding.KV_ENCODING_F32), "prompt_tokens is empty");
        assertInvalid(request(new int[] {1, 512}, t, KvEncoding.KV_ENCODING_F32), "outside the vocabulary");
        assertInvalid(request(new int[model.config().contextLength() + 1], t, KvEncoding.KV_ENCODING_F32), "context length");
        assertInvalid(request(ONCE_UPON_A_TIME, "", KvEncoding.KV_ENCODING_F32), "decode_target");
        assertInvalid(request(ONCE_UPON_A_TIME, t, KvEncoding.KV_ENCODING_F32).toBuilder().clearTransferId().build(),
                "transfer_id");
        assertInvalid(request(ONCE_UPON_A_TIME, t, KvEncoding.KV_ENCODING_F32).toBuilder()
                .setSampling(SamplingParameters.newBuilder().setTopP(2f)).build(), "sampling");

        scheduler.submit(request(ONCE_UPON_A_TIME, t, KvEncoding.KV_ENCODING_F32));
        assertEquals(5, scheduler.queuedPromptTokens());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> scheduler.submit(request(ONCE_UPON_A_TIME, t, KvEncoding.KV_ENCODING_F32)));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    }

    @Test
    void cancelledJobIsDroppedAndCountsNoMore() throws Exception {
        scheduler(settings(), false);
        CompletableFuture<PrefillReply> f = scheduler.submit(request(ONCE_UPON_A_TIME, receiver.target(),
                KvEncoding.KV_ENCODING_F32));
        f.cancel(false);
        scheduler.start();
        PrefillReply ok = await(scheduler.submit(request(ONCE_UPON_A_TIME, receiver.target(), KvEncoding.KV_ENCODING_F32)));
        assertEquals(432, ok.getFirstToken());
        waitUntil(() -> scheduler.queuedPromptTokens() == 0 && scheduler.waitingJobs() == 0);
    }

    void assertInvalid(PrefillRequest r, String fragment) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> scheduler.submit(r));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(fragment), e.getStatus().getDescription());
    }

    static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "condition not reached in 10 s");
            Thread.sleep(10);
        }
    }
}
