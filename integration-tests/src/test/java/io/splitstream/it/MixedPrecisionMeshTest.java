package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.cli.Mesh;
import io.splitstream.proto.v1.Mode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Decode instances may load a lower-bit file of the same model than prefill (F32 prefill, Q8_0 decode): the KV
 * state is accepted (same shapes, other weights) and the output departs from the F32 reference only where the
 * quantized weights change the greedy choice. Measured here against the golden F32 continuations.
 */
class MixedPrecisionMeshTest {

    @Test
    void q8DecodeFedByF32PrefillStaysCloseToF32() throws Exception {
        try (MeshFixture f = new MeshFixture(Mesh.Mode.SPLIT, 1, 1, Map.of(),
                MeshFixture.SHARED.resolve("models/stories260K-Q8_0-mixed.gguf"))) {
            List<Golden> golden = Golden.load("greedy-f32.json");
            int agreeing = 0;
            int total = 0;
            int firstTokensEqual = 0;
            for (Golden g : golden) {
                int[] got = f.generate(SplitMeshTest.greedy(g.prompt(), 64, Mode.MODE_SPLIT)).ids();
                // The first token is sampled by the F32 prefill instance: it must equal F32's.
                firstTokensEqual += got[0] == g.generated()[0] ? 1 : 0;
                int prefix = 0;
                while (prefix < 64 && got[prefix] == g.generated()[prefix]) {
                    prefix++;
                }
                agreeing += prefix;
                total += 64;
            }
            System.out.printf("F32 prefill + Q8_0 decode: %d/%d tokens agree with F32 before the first departure%n", agreeing, total);
            assertTrue(firstTokensEqual == golden.size(), "first tokens come from the F32 prefill");
            assertTrue(agreeing >= total / 4, agreeing + "/" + total);
        }
    }
}
