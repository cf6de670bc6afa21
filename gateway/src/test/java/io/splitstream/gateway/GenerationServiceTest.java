package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.ReserveReply;
import io.splitstream.proto.internal.v1.ReserveRequest;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.Timings;
import io.splitstream.proto.v1.Usage;
import io.splitstream.service.TraceAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The orchestration (reserve fallback, prefill then decode, Final timings, error naming, cancellation) against a
 * scripted MeshClient: these are the gateway's own decisions; real instances are exercised in integration-tests.
 */
class GenerationServiceTest {
    /** Scripted instances: status per address, reserve failures, and a record of the calls made. */
    static final class Script implements MeshClient {
        final Map<String, InstanceStatus> status = new HashMap<>();
        final Map<String, Status> reserveFails = new HashMap<>();
        final Map<String, Status> generateFails = new HashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();
        /** The span current at each reserve, prefill and generate call (their trace parent). */
        final List<String> parents = new CopyOnWriteArrayList<>();
        final AtomicBoolean decodeCancelled = new AtomicBoolean();
        volatile boolean endless;
        volatile Deadline lastDeadline;

        @Override
        public Uni<InstanceStatus> status(Instance i, Deadline d) {
            InstanceStatus s = status.get(i.address());
            return s == null ? Uni.createFrom().failure(Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException())
                    : Uni.createFrom().item(s);
        }

        @Override
        public Uni<ReserveReply> reserve(Instance decode, ReserveRequest r, Deadline d) {
            calls.add("reserve " + decode.address() + " " + r.getTokens());
            parents.add(Span.current().getSpanContext().getSpanId());
            Status fail = reserveFails.get(decode.address());
            return fail != null ? Uni.createFrom().failure(fail.asRuntimeException())
                    : Uni.createFrom().item(ReserveReply.newBuilder().setTransferId("t-" + decode.address()).build());
        }

        @Override
        public Uni<PrefillReply> prefill(Instance p, PrefillRequest r, Deadline d) {
            lastDeadline = d;
            parents.add(Span.current().getSpanContext().getSpanId());
            calls.add("prefill " + p.address() + " -> " + r.getDecodeTarget() + " " + r.getTransferId() + " " + r.getEncoding());
            return Uni.createFrom().item(PrefillReply.newBuilder().setFirstToken(42).setQueueMs(3).setPrefillMs(10)
                    .setKvTransferMs(4).setKvBytes(1234).setKvTransferHiddenFraction(0.75).build());
        }

        @Override
        public Multi<GenerateChunk> generate(Instance decode, DecodeRequest r, Deadline d) {
            parents.add(Span.current().getSpanContext().getSpanId());
            calls.add("generate " + decode.address() + " transfer=" + r.getTransferId() + " first=" + r.getFirstToken()
                    + " prompt=" + r.getPromptTokensCount() + " max=" + r.getMaxTokens());
            Status fail = generateFails.get(decode.address());
            if (fail != null) {
                return Multi.createFrom().failure(fail.asRuntimeException());
            }
            if (endless) {
                return Multi.createFrom().<GenerateChunk>nothing().onCancellation().invoke(() -> decodeCancelled.set(true));
            }
            return Multi.createFrom().items(
                    GenerateChunk.newBuilder().addTokenIds(42).setText(" the").build(),
                    GenerateChunk.newBuilder().addTokenIds(43).setText(" end").setFinal(Final.newBuilder()
                            .setFinishReason(FinishReason.FINISH_REASON_STOP)
                            .setUsage(Usage.newBuilder().setPromptTokens(r.getPromptTokensCount()).setCompletionTokens(2))
                            .setTimings(Timings.newBuilder().setQueueMs(99).setPrefillMs(99).setDecodeMs(5))).build());
        }

        @Override
        public void close() {
        }
    }

    static InstanceStatus decodeStatus(int free) {
        return InstanceStatus.newBuilder().setReady(true).setKvBlocksFree(free).setKvBlockTokens(16).build();
    }

    private GenerationService service(Script script, GatewayConfig.Mode mode, List<String> prefill, List<String> decode) {
        return service(script, mode, prefill, decode, GatewayTracing.none());
    }

    private GenerationService service(Script script, GatewayConfig.Mode mode, List<String> prefill, List<String> decode,
            GatewayTracing tracing) {
        GatewayConfig config = TestModel.config(mode, prefill, decode);
        InstancePool pool = new InstancePool(config, script);
        pool.refresh().await().atMost(Duration.ofSeconds(5));
        return new GenerationService(new RequestValidator(TestModel.model(), config), pool, script, config,
                GatewayMetrics.none(), tracing);
    }

    @Test
    void eachGenerationIsASpanUnderTheCallersParentOfEveryInstanceCall() {
        InMemorySpanExporter exporter = InMemorySpanExporter.create();
        try (OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build()).build()) {
            Script script = new Script();
            script.status.put("p1:1", InstanceStatus.newBuilder().setReady(true).build());
            script.status.put("d1:1", decodeStatus(50));
            script.status.put("d2:1", decodeStatus(40));
            script.generateFails.put("d2:1", Status.INTERNAL.withDescription("boom"));
            GenerationService s = service(script, GatewayConfig.Mode.SPLIT, List.of("p1:1"), List.of("d1:1"),
                    new GatewayTracing(otel));
            Span caller = otel.getTracer("test").spanBuilder("server").startSpan();
            Multi<GenerateChunk> stream;
            try (Scope ignored = caller.makeCurrent()) { // the API's server span, current where the request arrives
                stream = s.generate(REQUEST, null);
            }
            stream.runSubscriptionOn(Infrastructure.getDefaultWorkerPool()).collect().asList().await().atMost(Duration.ofSeconds(5));

            SpanData span = exporter.getFinishedSpanItems().getFirst();
            assertEquals(TraceAttributes.GATEWAY_GENERATE, span.getName());
            assertEquals(caller.getSpanContext().getSpanId(), span.getParentSpanId());
            assertEquals("split", span.getAttributes().get(TraceAttributes.MODE));
            assertEquals("stop", span.getAttributes().get(TraceAttributes.OUTCOME));
            assertEquals(2L, span.getAttributes().get(TraceAttributes.COMPLETION_TOKENS));
            assertEquals(List.of(span.getSpanId(), span.getSpanId(), span.getSpanId()), script.parents);

            exporter.reset();
            GenerationService failing = service(script, GatewayConfig.Mode.COLOCATED, List.of(), List.of("d2:1"),
                    new GatewayTracing(otel));
            failure(failing, REQUEST);
            SpanData failed = exporter.getFinishedSpanItems().getFirst();
            assertEquals(StatusCode.ERROR, failed.getStatus().getStatusCode());
            assertEquals("colocated", failed.getAttributes().get(TraceAttributes.MODE));
            assertEquals("error", failed.getAttributes().get(TraceAttributes.OUTCOME));
        }
    }

    private static final GenerateRequest REQUEST = GenerateRequest.newBuilder().setPrompt("Once upon a time").setMaxTokens(10)
            .build();

    private static StatusRuntimeException failure(GenerationService s, GenerateRequest r) {
        return assertThrows(StatusRuntimeException.class,
                () -> s.generate(r, null).collect().asList().await().atMost(Duration.ofSeconds(5)));
    }

    @Test
    void splitReservesOnTheFreestDecodePrefillsAndRelaysWithTimings() {
        Script script = new Script();
        script.status.put("p1:1", InstanceStatus.newBuilder().setReady(true).setQueuedPromptTokens(500).build());
        script.status.put("p2:1", InstanceStatus.newBuilder().setReady(true).setQueuedPromptTokens(10).build());
        script.status.put("d1:1", decodeStatus(10));
        script.status.put("d2:1", decodeStatus(50));
        GenerationService s = service(script, GatewayConfig.Mode.SPLIT, List.of("p1:1", "p2:1"), List.of("d1:1", "d2:1"));
        int prompt = TestModel.model().tokenizer().encode("Once upon a time", true, false).length;
        Deadline deadline = Deadline.after(1, java.util.concurrent.TimeUnit.MINUTES);
        List<GenerateChunk> chunks = s.generate(REQUEST, deadline).collect().asList().await().atMost(Duration.ofSeconds(5));
        assertEquals(List.of("reserve d2:1 " + (prompt + 10), "prefill p2:1 -> d2:1 t-d2:1 KV_ENCODING_F32",
                "generate d2:1 transfer=t-d2:1 first=42 prompt=" + prompt + " max=10"), script.calls);
        assertEquals(deadline, script.lastDeadline);
        assertEquals(2, chunks.size());
        Final f = chunks.get(1).getFinal();
        assertEquals("p2:1", f.getPrefillInstance());
        assertEquals("d2:1", f.getDecodeInstance());
        Timings t = f.getTimings();
        assertEquals(3, t.getQueueMs());
        assertEquals(10, t.getPrefillMs());
        assertEquals(4, t.getKvTransferMs());
        assertEquals(1234, t.getKvBytes());
        assertEquals(0.75, t.getKvTransferHiddenFraction());
        assertEquals(5, t.getDecodeMs());
        assertTrue(t.getTtftMs() > 0 && t.getTotalMs() >= t.getTtftMs(), t.toString());
    }

    @Test
    void fullDecodeInstanceMovesOnThenResourceExhausted() {
        Script script = new Script();
        script.status.put("p:1", InstanceStatus.newBuilder().setReady(true).build());
        script.status.put("d1:1", decodeStatus(50));
        script.status.put("d2:1", decodeStatus(10));
        script.reserveFails.put("d1:1", Status.RESOURCE_EXHAUSTED.withDescription("no free KV blocks"));
        GenerationService s = service(script, GatewayConfig.Mode.SPLIT, List.of("p:1"), List.of("d1:1", "d2:1"));
        List<GenerateChunk> chunks = s.generate(REQUEST, null).collect().asList().await().atMost(Duration.ofSeconds(5));
        assertEquals("d2:1", chunks.getLast().getFinal().getDecodeInstance());

        script.reserveFails.put("d2:1", Status.UNAVAILABLE.withDescription("connection refused"));
        StatusRuntimeException e = failure(s, REQUEST);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());

        script.reserveFails.put("d1:1", Status.UNAVAILABLE.withDescription("connection refused"));
        e = failure(s, REQUEST);
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertEquals("decode instance d2:1: connection refused", e.getStatus().getDescription());
    }

    @Test
    void withoutHealthyPrefillSplitRunsColocated() {
        Script script = new Script();
        script.status.put("d:1", decodeStatus(50));
        GenerationService s = service(script, GatewayConfig.Mode.SPLIT, List.of("p:1"), List.of("d:1"));
        List<GenerateChunk> chunks = s.generate(REQUEST, null).collect().asList().await().atMost(Duration.ofSeconds(5));
        assertTrue(script.calls.getFirst().startsWith("generate d:1 transfer= first=0"), script.calls.toString());
        assertEquals(1, script.calls.size());
        Final f = chunks.getLast().getFinal();
        assertEquals("", f.getPrefillInstance());
        assertEquals(99, f.getTimings().getPrefillMs()); // colocated: the decode instance's own timings
    }

    @Test
    void colocatedMovesOnWhenTheFirstDecodeRefusesBeforeAnyToken() {
        Script script = new Script();
        script.status.put("d1:1", decodeStatus(50));
        script.status.put("d2:1", decodeStatus(10));
        script.generateFails.put("d1:1", Status.RESOURCE_EXHAUSTED.withDescription("full"));
        GenerationService s = service(script, GatewayConfig.Mode.COLOCATED, List.of(), List.of("d1:1", "d2:1"));
        List<GenerateChunk> chunks = s.generate(REQUEST, null).collect().asList().await().atMost(Duration.ofSeconds(5));
        assertEquals("d2:1", chunks.getLast().getFinal().getDecodeInstance());
        script.generateFails.put("d2:1", Status.INTERNAL.withDescription("boom"));
        StatusRuntimeException e = failure(s, REQUEST);
        assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
        assertEquals("decode instance d2:1: boom", e.getStatus().getDescription());
    }

    @Test
    void noHealthyDecodeIsUnavailableNamingTheInstances() {
        Script script = new Script();
        GenerationService s = service(script, GatewayConfig.Mode.SPLIT, List.of(), List.of("d1:1"));
        StatusRuntimeException e = failure(s, REQUEST);
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("d1:1 (UNAVAILABLE: connection refused)"),
                e.getStatus().getDescription());
        assertTrue(script.calls.isEmpty());
    }

    @Test
    void invalidRequestsFailBeforeAnyInstanceCall() {
        Script script = new Script();
        script.status.put("d:1", decodeStatus(50));
        GenerationService s = service(script, GatewayConfig.Mode.COLOCATED, List.of(), List.of("d:1"));
        StatusRuntimeException e = failure(s, GenerateRequest.newBuilder().setMaxTokens(5).build());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(script.calls.isEmpty());
    }

    @Test
    void cancellingTheStreamCancelsTheDecodeCall() {
        Script script = new Script();
        script.endless = true;
        script.status.put("d:1", decodeStatus(50));
        GenerationService s = service(script, GatewayConfig.Mode.COLOCATED, List.of(), List.of("d:1"));
        var cancellable = s.generate(REQUEST, null).subscribe().with(c -> {
        });
        assertEquals(1, script.calls.size());
        cancellable.cancel();
        assertTrue(script.decodeCancelled.get());
    }
}
