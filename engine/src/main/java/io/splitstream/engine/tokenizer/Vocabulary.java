package io.splitstream.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer's vocabulary as stored in GGUF metadata ({@code tokenizer.ggml.*}).
 *
 * @param model         "llama" (SentencePiece) or "gpt2" (byte-level BPE)
 * @param pre           the pre-tokenizer name, selects the BPE split regex
 * @param tokens        the token texts, index = id
 * @param scores        SentencePiece merge scores (0 where absent)
 * @param tokenTypes    GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
 * @param merges        BPE merges "left right", index = rank (empty for SentencePiece)
 * @param bosId         beginning-of-sequence id, -1 if none
 * @param eosId         end-of-sequence id, -1 if none
 * @param unknownId     unknown-token id, -1 if none
 * @param paddingId     padding id, -1 if none
 * @param addBos        whether encoding with special tokens prepends BOS
 * @param addEos        whether encoding with special tokens appends EOS
 * @param addSpacePrefix whether SentencePiece encoding prepends a space to text
 */
public record Vocabulary(String model, String pre, List<String> tokens, float[] scores, int[] tokenTypes,
        List<String> merges, int bosId, int eosId, int unknownId, int paddingId,
        boolean addBos, boolean addEos, boolean addSpacePrefix) {

    private static final String PREFIX = "tokenizer.ggml.";

    public Vocabulary {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        if (scores.length != tokens.size() || tokenTypes.length != tokens.size()) {
            throw new IllegalArgumentException("scores (" + scores.length + ") and token types (" + tokenTypes.length
                    + ") must match the token count (" + tokens.size() + ")");
        }
    }

    /**
     * Reads the vocabulary from GGUF metadata (integers as Long, floats as Double, arrays as List). Absent optional
     * keys take llama.cpp's defaults for the model type.
     *
     * @throws IllegalArgumentException naming the key when a required key is missing or has the wrong type
     */
    public static Vocabulary fromMetadata(Map<String, Object> metadata) {
        MetadataReader in = new MetadataReader(metadata);
        String model = in.string("model");
        List<String> tokens = in.strings("tokens");
        int n = tokens.size();
        float[] scores = in.floats("scores", n);
        int[] tokenTypes = in.ints("token_type", n, 1);
        String pre = in.optionalString("pre", "default");
        return switch (model) {
            case "llama" -> new Vocabulary(model, pre, tokens, scores, tokenTypes, List.of(),
                    in.tokenId("bos_token_id", 1, n), in.tokenId("eos_token_id", 2, n),
                    in.tokenId("unknown_token_id", 0, n), in.tokenId("padding_token_id", -1, n),
                    in.bool("add_bos_token", true), in.bool("add_eos_token", false),
                    in.bool("add_space_prefix", true));
            // llama.cpp's BPE defaults really are BOS = EOS = 11; GGUF files normally override them.
            case "gpt2" -> new Vocabulary(model, pre, tokens, scores, tokenTypes, in.strings("merges"),
                    in.tokenId("bos_token_id", 11, n), in.tokenId("eos_token_id", 11, n),
                    in.tokenId("unknown_token_id", -1, n), in.tokenId("padding_token_id", -1, n),
                    in.bool("add_bos_token", PreTokenizer.isLlama3(pre)), in.bool("add_eos_token", false),
                    in.bool("add_space_prefix", false));
            default -> throw new IllegalArgumentException(
                    "unsupported tokenizer model '" + model + "' in " + PREFIX + "model (expected llama or gpt2)");
        };
    }

    /** Typed access to {@code tokenizer.ggml.*} keys with errors that name the key. */
    private record MetadataReader(Map<String, Object> metadata) {

        String string(String name) {
            return typed(name, required(name), String.class);
        }

        String optionalString(String name, String fallback) {
            Object value = metadata.get(PREFIX + name);
            return value == null ? fallback : typed(name, value, String.class);
        }

        boolean bool(String name, boolean fallback) {
            Object value = metadata.get(PREFIX + name);
            return value == null ? fallback : typed(name, value, Boolean.class);
        }

        /**
         * An id outside the vocabulary is ignored, as llama.cpp does, leaving the default; a default outside it
         * (BPE's 11 in a tiny vocabulary) means none.
         */
        int tokenId(String name, int fallback, int vocabularySize) {
            Object value = metadata.get(PREFIX + name);
            long id = value == null ? fallback : typed(name, value, Number.class).longValue();
            if (id >= 0 && id < vocabularySize) {
                return (int) id;
            }
            return fallback < vocabularySize ? fallback : -1;
        }

        List<String> strings(String name) {
            List<?> values = list(name, required(name));
            List<String> result = new ArrayList<>(values.size());
            for (Object value : values) {
                result.add(typed(name, value, String.class));
            }
            return result;
        }

        float[] floats(String name, int count) {
            float[] result = new float[count];
            Object raw = metadata.get(PREFIX + name);
            if (raw != null) {
                List<?> values = sized(name, list(name, raw), count);
                for (int i = 0; i < count; i++) {
                    result[i] = typed(name, values.get(i), Number.class).floatValue();
                }
            }
            return result;
        }

        int[] ints(String name, int count, int fallback) {
            int[] result = new int[count];
            Object raw = metadata.get(PREFIX + name);
            if (raw == null) {
                Arrays.fill(result, fallback);
                return result;
            }
            List<?> values = sized(name, list(name, raw), count);
            for (int i = 0; i < count; i++) {
                result[i] = typed(name, values.get(i), Number.class).intValue();
            }
            return result;
        }

        private Object required(String name) {
            Object value = metadata.get(PREFIX + name);
            if (value == null) {
                throw new IllegalArgumentException("metadata key '" + PREFIX + name + "' is missing");
            }
            return value;
        }

        private static List<?> list(String name, Object value) {
            return typed(name, value, List.class);
        }

        private static List<?> sized(String name, List<?> values, int count) {
            if (values.size() != count) {
                throw new IllegalArgumentException("metadata key '" + PREFIX + name + "' has " + values.size()
                        + " entries, expected one per token (" + count + ")");
            }
            return values;
        }

        private static <T> T typed(String name, Object value, Class<T> type) {
            if (!type.isInstance(value)) {
                throw new IllegalArgumentException("metadata key '" + PREFIX + name + "' holds a "
                        + (value == null ? "null" : value.getClass().getSimpleName()) + ", expected "
                        + type.getSimpleName());
            }
            return type.cast(value);
        }
    }
}
