package io.splitstream.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.service.TraceAttributes;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The decode span of a Generate, in an in-memory SDK: parented to the given context, ended however the request ends. */
class DecodeTracingTest {
    static final InMemorySpanExporter EXPORTER = InMemorySpanExporter.create();
    static OpenTelemetrySdk otel;
    static DecodeEngine engine;
    Span root;

    @BeforeAll
    static void start() throws Exception {
        otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(EXPORTER)).build())
                .build();
        engine = DecodeEngine.start(new DecodeSettings(TestModel.modelPath(), 2, 1024, KvPrecision.F32, false,
                Duration.ofSeconds(30), 8, 128), () -> "test:0", DecodeMetrics.NONE, new DecodeTracing(otel));
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
        otel.close();
    }

    @BeforeEach
    void reset() {
        EXPORTER.reset();
        root = otel.getTracer("test").spanBuilder("server").startSpan();
    }

    private static DecodeRequest.Builder greedy(int maxTokens) {
        DecodeRequest.Builder b = DecodeRequest.newBuilder().setRequestId("r1")
                .setSampling(SamplingParameters.newBuilder().setTemperature(0f)).setMaxTokens(maxTokens).setIgnoreEos(true);
        for (int t : TestModel.ONCE_UPON_A_TIME) {
            b.addPromptTokens(t);
        }
        return b;
    }

    private Context parent() {
        return Context.root().with(root);
    }

    private static SpanData decodeSpan() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<SpanData> spans;
        while ((spans = EXPORTER.getFinishedSpanItems()).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(1, spans.size(), spans.toString());
        assertEquals(TraceAttributes.DECODE_GENERATE, spans.get(0).getName());
        return spans.get(0);
    }

    @Test
    void splitGenerationRecordsTokensStepsAndQueueWait() throws Exception {
        TestModel.Export export = TestModel.export(TestModel.ONCE_UPON_A_TIME, 2);
        String transferId = export.importInto(engine, 69);
        engine.generate(greedy(16).setTransferId(transferId).setFirstToken(export.firstToken()).build(), parent())
                .collect().asList().await().atMost(Duration.ofSeconds(60));

        SpanData s = decodeSpan();
        assertEquals(root.getSpanContext().getSpanId(), s.getParentSpanId());
        assertEquals(root.getSpanContext().getTraceId(), s.getTraceId());
        var a = s.getAttributes();
        assertEquals("split", a.get(TraceAttributes.MODE));
        assertEquals("r1", a.get(TraceAttributes.REQUEST_ID));
        assertEquals(16L, a.get(TraceAttributes.COMPLETION_TOKENS));
        assertEquals(15L, a.get(TraceAttributes.DECODE_STEPS)); // the first token came with the KV
        assertEquals("length", a.get(TraceAttributes.OUTCOME));
        assertTrue(a.get(TraceAttributes.QUEUE_MS) >= 0);
        assertEquals(TraceAttributes.DECODE_ADMITTED, s.getEvents().get(0).getName());
        assertTrue(s.getEvents().get(0).getEpochNanos() >= s.getStartEpochNanos());
    }

    @Test
    void colocatedStepsIncludeThePrompt() throws Exception {
        engine.generate(greedy(8).build(), parent()).collect().asList().await().atMost(Duration.ofSeconds(60));
        var a = decodeSpan().getAttributes();
        assertEquals("colocated", a.get(TraceAttributes.MODE));
        assertEquals(8L, a.get(TraceAttributes.DECODE_STEPS)); // one prompt chunk (with the first token), then 7
        assertEquals("off", a.get(TraceAttributes.SPECULATION_MODE));
        assertEquals(null, a.get(TraceAttributes.SPECULATION_DRAFTED));
    }

    @Test
    void speculationFiguresAreRecorded() throws Exception {
        engine.generate(greedy(32).setSpeculation(io.splitstream.proto.v1.SpeculationParameters.newBuilder().setMode("hybrid"))
                .build(), parent()).collect().asList().await().atMost(Duration.ofSeconds(60));
        var a = decodeSpan().getAttributes();
        assertEquals("hybrid", a.get(TraceAttributes.SPECULATION_MODE));
        assertTrue(a.get(TraceAttributes.SPECULATION_DRAFTED) > 0);
        assertTrue(a.get(TraceAttributes.SPECULATION_ACCEPTED) >= 0);
    }

    @Test
    void rejectedAndCancelledRequestsEndTheSpan() throws Exception {
        assertThrows(StatusRuntimeException.class, () -> engine.generate(greedy(4).setLogprobs(21).build(), parent())
                .collect().asList().await().indefinitely());
        SpanData rejected = decodeSpan();
        assertEquals(StatusCode.ERROR, rejected.getStatus().getStatusCode());
        assertEquals("error", rejected.getAttributes().get(TraceAttributes.OUTCOME));

        EXPORTER.reset();
        engine.generate(greedy(1000).build(), parent()).select().first(3).collect().asList().await().atMost(Duration.ofSeconds(60));
        SpanData cancelled = decodeSpan();
        assertEquals("cancelled", cancelled.getAttributes().get(TraceAttributes.OUTCOME));
        assertEquals(StatusCode.UNSET, cancelled.getStatus().getStatusCode());
    }
}
