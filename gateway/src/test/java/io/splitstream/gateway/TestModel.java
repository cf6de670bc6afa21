package io.splitstream.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The stories260K model from ../shared (tests run in the repository root, as surefire is configured). */
final class TestModel {
    static final Path PATH = List.of(Path.of("../shared/models/stories260K.gguf"), Path.of("../../shared/models/stories260K.gguf"))
            .stream().filter(Files::isRegularFile).findFirst()
            .orElseThrow(() -> new IllegalStateException("stories260K.gguf not found from " + Path.of("").toAbsolutePath()));

    private static ModelInfo model;

    static synchronized ModelInfo model() {
        if (model == null) {
            model = ModelInfo.load(PATH);
        }
        return model;
    }

    static GatewayConfig config(GatewayConfig.Mode mode, List<String> prefill, List<String> decode) {
        return new GatewayConfig(prefill, decode, mode, 0, 2048, 128, Duration.ofMillis(200),
                GatewayConfig.kvEncoding("f32"));
    }

    private TestModel() {
    }
}
