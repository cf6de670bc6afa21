package io.splitstream.engine.model;

import io.splitstream.engine.gguf.GgufValueType;
import io.splitstream.engine.gguf.GgufWriter;
import io.splitstream.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a random-weight model of a preset's shapes as a complete GGUF file: llama.cpp metadata keys, a valid
 * byte-level BPE vocabulary of the preset's size (256 byte tokens, generated merges, BOS/EOS), so any GGUF reader
 * (llama.cpp included) loads it. Weights are N(0, 0.02²), norms 1.
 */
public final class SyntheticModel {
    private SyntheticModel() {
    }

    /**
     * @param matrixType type of the 2-D weights; "mixed" K-quant files pass Q4_K here and get Q6_K for output,
     *                   attn_v and ffn_down as llama.cpp's Q4_K_M does
     */
    public static void write(ModelPreset preset, GgmlType matrixType, boolean kMix, long seed, Path out) throws IOException {
        ModelConfig c = preset.config();
        String a = c.architecture().ggufName();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", a);
        w.putString("general.name", "splitstream-synthetic-" + preset.id());
        w.putU32("general.file_type", fileType(matrixType, kMix));
        w.putU32("general.quantization_version", 2);
        w.putU32(a + ".context_length", c.contextLength());
        w.putU32(a + ".embedding_length", c.dim());
        w.putU32(a + ".block_count", c.layers());
        w.putU32(a + ".feed_forward_length", c.ffnDim());
        w.putU32(a + ".attention.head_count", c.heads());
        w.putU32(a + ".attention.head_count_kv", c.kvHeads());
        w.putU32(a + ".rope.dimension_count", c.ropeDims());
        w.putF32(a + ".rope.freq_base", c.ropeBase());
        w.putF32(a + ".attention.layer_norm_rms_epsilon", c.rmsEps());
        w.putU32(a + ".vocab_size", c.vocabularySize());
        writeVocabulary(w, c.vocabularySize(), c.architecture());
        TensorFiller fill = new TensorFiller(seed);
        w.addTensor("token_embd.weight", new long[] {c.dim(), c.vocabularySize()}, pick(matrixType, kMix, false, c.dim()),
                fill.gaussian(c.vocabularySize(), c.dim(), pick(matrixType, kMix, false, c.dim())));
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            ones(w, p + "attn_norm.weight", c.dim(), fill);
            matrix(w, fill, p + "attn_q.weight", c.queryDim(), c.dim(), pick(matrixType, kMix, false, c.dim()));
            matrix(w, fill, p + "attn_k.weight", c.kvDim(), c.dim(), pick(matrixType, kMix, false, c.dim()));
            matrix(w, fill, p + "attn_v.weight", c.kvDim(), c.dim(), pick(matrixType, kMix, true, c.dim()));
            matrix(w, fill, p + "attn_output.weight", c.dim(), c.queryDim(), pick(matrixType, kMix, false, c.queryDim()));
            if (c.architecture().qkvBias()) {
                bias(w, fill, p + "attn_q.bias", c.queryDim());
                bias(w, fill, p + "attn_k.bias", c.kvDim());
                bias(w, fill, p + "attn_v.bias", c.kvDim());
            }
            ones(w, p + "ffn_norm.weight", c.dim(), fill);
            matrix(w, fill, p + "ffn_gate.weight", c.ffnDim(), c.dim(), pick(matrixType, kMix, false, c.dim()));
            matrix(w, fill, p + "ffn_up.weight", c.ffnDim(), c.dim(), pick(matrixType, kMix, false, c.dim()));
            matrix(w, fill, p + "ffn_down.weight", c.dim(), c.ffnDim(), pick(matrixType, kMix, true, c.ffnDim()));
        }
        ones(w, "output_norm.weight", c.dim(), fill);
        if (!preset.tiedEmbeddings()) {
            matrix(w, fill, "output.weight", c.vocabularySize(), c.dim(), pick(matrixType, kMix, true, c.dim()));
        }
        w.write(out);
    }

    private static GgmlType pick(GgmlType type, boolean kMix, boolean sensitive, int cols) {
        GgmlType t = kMix && sensitive ? GgmlType.Q6_K : type;
        return cols % t.blockSize() == 0 ? t : GgmlType.F32;
    }

    public static long fileType(GgmlType type, boolean kMix) {
        if (kMix) {
            return 15; // MOSTLY_Q4_K_M
        }
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q4_K -> 14; // MOSTLY_Q4_K_S
            case Q6_K -> 18;
            case BF16 -> 32;
        };
    }

    private static void matrix(GgufWriter w, TensorFiller fill, String name, int rows, int cols, GgmlType type) {
        w.addTensor(name, new long[] {cols, rows}, type, fill.gaussian(rows, cols, type));
    }

    private static void ones(GgufWriter w, String name, int n, TensorFiller fill) {
        w.addTensor(name, new long[] {n}, GgmlType.F32, fill.constant(n, 1f));
    }

    private static void bias(GgufWriter w, TensorFiller fill, String name, int n) {
        w.addTensor(name, new long[] {n}, GgmlType.F32, fill.gaussian(1, n, GgmlType.F32));
    }

    /** A valid byte-level BPE vocabulary: byte tokens, then merges of existing tokens, then BOS and EOS. */
    private static void writeVocabulary(GgufWriter w, int size, Architecture arch) {
        int specials = 2;
        List<String> tokens = new ArrayList<>(TokenizerTables.byteTokens());
        LinkedHashSet<String> seen = new LinkedHashSet<>(tokens);
        List<String> merges = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(7);
        // Frequent-looking merges first: pairs of printable ASCII bytes, then random pairs of existing tokens.
        while (tokens.size() < size - specials) {
            String left = tokens.get(random.nextInt(Math.min(tokens.size(), 256 + merges.size() / 2 + 1)));
            String right = tokens.get(random.nextInt(Math.min(tokens.size(), 256)));
            String merged = left + right;
            if (merged.length() <= 16 && seen.add(merged)) {
                tokens.add(merged);
                merges.add(left + " " + right);
            }
        }
        int bos = tokens.size();
        tokens.add(arch == Architecture.QWEN2 ? "<|im_start|>" : "<|begin_of_text|>");
        tokens.add(arch == Architecture.QWEN2 ? "<|endoftext|>" : "<|end_of_text|>");
        List<Object> types = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            types.add((long) (i >= bos ? 3 : 1));
        }
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", arch == Architecture.QWEN2 ? "qwen2" : "llama-bpe");
        w.put("tokenizer.ggml.tokens", GgufWriter.Type.arrayOf(GgufValueType.STRING), new ArrayList<Object>(tokens));
        w.put("tokenizer.ggml.token_type", GgufWriter.Type.arrayOf(GgufValueType.INT32), types);
        w.put("tokenizer.ggml.merges", GgufWriter.Type.arrayOf(GgufValueType.STRING), new ArrayList<Object>(merges));
        w.putU32("tokenizer.ggml.bos_token_id", bos);
        w.putU32("tokenizer.ggml.eos_token_id", bos + 1);
        w.putBool("tokenizer.ggml.add_bos_token", arch != Architecture.QWEN2);
    }
}
