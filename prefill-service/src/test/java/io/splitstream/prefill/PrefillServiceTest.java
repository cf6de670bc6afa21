package io.splitstream.prefill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.PrefillGrpc;
import io.splitstream.proto.internal.v1.PrefillRequest;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.SamplingParameters;
import java.net.ServerSocket;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Quarkus service end to end over its gRPC port (served on the HTTP port). */
@QuarkusTest
@TestProfile(PrefillServiceTest.Profile.class)
class PrefillServiceTest {
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("splitstream.model", TestModels.stories().toString(), "splitstream.threads", "1",
                    "splitstream.kv-tokens", "1024", "quarkus.http.test-port", "0");
        }
    }

    @TestHTTPResource("/")
    URL url;

    ManagedChannel channel;
    PrefillGrpc.PrefillBlockingStub stub;

    @BeforeEach
    void connect() throws InterruptedException {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", url.getPort()).usePlaintext().build();
        stub = PrefillGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!stub.status(StatusRequest.getDefaultInstance()).getReady()) { // the model loads in the background
            assertTrue(System.nanoTime() < end, "model did not load");
            Thread.sleep(50);
        }
    }

    @AfterEach
    void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void statusDescribesTheInstance() {
        InstanceStatus s = stub.status(StatusRequest.getDefaultInstance());
        assertTrue(s.getReady());
        assertEquals(0, s.getQueuedPromptTokens());
        assertEquals(64, s.getKvBlocksTotal()); // 1024 tokens in blocks of 16
        assertEquals(s.getKvBlocksTotal(), s.getKvBlocksFree());
        assertEquals(16, s.getKvBlockTokens());
        assertEquals("stories260K.gguf", s.getModel());
        assertTrue(s.getContextLength() > 0);
    }

    @Test
    void prefillToAnUnreachableDecodeTargetFailsUnavailable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String target = "127.0.0.1:" + port;
        PrefillRequest r = PrefillRequest.newBuilder().setRequestId("q1").addAllPromptTokens(List.of(1, 403, 407, 261, 378))
                .setSampling(SamplingParameters.newBuilder().setTemperature(0f)).setDecodeTarget(target).setTransferId("t1")
                .setEncoding(KvEncoding.KV_ENCODING_Q8).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.prefill(r));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("KV push to " + target + " failed: "), e.getStatus().getDescription());
        // the call fails as soon as the push does; the engine drops the job at its next step
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        InstanceStatus s;
        while ((s = stub.status(StatusRequest.getDefaultInstance())).getQueuedPromptTokens() != 0
                || s.getKvBlocksFree() != s.getKvBlocksTotal() || s.getRunningSequences() != 0) {
            assertTrue(System.nanoTime() < end, "job not dropped: " + s);
            Thread.sleep(20);
        }
    }

    @Test
    void invalidPrefillIsRefused() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.prefill(PrefillRequest.newBuilder()
                .addPromptTokens(1).setTransferId("t").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("decode_target"), e.getStatus().getDescription());
    }
}
