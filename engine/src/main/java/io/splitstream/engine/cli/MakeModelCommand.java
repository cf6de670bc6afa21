package io.splitstream.engine.cli;

import io.splitstream.engine.model.ModelPreset;
import io.splitstream.engine.model.SyntheticModel;
import io.splitstream.engine.tensor.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** Writes a random-weight model of a real architecture's shapes, for benchmarks. */
final class MakeModelCommand implements Main.Command {
    @Override
    public String usage() {
        return "--preset tiny|qwen2-tiny|smollm2-360m|qwen2-0.5b|llama-1b --type F32|F16|Q8_0|Q4_0|Q4_K_M --out FILE [--seed N]";
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of());
        ModelPreset preset = ModelPreset.byId(args.required("preset"));
        String type = args.string("type", "F16").toUpperCase(java.util.Locale.ROOT);
        Path out = Path.of(args.required("out"));
        long seed = args.longValue("seed", 42);
        args.checkAllUsed();
        boolean kMix = type.equals("Q4_K_M");
        GgmlType matrixType = kMix ? GgmlType.Q4_K : QuantizeCommand.parseType(type);
        long start = System.nanoTime();
        SyntheticModel.write(preset, matrixType, kMix, seed, out);
        System.err.printf("wrote %s (%s, %s, %.1f MB) in %.1f s%n", out, preset.id(), type, Files.size(out) / 1e6,
                (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
