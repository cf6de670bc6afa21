package io.splitstream.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.engine.testing.SharedModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code splitstream generate --speculation MODE --json}: same tokens as without, plus the speculation figures. */
class GenerateCommandTest {

    @SuppressWarnings("unchecked")
    static Map<String, Object> generate(String... extra) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("generate", "--model", SharedModels.STORIES_F32.toString(),
                "--prompt", "Once upon a time", "--max-tokens", "96", "--temperature", "0", "--ignore-eos", "--threads", "2",
                "--json"));
        argv.addAll(List.of(extra));
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            code = Main.run(argv.toArray(String[]::new));
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, code, buffer.toString(StandardCharsets.UTF_8));
        return (Map<String, Object>) io.splitstream.engine.testing.Json.parse(buffer.toString(StandardCharsets.UTF_8));
    }

    @Test
    @SuppressWarnings("unchecked")
    void speculationFlagKeepsTheTokensAndReportsItsFigures() throws Exception {
        Map<String, Object> plain = generate();
        Map<String, Object> spec = generate("--speculation", "hybrid", "--max-tree-nodes", "24");
        assertEquals(plain.get("tokens"), spec.get("tokens"));
        assertEquals(plain.get("text"), spec.get("text"));
        Map<String, Object> off = (Map<String, Object>) plain.get("speculation");
        assertEquals("off", off.get("mode"));
        assertEquals(0, ((Number) off.get("drafted")).intValue());
        Map<String, Object> s = (Map<String, Object>) spec.get("speculation");
        assertEquals(java.util.Set.of("mode", "steps", "drafted", "accepted", "mean_accepted_per_step"), s.keySet());
        assertEquals("hybrid", s.get("mode"));
        assertTrue(((Number) s.get("accepted")).intValue() > 0, s.toString());
        assertTrue(((Number) s.get("mean_accepted_per_step")).doubleValue() > 1, s.toString());
    }

    @Test
    void badModeIsAUsageError() {
        assertEquals(2, Main.run(new String[] {"generate", "--model", SharedModels.STORIES_F32.toString(), "--prompt", "x",
                "--speculation", "fast"}));
    }
}
