package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitstream.proto.internal.v1.DecodeGrpc;
import io.splitstream.proto.internal.v1.DecodeRequest;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gRPC transport: channels, Mutiny stubs, deadline and cancellation reaching a (grpc-java) decode server. */
class GrpcMeshClientTest {
    private Server server;
    private final AtomicReference<Deadline> seenDeadline = new AtomicReference<>();
    private final CountDownLatch cancelled = new CountDownLatch(1);
    private volatile boolean endless;

    @BeforeEach
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new DecodeGrpc.DecodeImplBase() {
            @Override
            public void status(StatusRequest request, StreamObserver<InstanceStatus> out) {
                out.onNext(InstanceStatus.newBuilder().setReady(true).setKvBlocksFree(10).setKvBlockTokens(16).build());
                out.onCompleted();
            }

            @Override
            public void generate(DecodeRequest request, StreamObserver<GenerateChunk> out) {
                seenDeadline.set(Context.current().getDeadline());
                ServerCallStreamObserver<GenerateChunk> o = (ServerCallStreamObserver<GenerateChunk>) out;
                o.setOnCancelHandler(cancelled::countDown);
                o.onNext(GenerateChunk.newBuilder().addTokenIds(7).setText(" x").build());
                if (!endless) {
                    o.onNext(GenerateChunk.newBuilder().setFinal(Final.newBuilder()
                            .setFinishReason(FinishReason.FINISH_REASON_LENGTH)).build());
                    o.onCompleted();
                }
            }
        }).build().start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private GenerationService service(GrpcMeshClient client, String decode) {
        GatewayConfig config = TestModel.config(GatewayConfig.Mode.COLOCATED, List.of(), List.of(decode));
        InstancePool pool = new InstancePool(config, client);
        return new GenerationService(new RequestValidator(TestModel.model(), config), pool, client, config);
    }

    private static final GenerateRequest REQUEST = GenerateRequest.newBuilder().setPrompt("Once").setMaxTokens(3).build();

    @Test
    void relaysWithTheCallersDeadline() {
        try (GrpcMeshClient client = new GrpcMeshClient()) {
            GenerationService s = service(client, "127.0.0.1:" + server.getPort());
            Deadline deadline = Deadline.after(30, TimeUnit.SECONDS);
            List<GenerateChunk> chunks = s.generate(REQUEST, deadline).collect().asList().await().atMost(Duration.ofSeconds(10));
            assertEquals(2, chunks.size());
            assertEquals("127.0.0.1:" + server.getPort(), chunks.get(1).getFinal().getDecodeInstance());
            assertNotNull(seenDeadline.get());
            assertTrue(seenDeadline.get().timeRemaining(TimeUnit.SECONDS) > 20);
        }
    }

    @Test
    void cancellingTheRelayCancelsTheDecodeCall() throws InterruptedException {
        endless = true;
        try (GrpcMeshClient client = new GrpcMeshClient()) {
            GenerationService s = service(client, "127.0.0.1:" + server.getPort());
            CountDownLatch first = new CountDownLatch(1);
            var subscription = s.generate(REQUEST, null).subscribe().with(c -> first.countDown(), t -> { });
            assertTrue(first.await(10, TimeUnit.SECONDS));
            subscription.cancel();
            assertTrue(cancelled.await(10, TimeUnit.SECONDS), "the decode server saw no cancellation");
        }
    }

    @Test
    void deadInstanceIsUnavailableAndNamed() throws InterruptedException {
        int port = server.getPort();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        try (GrpcMeshClient client = new GrpcMeshClient()) {
            GenerationService s = service(client, "127.0.0.1:" + port);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> s.generate(REQUEST, null).collect().asList().await().atMost(Duration.ofSeconds(10)));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("127.0.0.1:" + port), e.getStatus().getDescription());
        }
    }
}
