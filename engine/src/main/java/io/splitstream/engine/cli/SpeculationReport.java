package io.splitstream.engine.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/** The {@code "speculation"} object of the commands' {@code --json} output, one shape for every command. */
public final class SpeculationReport {
    private SpeculationReport() {
    }

    public static Map<String, Object> json(String mode, long steps, long drafted, long accepted, double meanAcceptedPerStep) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", mode);
        m.put("steps", steps);
        m.put("drafted", drafted);
        m.put("accepted", accepted);
        m.put("mean_accepted_per_step", meanAcceptedPerStep);
        return m;
    }

    /** The human-readable line's part, e.g. {@code "hybrid 2.31 tokens/step, 412 of 6120 drafts accepted"}. */
    public static String line(String mode, long drafted, long accepted, double meanAcceptedPerStep) {
        return String.format(java.util.Locale.ROOT, "%s %.2f tokens/step, %d of %d drafts accepted", mode,
                meanAcceptedPerStep, accepted, drafted);
    }
}
