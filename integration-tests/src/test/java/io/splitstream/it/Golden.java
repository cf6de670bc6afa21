package io.splitstream.it;

import io.splitstream.engine.testing.Json;
import java.util.List;
import java.util.Map;

/** The golden greedy continuations of stories260K. */
record Golden(String prompt, int[] promptTokens, int[] generated, String text) {

    @SuppressWarnings("unchecked")
    static List<Golden> load(String file) throws Exception {
        Map<String, Object> g = (Map<String, Object>) Json.read(MeshFixture.GOLDEN.resolve(file));
        return ((List<Map<String, Object>>) g.get("prompts")).stream().map(p -> new Golden((String) p.get("prompt"),
                ints(p.get("prompt_tokens")), ints(p.get("generated_tokens")), (String) p.get("generated_text"))).toList();
    }

    private static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }
}
