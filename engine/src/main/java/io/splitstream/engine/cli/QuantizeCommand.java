package io.splitstream.engine.cli;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.gguf.GgufTensorInfo;
import io.splitstream.engine.gguf.GgufValueType;
import io.splitstream.engine.gguf.GgufWriter;
import io.splitstream.engine.model.TensorFiller;
import io.splitstream.engine.tensor.GgmlType;
import io.splitstream.engine.tensor.WeightMatrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Re-encodes a model's 2-D weights in another type. Tensors whose rows are not a multiple of the block size, and
 * all 1-D tensors, keep their type (llama-quantize refuses such files; we quantize what can be quantized).
 * Q4_K_M follows llama.cpp's mix: Q6_K for output, attn_v and ffn_down, Q4_K elsewhere. Types are applied to
 * every eligible tensor ("pure"), output included.
 */
final class QuantizeCommand implements Main.Command {
    @Override
    public String usage() {
        return "--model IN --out OUT --type F32|F16|BF16|Q8_0|Q4_0|Q4_K_M";
    }

    static GgmlType parseType(String s) {
        try {
            GgmlType t = GgmlType.valueOf(s.toUpperCase(Locale.ROOT));
            if (t == GgmlType.Q6_K || t == GgmlType.Q4_K) {
                throw new Args.UsageException("use Q4_K_M for K-quants");
            }
            return t;
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException("unknown type '" + s + "' (F32, F16, BF16, Q8_0, Q4_0, Q4_K_M)");
        }
    }

    @Override
    public int run(List<String> argList) throws Exception {
        Args args = new Args(argList, Set.of());
        Path in = Path.of(args.required("model"));
        Path out = Path.of(args.required("out"));
        String typeName = args.required("type").toUpperCase(Locale.ROOT);
        args.checkAllUsed();
        boolean kMix = typeName.equals("Q4_K_M");
        GgmlType target = kMix ? GgmlType.Q4_K : parseType(typeName);
        long start = System.nanoTime();
        try (GgufFile src = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter().putAll(src);
            w.put("general.file_type", GgufWriter.Type.of(GgufValueType.UINT32), io.splitstream.engine.model.SyntheticModel.fileType(target, kMix));
            w.put("general.quantization_version", GgufWriter.Type.of(GgufValueType.UINT32), 2L);
            for (GgufTensorInfo t : src.tensors().values()) {
                GgmlType type = targetFor(t, target, kMix);
                if (type == t.type()) {
                    w.addTensor(t.name(), t.dims(), type, dst -> dst.copyFrom(src.tensorData(t)));
                } else {
                    WeightMatrix source = WeightMatrix.of(t.type(), src.tensorData(t), t.rows(), t.columns());
                    w.addTensor(t.name(), t.dims(), type, dst -> TensorFiller.writeRows(dst, t.rows(), t.columns(), type,
                            (row, buf) -> source.dequantizeRow(row, buf, 0)));
                }
            }
            w.write(out);
        }
        System.err.printf("wrote %s (%s, %.1f MB) in %.1f s%n", out, typeName, Files.size(out) / 1e6,
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static GgmlType targetFor(GgufTensorInfo t, GgmlType target, boolean kMix) {
        if (t.dims().length != 2) {
            return t.type();
        }
        GgmlType want = kMix && (t.name().equals("output.weight") || t.name().endsWith("attn_v.weight")
                || t.name().endsWith("ffn_down.weight")) ? GgmlType.Q6_K : target;
        return t.columns() % want.blockSize() == 0 ? want : t.type();
    }
}
