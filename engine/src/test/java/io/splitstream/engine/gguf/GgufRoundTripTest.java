package io.splitstream.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitstream.engine.testing.SharedModels;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a real file, writing it back with the writer, and reading again keeps every value, type and byte. */
class GgufRoundTripTest {

    @Test
    void rewriteKeepsMetadataTypesAndTensors(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("copy.gguf");
        try (GgufFile src = GgufFile.open(SharedModels.STORIES_F32)) {
            GgufWriter w = new GgufWriter().putAll(src);
            for (GgufTensorInfo t : src.tensors().values()) {
                w.addTensor(t.name(), t.dims(), t.type(), dst -> dst.copyFrom(src.tensorData(t)));
            }
            w.write(copy);
            try (GgufFile back = GgufFile.open(copy)) {
                assertEquals(3, back.version());
                for (var e : src.metadata().entrySet()) {
                    assertEquals(e.getValue(), back.metadata().get(e.getKey()), e.getKey());
                    assertEquals(src.metadataType(e.getKey()), back.metadataType(e.getKey()), e.getKey());
                }
                assertEquals(src.tensors().keySet(), back.tensors().keySet());
                for (GgufTensorInfo t : src.tensors().values()) {
                    GgufTensorInfo b = back.tensor(t.name());
                    assertArrayEquals(t.dims(), b.dims());
                    assertArrayEquals(src.tensorData(t).toArray(ValueLayout.JAVA_BYTE), back.tensorData(b).toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }
}
