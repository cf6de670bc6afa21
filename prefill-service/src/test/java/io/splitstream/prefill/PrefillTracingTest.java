package io.splitstream.prefill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.service.TraceAttributes;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The scheduler's spans, in an in-memory SDK: parented to the submitting context, ended on every path. */
class PrefillTracingTest {
    static Model model;
    static ComputePool pool;
    static Model receiverModel;
    static KvReceiver receiver;

    final InMemorySpanExporter exporter = InMemorySpanExporter.create();
    OpenTelemetrySdk otel;
    GrpcKvPusher pusher;
    PrefillScheduler scheduler;
    Span root;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestModels.stories());
        pool = new ComputePool(1);
        receiverModel = Model.load(TestModels.stories());
        receiver = new KvReceiver(receiverModel);
    }

    @AfterAll
    static void unload() throws Exception {
        receiver.close();
        pool.close();
        receiverModel.close();
        model.close();
    }

    @BeforeEach
    void sdk() {
        otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
                .build();
        pusher = new GrpcKvPusher(Duration.ofSeconds(30), otel);
        root = otel.getTracer("test").spanBuilder("server").startSpan();
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            scheduler.close();
        }
        pusher.close();
        otel.close();
        receiver.mode = KvReceiver.Mode.ACCEPT;
    }

    PrefillScheduler scheduler(PrefillSettings settings) {
        scheduler = new PrefillScheduler(new Transformer(model, pool), model.newKvCache(KvPrecision.F32, settings.kvTokens()),
                pusher, settings, new PrefillTracing(otel));
        return scheduler;
    }

    CompletableFuture<PrefillReply> submit(int[] prompt) {
        PrefillRequest r = PrefillSchedulerTest.request(prompt, receiver.target(), KvEncoding.KV_ENCODING_F32);
        return scheduler.submit(r, Context.root().with(root));
    }

    @Test
    void aPromptsQueueChunksAndTransferAreChildrenOfTheRequest() throws Exception {
        scheduler(PrefillSchedulerTest.settings().withPrefillChunkTokens(8)).start();
        int[] prompt = new int[20];
        Arrays.fill(prompt, 300);
        PrefillReply reply = PrefillSchedulerTest.await(submit(prompt));
        // the transfer span ends with the reply, on the push's thread
        SpanData transfer = awaitSpan(s -> s.getName().equals(TraceAttributes.KV_TRANSFER));

        SpanData queue = one(TraceAttributes.PREFILL_QUEUE);
        assertEquals(20L, queue.getAttributes().get(TraceAttributes.PROMPT_TOKENS));
        List<SpanData> chunks = spans(s -> s.getName().equals(TraceAttributes.PREFILL_CHUNK));
        assertEquals(List.of(8L, 8L, 4L), chunks.stream().map(c -> c.getAttributes().get(TraceAttributes.CHUNK_TOKENS)).toList());
        assertEquals(List.of(0L, 8L, 16L), chunks.stream().map(c -> c.getAttributes().get(TraceAttributes.CHUNK_FROM)).toList());
        assertEquals(true, chunks.get(2).getAttributes().get(TraceAttributes.CHUNK_LAST));
        assertEquals((long) model.config().layers(), chunks.get(0).getAttributes().get(TraceAttributes.LAYERS));
        for (SpanData s : List.of(queue, transfer, chunks.get(0), chunks.get(1), chunks.get(2))) {
            assertEquals(root.getSpanContext().getSpanId(), s.getParentSpanId(), s.getName());
            assertEquals(root.getSpanContext().getTraceId(), s.getTraceId(), s.getName());
        }
        assertEquals(reply.getKvBytes(), transfer.getAttributes().get(TraceAttributes.KV_BYTES));
        assertEquals((long) reply.getKvChunks(), transfer.getAttributes().get(TraceAttributes.KV_CHUNKS));
        assertEquals(reply.getKvTransferHiddenFraction(), transfer.getAttributes().get(TraceAttributes.KV_HIDDEN_FRACTION));
        assertEquals(receiver.target(), transfer.getAttributes().get(TraceAttributes.KV_TARGET));

        SpanData push = one("splitstream.internal.v1.KvTransfer/Push");
        assertEquals(SpanKind.CLIENT, push.getKind());
        assertEquals(transfer.getSpanId(), push.getParentSpanId());
        assertEquals(StatusCode.UNSET, push.getStatus().getStatusCode());
    }

    @Test
    void aRefusedPushEndsTheTransferSpanFailed() throws Exception {
        scheduler(PrefillSchedulerTest.settings()).start();
        receiver.mode = KvReceiver.Mode.DATA_LOSS;
        PrefillSchedulerTest.awaitFailure(submit(PrefillSchedulerTest.ONCE_UPON_A_TIME));
        SpanData transfer = awaitSpan(s -> s.getName().equals(TraceAttributes.KV_TRANSFER));
        assertEquals(StatusCode.ERROR, transfer.getStatus().getStatusCode());
        assertEquals("error", transfer.getAttributes().get(TraceAttributes.OUTCOME));
        assertTrue(transfer.getStatus().getDescription().contains("KV push to"), transfer.getStatus().getDescription());
    }

    @Test
    void queuedPromptsThatAreRefusedOrCancelledEndTheirQueueSpan() {
        scheduler(PrefillSchedulerTest.settings().withMaxQueuedTokens(8)); // not started: prompts stay queued
        CompletableFuture<PrefillReply> queued = submit(PrefillSchedulerTest.ONCE_UPON_A_TIME);
        assertThrows(StatusRuntimeException.class, () -> submit(PrefillSchedulerTest.ONCE_UPON_A_TIME));
        SpanData refused = one(TraceAttributes.PREFILL_QUEUE);
        assertEquals(StatusCode.ERROR, refused.getStatus().getStatusCode());
        assertTrue(refused.getStatus().getDescription().contains("queue full"), refused.getStatus().getDescription());

        queued.cancel(false);
        List<SpanData> queues = spans(s -> s.getName().equals(TraceAttributes.PREFILL_QUEUE));
        assertEquals(2, queues.size());
        assertEquals("cancelled", queues.get(1).getAttributes().get(TraceAttributes.OUTCOME));
    }

    private List<SpanData> spans(Predicate<SpanData> p) {
        return exporter.getFinishedSpanItems().stream().filter(p).toList();
    }

    private SpanData one(String name) {
        List<SpanData> found = spans(s -> s.getName().equals(name));
        assertEquals(1, found.size(), name + ": " + found);
        return found.get(0);
    }

    private SpanData awaitSpan(Predicate<SpanData> p) throws InterruptedException {
        PrefillSchedulerTest.waitUntil(() -> !spans(p).isEmpty());
        return spans(p).get(0);
    }
}
