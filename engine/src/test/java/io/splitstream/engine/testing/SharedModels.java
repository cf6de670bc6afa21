package io.splitstream.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Paths of the reference models and golden data that sit beside the checkout in {@code ../shared}. */
public final class SharedModels {
    public static final Path SHARED = Path.of("..", "shared");
    public static final Path STORIES_F32 = SHARED.resolve("models/stories260K.gguf");
    public static final Path STORIES_Q8_0 = SHARED.resolve("models/stories260K-Q8_0-mixed.gguf");
    public static final Path STORIES_Q4_0 = SHARED.resolve("models/stories260K-Q4_0-mixed.gguf");
    public static final Path GOLDEN = SHARED.resolve("golden");

    private SharedModels() {
    }

    /** The golden prompts, one per non-blank line of prompts.txt. */
    public static List<String> goldenPrompts() throws IOException {
        return Files.readAllLines(GOLDEN.resolve("prompts.txt")).stream().filter(s -> !s.isBlank()).toList();
    }
}
