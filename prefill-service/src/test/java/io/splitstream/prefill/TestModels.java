package io.splitstream.prefill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds the shared test model and golden files whether tests run from the module or the repository root. */
final class TestModels {
    private TestModels() {
    }

    static Path shared(String relative) {
        for (String base : List.of("../../shared", "../shared", "shared")) {
            Path p = Path.of(base, relative);
            if (Files.exists(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("cannot find shared/" + relative + " from " + Path.of("").toAbsolutePath());
    }

    static Path stories() {
        return shared("models/stories260K.gguf");
    }

    record Golden(int[] prompt, int[] generated) {
    }

    static List<Golden> greedyF32() throws IOException {
        String json = Files.readString(shared("golden/greedy-f32.json"));
        Matcher m = Pattern.compile("\"prompt_tokens\":\\[([0-9,]*)\\].*?\"generated_tokens\":\\[([0-9,]*)\\]", Pattern.DOTALL)
                .matcher(json);
        List<Golden> out = new ArrayList<>();
        while (m.find()) {
            out.add(new Golden(ints(m.group(1)), ints(m.group(2))));
        }
        return out;
    }

    private static int[] ints(String csv) {
        return java.util.Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
