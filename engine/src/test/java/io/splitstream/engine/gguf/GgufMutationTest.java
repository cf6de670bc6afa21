package io.splitstream.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.testing.SharedModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of randomly corrupted and truncated copies of a real model: each must either load (a mutation in
 * weight bytes is harmless to the parser) or fail with one clear exception — never an OOM, a hang or a crash.
 */
class GgufMutationTest {

    @Test
    void corruptedCopiesFailCleanly(@TempDir Path dir) throws Exception {
        byte[] original = Files.readAllBytes(SharedModels.STORIES_F32);
        long headerEnd;
        try (GgufFile g = GgufFile.open(SharedModels.STORIES_F32)) {
            headerEnd = g.dataStart();
        }
        SplittableRandom random = new SplittableRandom(20261202);
        Path copy = dir.resolve("mutant.gguf");
        int refused = 0;
        int loaded = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] bytes;
            if (i % 5 == 0) {
                bytes = java.util.Arrays.copyOf(original, random.nextInt(original.length));
            } else {
                bytes = original.clone();
                int flips = 1 + random.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    // Mostly hit the header, where parsing decisions are made.
                    int at = random.nextInt(4) == 0 ? random.nextInt(bytes.length) : random.nextInt((int) headerEnd);
                    bytes[at] = (byte) (random.nextInt(8) == 0 ? 0xff : random.nextInt(256));
                }
            }
            Files.write(copy, bytes);
            try (Model m = Model.load(copy)) {
                loaded++;
                assertTrue(m.config().layers() > 0);
            } catch (GgufFormatException | IllegalArgumentException e) {
                refused++;
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            } catch (Throwable t) {
                fail("mutant " + i + " failed with " + t, t);
            }
        }
        assertEquals(3000, refused + loaded);
        assertTrue(refused > 1000, "only " + refused + " refused");
        System.out.printf("GGUF mutants: %d refused with a clear error, %d loaded%n", refused, loaded);
    }

    @Test
    void namesTheProblemAndOffset(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, new byte[] {'G', 'G', 'U', 'X', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        GgufFormatException e = org.junit.jupiter.api.Assertions.assertThrows(GgufFormatException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
        byte[] original = Files.readAllBytes(SharedModels.STORIES_F32);
        Files.write(bad, java.util.Arrays.copyOf(original, original.length - 100));
        e = org.junit.jupiter.api.Assertions.assertThrows(GgufFormatException.class, () -> GgufFile.open(bad));
        assertTrue(e.getMessage().contains("outside the file"), e.getMessage());
    }
}
