package io.splitstream.engine.testing;

import java.nio.file.Path;

/** Paths of the reference models and golden data that sit beside the checkout in {@code ../shared}. */
public final class SharedModels {
    public static final Path SHARED = Path.of("..", "shared");
    public static final Path STORIES_F32 = SHARED.resolve("models/stories260K.gguf");
    public static final Path STORIES_Q8_0 = SHARED.resolve("models/stories260K-Q8_0-mixed.gguf");
    public static final Path STORIES_Q4_0 = SHARED.resolve("models/stories260K-Q4_0-mixed.gguf");
    public static final Path GOLDEN = SHARED.resolve("golden");

    private SharedModels() {
    }
}
