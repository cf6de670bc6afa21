package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.cli.Mesh;
import io.splitstream.proto.v1.GenerationGrpc;
import io.splitstream.proto.v1.Mode;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A decode instance without room for a request: the client gets a clear RESOURCE_EXHAUSTED, nothing hangs. */
class CapacityTest {

    @Test
    void requestLargerThanEveryDecodeInstanceIsResourceExhausted() throws Exception {
        var logs = MeshFixture.HOME.resolve("integration-tests/target/mesh-logs/capacity-" + System.nanoTime());
        try (Mesh mesh = Mesh.start(new Mesh.Options(MeshFixture.HOME, MeshFixture.STORIES, null, Mesh.Mode.SPLIT, 1, 1, 1,
                64, logs, 0, 0, false, Map.of()))) {
            ManagedChannel ch = ManagedChannelBuilder.forTarget(mesh.gateway().address()).usePlaintext().build();
            try {
                var stub = GenerationGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                // 5 prompt tokens + 200 output tokens need 13 blocks of 16; each instance has 4.
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> stub.generate(SplitMeshTest.greedy("Once upon a time", 200, Mode.MODE_SPLIT)).forEachRemaining(c -> { }));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), String.valueOf(e.getStatus()));
                assertTrue(e.getStatus().getDescription() != null && !e.getStatus().getDescription().isBlank());
                // a request that fits still runs
                var ok = GenerationGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS)
                        .generate(SplitMeshTest.greedy("Once upon a time", 20, Mode.MODE_SPLIT));
                int tokens = 0;
                while (ok.hasNext()) {
                    tokens += ok.next().getTokenIdsCount();
                }
                assertEquals(20, tokens);
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
