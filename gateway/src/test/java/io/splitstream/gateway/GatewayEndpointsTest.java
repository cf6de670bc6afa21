package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.GenerationGrpc;
import io.splitstream.proto.v1.SamplingParameters;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP and gRPC paths up to the point where an instance would be called: validation errors, and UNAVAILABLE
 * when the configured instances (closed ports 127.0.0.1:1 and :2) cannot be reached.
 */
@QuarkusTest
class GatewayEndpointsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TestHTTPResource("/")
    URL base;

    private final HttpClient http = HttpClient.newHttpClient();
    private ManagedChannel channel;
    private GenerationGrpc.GenerationBlockingStub grpc;

    @BeforeEach
    void connect() {
        channel = NettyChannelBuilder.forAddress(base.getHost(), base.getPort()).usePlaintext().build();
        grpc = GenerationGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base.toString().replaceAll("/$", "") + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode error(HttpResponse<String> r) throws Exception {
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode j = MAPPER.readTree(r.body());
        assertTrue(j.at("/error/message").isTextual(), r.body());
        assertTrue(j.at("/error/type").isTextual(), r.body());
        assertTrue(j.get("error").has("param") && j.get("error").has("code"), r.body());
        return j.get("error");
    }

    @Test
    void models() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        JsonNode j = MAPPER.readTree(r.body());
        assertEquals("list", j.get("object").asText());
        assertEquals("stories260K", j.at("/data/0/id").asText());
    }

    @Test
    void httpBadRequests() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"Once\",\"n\":2}");
        assertEquals(400, r.statusCode());
        assertEquals("n", error(r).get("param").asText());

        r = post("/v1/completions", "{not json");
        assertEquals(400, r.statusCode());
        assertTrue(error(r).get("message").asText().contains("not valid JSON"));

        r = post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":100000}");
        assertEquals(400, r.statusCode());
        assertTrue(error(r).get("message").asText().contains("exceeds the limit of 2048"), r.body());

        r = post("/v1/completions", "{\"prompt\":\"Once\",\"temperature\":-1}");
        assertEquals(400, r.statusCode());
        assertEquals("invalid_argument", error(r).get("code").asText());

        r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(400, r.statusCode());
        assertTrue(error(r).get("message").asText().contains("no chat template"), r.body());
    }

    @Test
    void httpUnavailableNamesTheInstance() throws Exception {
        for (boolean stream : new boolean[] {false, true}) {
            HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"stream\":" + stream + "}");
            assertEquals(503, r.statusCode(), r.body());
            JsonNode e = error(r);
            assertTrue(e.get("message").asText().contains("127.0.0.1:1"), r.body());
            assertEquals("service_unavailable_error", e.get("type").asText());
        }
    }

    @Test
    void grpcInvalidArgument() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> grpc.generate(GenerateRequest.newBuilder().build()).hasNext());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> grpc.generate(GenerateRequest.newBuilder().setPrompt("x")
                .setSampling(SamplingParameters.newBuilder().setTopP(2f)).build()).hasNext());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().toLowerCase().contains("top"), e.getStatus().getDescription());
    }

    @Test
    void grpcUnavailable() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> grpc.generate(GenerateRequest.newBuilder().setPrompt("Once upon a time").setMaxTokens(4).build()).hasNext());
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("no healthy decode instance: 127.0.0.1:1"),
                e.getStatus().getDescription());
    }
}
