package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.splitstream.cli.Mesh;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One request through a real split mesh whose instances export traces over OTLP to a receiver in this test: one trace,
 * spans from all three services, every parent present, the KV transfer span carrying the bytes the response reports;
 * the same through the OpenAI HTTP API.
 */
class TracingMeshTest {
    static final String GATEWAY = "splitstream-gateway";
    static final String PREFILL = "splitstream-prefill";
    static final String DECODE = "splitstream-decode";
    /** Small prefill chunks so the prompt takes several steps. */
    static final int CHUNK_TOKENS = 4;
    static final int TOKENS = 12;

    static OtlpReceiver receiver;
    static MeshFixture fixture;

    @BeforeAll
    static void start() throws Exception {
        receiver = new OtlpReceiver();
        fixture = new MeshFixture(Mesh.Mode.SPLIT, 1, 1, Map.of(
                "quarkus.otel.sdk.disabled", "false",
                // the built-in parent-based ratio sampler (build-time fixed) at 1: every request is sampled
                // at the gateway (no caller context), status polls are not (their parent is unsampled)
                "quarkus.otel.traces.sampler.arg", "1.0",
                "quarkus.otel.exporter.otlp.traces.endpoint", receiver.endpoint(),
                "quarkus.otel.bsp.schedule.delay", "100ms",
                "splitstream.prefill-chunk-tokens", String.valueOf(CHUNK_TOKENS)), null);
    }

    @AfterAll
    static void stop() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    @Test
    void oneRequestIsOneTraceAcrossGatewayPrefillAndDecode() throws Exception {
        String requestId = "tracing-" + System.nanoTime();
        MeshFixture.Result r = fixture.generate(SplitMeshTest.greedy("Once upon a time, there was a little girl named Lily",
                TOKENS, Mode.MODE_SPLIT).toBuilder().setRequestId(requestId).build());
        Final fin = r.last().getFinal();
        long kvBytes = fin.getTimings().getKvBytes();
        assertTrue(kvBytes > 0, "the response reports KV bytes: " + fin.getTimings());

        List<OtlpReceiver.Received> trace = awaitTrace(receiver, requestId, Duration.ofSeconds(30));
        Map<String, OtlpReceiver.Received> byId = byId(trace);
        String dump = dump(trace);
        assertOneRootedTraceOverTheMesh(trace);
        assertEquals("splitstream.v1.Generation/Generate", roots(trace).get(0).name());

        OtlpReceiver.Received gateway = one(trace, "splitstream.gateway.generate");
        OtlpReceiver.Received queue = one(trace, "splitstream.prefill.queue");
        OtlpReceiver.Received transfer = one(trace, "splitstream.kv.transfer");
        OtlpReceiver.Received decode = one(trace, "splitstream.decode.generate");
        List<OtlpReceiver.Received> chunks = trace.stream().filter(s -> s.name().equals("splitstream.prefill.chunk")).toList();
        assertEquals(GATEWAY, gateway.service());
        assertEquals("split", gateway.stringAttribute("splitstream.mode"));
        for (OtlpReceiver.Received s : List.of(queue, transfer, chunks.get(0))) {
            assertEquals(PREFILL, s.service(), s.toString());
            assertTrue(descends(s, gateway, byId), s + " under the gateway span" + dump);
        }
        assertEquals(DECODE, decode.service());
        assertTrue(descends(decode, gateway, byId), "decode under the gateway span" + dump);

        // the KV transfer: its byte count is what the response reports; the push reaches decode as its child
        assertEquals(kvBytes, transfer.longAttribute("splitstream.kv.bytes"), "kv.transfer bytes" + dump);
        assertTrue(transfer.longAttribute("splitstream.kv.chunks") > 0);
        assertTrue(transfer.attribute("splitstream.kv.hidden_fraction").isPresent());
        OtlpReceiver.Received pushServer = trace.stream()
                .filter(s -> s.service().equals(DECODE) && s.span().getKind() == SpanKind.SPAN_KIND_SERVER
                        && s.name().contains("KvTransfer")).findFirst().orElseThrow(() -> new AssertionError("push server span" + dump));
        assertTrue(descends(pushServer, transfer, byId), "decode's KvTransfer span under kv.transfer" + dump);
        assertEquals(kvBytes, pushServer.longAttribute("splitstream.kv.bytes"), "bytes decode imported");

        // prefill chunks cover the prompt; decode reports its tokens and steps
        long promptTokens = fin.getUsage().getPromptTokens();
        assertTrue(chunks.size() >= promptTokens / CHUNK_TOKENS, chunks.size() + " chunks for " + promptTokens + " tokens");
        assertEquals(promptTokens, chunks.stream().mapToLong(c -> c.longAttribute("splitstream.prefill.tokens")).sum());
        assertEquals(promptTokens, queue.longAttribute("splitstream.prompt_tokens"));
        assertEquals(fin.getUsage().getCompletionTokens(), decode.longAttribute("splitstream.completion_tokens"));
        assertEquals(TOKENS - 1, decode.longAttribute("splitstream.decode.steps"), "decode steps (the first token came from prefill)");
        assertFalse(decode.span().getEventsList().isEmpty(), "decode's admitted event");
        System.out.printf("trace: %d spans, %d prefill chunks, kv %d bytes in %d chunks (hidden %.2f)%s%n", trace.size(),
                chunks.size(), kvBytes, transfer.longAttribute("splitstream.kv.chunks"),
                transfer.attribute("splitstream.kv.hidden_fraction").orElseThrow().getDoubleValue(), dump);
    }

    @Test
    void anOpenAiHttpRequestIsOneTraceToo() throws Exception {
        String requestId = "tracing-http-" + System.nanoTime();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://" + fixture.mesh.gateway().httpAddress() + "/v1/completions"))
                .header("Content-Type", "application/json").header("X-Request-Id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"Once upon a time\", \"max_tokens\": 4}"))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        List<OtlpReceiver.Received> trace = awaitTrace(receiver, requestId, Duration.ofSeconds(30));
        assertOneRootedTraceOverTheMesh(trace);
        OtlpReceiver.Received root = roots(trace).get(0);
        assertTrue(root.name().contains("/v1/completions"), "the HTTP server span is the root: " + dump(trace));
        assertTrue(descends(one(trace, "splitstream.kv.transfer"), one(trace, "splitstream.gateway.generate"), byId(trace)),
                dump(trace));
    }

    /** Spans from all three services; one root, the gateway's server span; every other span's parent in the trace. */
    private static void assertOneRootedTraceOverTheMesh(List<OtlpReceiver.Received> trace) {
        String dump = dump(trace);
        assertEquals(Set.of(GATEWAY, PREFILL, DECODE),
                trace.stream().map(OtlpReceiver.Received::service).collect(Collectors.toSet()), dump);
        List<OtlpReceiver.Received> roots = roots(trace);
        assertEquals(1, roots.size(), "roots" + dump);
        assertEquals(GATEWAY, roots.get(0).service());
        assertEquals(SpanKind.SPAN_KIND_SERVER, roots.get(0).span().getKind());
        Map<String, OtlpReceiver.Received> byId = byId(trace);
        for (OtlpReceiver.Received s : trace) {
            assertTrue(s.parentId().isEmpty() || byId.containsKey(s.parentId()), "parent of " + s + " missing:" + dump);
        }
    }

    private static List<OtlpReceiver.Received> roots(List<OtlpReceiver.Received> trace) {
        return trace.stream().filter(s -> s.parentId().isEmpty()).toList();
    }

    private static Map<String, OtlpReceiver.Received> byId(List<OtlpReceiver.Received> trace) {
        return trace.stream().collect(Collectors.toMap(OtlpReceiver.Received::spanId, Function.identity()));
    }

    private static String dump(List<OtlpReceiver.Received> trace) {
        return trace.stream().map(Object::toString).collect(Collectors.joining("\n  ", "\n  ", ""));
    }

    /**
     * The trace of the request: exactly one trace id among the spans tagged with its id, then every span of that trace
     * once the root and the spans of every phase have arrived (bounded wait).
     */
    private static List<OtlpReceiver.Received> awaitTrace(OtlpReceiver receiver, String requestId, Duration timeout)
            throws InterruptedException {
        Set<String> needed = Set.of("splitstream.gateway.generate", "splitstream.prefill.queue", "splitstream.prefill.chunk",
                "splitstream.kv.transfer", "splitstream.decode.generate");
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<OtlpReceiver.Received> all = receiver.spans();
            Set<String> traceIds = all.stream().filter(s -> s.stringAttribute("splitstream.request_id").equals(requestId))
                    .map(OtlpReceiver.Received::traceId).collect(Collectors.toSet());
            assertTrue(traceIds.size() <= 1, "one trace for the request, got " + traceIds);
            if (traceIds.size() == 1) {
                String id = traceIds.iterator().next();
                List<OtlpReceiver.Received> trace = all.stream().filter(s -> s.traceId().equals(id)).toList();
                Set<String> names = trace.stream().map(OtlpReceiver.Received::name).collect(Collectors.toSet());
                boolean rooted = trace.stream().anyMatch(s -> s.parentId().isEmpty());
                if (rooted && names.containsAll(needed)) {
                    Thread.sleep(500); // late server spans of the same batch round
                    String traceId = id;
                    return receiver.spans().stream().filter(s -> s.traceId().equals(traceId)).toList();
                }
            }
            if (System.nanoTime() > until) {
                throw new AssertionError("no complete trace for " + requestId + " within " + timeout + "; received:\n  "
                        + all.stream().map(Object::toString).collect(Collectors.joining("\n  ")));
            }
            Thread.sleep(100);
        }
    }

    private static OtlpReceiver.Received one(List<OtlpReceiver.Received> trace, String name) {
        List<OtlpReceiver.Received> found = trace.stream().filter(s -> s.name().equals(name)).toList();
        assertEquals(1, found.size(), name + ": " + found);
        return found.get(0);
    }

    /** Whether {@code ancestor} is on {@code span}'s parent chain. */
    private static boolean descends(OtlpReceiver.Received span, OtlpReceiver.Received ancestor,
                                    Map<String, OtlpReceiver.Received> byId) {
        for (OtlpReceiver.Received s = byId.get(span.parentId()); s != null; s = byId.get(s.parentId())) {
            if (s.spanId().equals(ancestor.spanId())) {
                return true;
            }
        }
        return false;
    }
}
