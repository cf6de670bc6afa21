package io.splitstream.draft;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.splitstream.engine.spec.RapidDrafter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** A real draft server (grpc-java on loopback, no Quarkus) that a test can stop and start again on its port. */
final class LoopbackDraftServer implements AutoCloseable {
    static final Path MODEL = Path.of(System.getProperty("splitstream.model"));
    static final Path GOLDEN = Path.of(System.getProperty("test.golden.dir"));

    final DraftModels models;
    private Server server;
    private int port;

    LoopbackDraftServer() throws Exception {
        this(Optional.empty());
    }

    LoopbackDraftServer(Optional<Path> snapshotDir) throws Exception {
        models = DraftModels.load(new DraftSettings(List.of(MODEL), 1, snapshotDir, Duration.ofMinutes(5),
                Optional.empty(), RapidDrafter.Options.defaults()));
        start();
    }

    /** Starts serving (again, on the same port after {@link #stop}). */
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(new DraftEndpoint(() -> models, DraftListener.NONE)).build().start();
        port = server.getPort();
    }

    /** Stops the server and cuts its open streams, as a crashed instance would. */
    void stop() throws InterruptedException {
        server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    ManagedChannel channel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    DraftModel model() {
        return models.find("");
    }

    @Override
    public void close() throws InterruptedException {
        stop();
        models.close();
    }
}
