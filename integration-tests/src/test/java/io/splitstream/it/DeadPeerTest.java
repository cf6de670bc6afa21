package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.cli.Mesh;
import io.splitstream.proto.v1.Mode;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A dead instance gives a precise error fast, never a hang; a dead prefill pool falls back to colocated decoding. */
class DeadPeerTest {

    @Test
    void deadPrefillFallsBackToColocatedAndDeadDecodeIsUnavailable() throws Exception {
        try (MeshFixture f = new MeshFixture(Mesh.Mode.SPLIT, 1, 1, Map.of(), null)) {
            Golden g = Golden.load("greedy-f32.json").getFirst();
            assertArrayEquals(g.generated(), f.generate(SplitMeshTest.greedy(g.prompt(), 64, Mode.MODE_SPLIT)).ids());

            Mesh.Instance prefill = f.mesh.instances("prefill").getFirst();
            prefill.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            Thread.sleep(1500); // the gateway's status poll notices
            MeshFixture.Result r = f.generate(SplitMeshTest.greedy(g.prompt(), 64, Mode.MODE_DEFAULT));
            assertArrayEquals(g.generated(), r.ids(), "served colocated by the decode instance");

            Mesh.Instance decode = f.mesh.instances("decode").getFirst();
            decode.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            long start = System.nanoTime();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> f.generate(SplitMeshTest.greedy(g.prompt(), 64, Mode.MODE_DEFAULT)));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), String.valueOf(e.getStatus()));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "fails fast");
        }
    }
}
