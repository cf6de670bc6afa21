package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.cli.Mesh;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every instance of a split mesh serves Prometheus metrics at /q/metrics, named {@code splitstream_*}. */
class MetricsMeshTest {
    static final int SPLIT_REQUESTS = 3;
    static final int COLOCATED_REQUESTS = 1;
    static final int REQUESTS = SPLIT_REQUESTS + COLOCATED_REQUESTS;
    static final int TOKENS = 16;

    static MeshFixture fixture;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

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

    static String scrape(Mesh.Instance i) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + i.httpAddress() + "/q/metrics"))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), i.name() + " /q/metrics");
        return r.body();
    }

    /** Sum of the samples named exactly {@code name} whose labels contain every one of {@code labels}; NaN if none. */
    static double value(String body, String name, String... labels) {
        double sum = 0;
        boolean found = false;
        for (String sample : body.split("\n")) {
            if (sample.startsWith("#") || sample.isBlank()) {
                continue;
            }
            // OpenMetrics exemplar (" # {trace_id=...} value timestamp"): the gateway records meters inside its spans
            int exemplar = sample.indexOf(" # ");
            String line = exemplar < 0 ? sample : sample.substring(0, exemplar);
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String metric = brace >= 0 && brace < space ? line.substring(0, brace) : line.substring(0, space);
            if (!metric.equals(name)) {
                continue;
            }
            boolean match = true;
            for (String l : labels) {
                match &= line.contains(l);
            }
            if (match) {
                sum += Double.parseDouble(line.substring(space + 1));
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    static void assertAtLeast(double min, double actual, String what) {
        assertTrue(actual >= min, what + ": expected >= " + min + " but was " + actual);
    }

    @Test
    void everyInstanceExposesItsMeters() throws Exception {
        int completion = 0;
        int prompt = 0;
        for (int i = 0; i < REQUESTS; i++) {
            Mode mode = i < SPLIT_REQUESTS ? Mode.MODE_SPLIT : Mode.MODE_COLOCATED;
            MeshFixture.Result r = fixture.generate(SplitMeshTest.greedy("Once upon a time " + i, TOKENS, mode));
            var f = r.last().getFinal();
            assertEquals(FinishReason.FINISH_REASON_LENGTH, f.getFinishReason());
            completion += f.getUsage().getCompletionTokens();
            prompt += f.getUsage().getPromptTokens();
        }

        List<Mesh.Instance> decodes = fixture.mesh.instances("decode");
        List<Mesh.Instance> prefills = fixture.mesh.instances("prefill");
        assertFalse(decodes.isEmpty());
        assertFalse(prefills.isEmpty());

        // decode: blocks are freed at the batcher's next step, so poll for the used gauge to reach 0
        String d = scrape(decodes.get(0));
        long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (value(d, "splitstream_kv_blocks_used") != 0 && System.nanoTime() < until) {
            Thread.sleep(100);
            d = scrape(decodes.get(0));
        }
        assertEquals(0.0, value(d, "splitstream_kv_blocks_used"), "decode KV blocks used after the run");
        assertTrue(value(d, "splitstream_kv_blocks_free") > 0, "decode KV blocks free");
        assertEquals(0.0, value(d, "splitstream_decode_running_sequences"));
        assertEquals(0.0, value(d, "splitstream_decode_waiting_sequences"));
        assertAtLeast(REQUESTS, value(d, "splitstream_decode_ttft_seconds_count"), "decode ttft count");
        assertTrue(value(d, "splitstream_decode_ttft_seconds_bucket", "le=\"+Inf\"") >= REQUESTS, "ttft is a histogram");
        assertAtLeast(REQUESTS, value(d, "splitstream_request_duration_seconds_count"), "decode request duration count");
        assertAtLeast(REQUESTS, value(d, "splitstream_queue_seconds_count"), "decode queue count");
        assertAtLeast(REQUESTS * (TOKENS - 2), value(d, "splitstream_time_between_tokens_seconds_count"), "token gaps");
        // in split mode prefill samples the first token, which decode relays as its first generated token
        assertAtLeast(completion, value(d, "splitstream_tokens_generated_total"), "tokens generated");
        assertAtLeast(prompt, value(d, "splitstream_prompt_tokens_total"), "prompt tokens");
        assertAtLeast(REQUESTS, value(d, "splitstream_requests_total", "outcome=\"length\""), "decode requests (length)");
        assertEquals(0.0, value(d, "splitstream_requests_total", "outcome=\"error\""), "decode requests (error)");
        assertTrue(value(d, "splitstream_kv_import_bytes_total") > 0, "decode imported KV bytes");

        // prefill
        String p = scrape(prefills.get(0));
        assertAtLeast(SPLIT_REQUESTS, value(p, "splitstream_prefill_seconds_count"), "prefill count");
        assertAtLeast(SPLIT_REQUESTS, value(p, "splitstream_kv_transfer_seconds_count"), "kv transfer count");
        assertTrue(value(p, "splitstream_kv_transfer_bytes_total") > 0, "prefill pushed KV bytes");
        assertEquals(value(d, "splitstream_kv_import_bytes_total"), value(p, "splitstream_kv_transfer_bytes_total"),
                "bytes pushed == bytes imported");
        assertEquals(0.0, value(p, "splitstream_prefill_queued_prompt_tokens"));
        assertTrue(value(p, "splitstream_kv_blocks_free") > 0, "prefill KV blocks free");
        assertEquals(0.0, value(p, "splitstream_kv_blocks_used"), "prefill KV blocks used");

        // gateway
        String g = scrape(fixture.mesh.gateway());
        assertAtLeast(REQUESTS, value(g, "splitstream_gateway_ttft_seconds_count"), "gateway ttft count");
        assertAtLeast(REQUESTS, value(g, "splitstream_gateway_request_duration_seconds_count"), "gateway duration count");
        assertTrue(value(g, "splitstream_gateway_request_duration_seconds_sum") > 0, "gateway duration sum");
        assertAtLeast(SPLIT_REQUESTS, value(g, "splitstream_gateway_requests_total", "mode=\"split\"", "outcome=\"length\""),
                "gateway split requests");
        assertAtLeast(COLOCATED_REQUESTS,
                value(g, "splitstream_gateway_requests_total", "mode=\"colocated\"", "outcome=\"length\""),
                "gateway colocated requests");
        System.out.printf("metrics: decode tokens %.0f (completion %d), kv bytes %.0f, gateway ttft count %.0f%n",
                value(d, "splitstream_tokens_generated_total"), completion, value(d, "splitstream_kv_import_bytes_total"),
                value(g, "splitstream_gateway_ttft_seconds_count"));
    }
}
