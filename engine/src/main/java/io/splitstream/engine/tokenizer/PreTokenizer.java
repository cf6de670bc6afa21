package io.splitstream.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before BPE, by the regexes llama.cpp uses for each GGUF {@code tokenizer.ggml.pre}.
 * Each regex refines the pieces of the one before; text between matches stays a piece of its own.
 */
final class PreTokenizer {

    /** Llama 3's split, with the case-insensitive contractions spelled out as llama.cpp does. */
    private static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen 2: as Llama 3 but every digit on its own. */
    private static final String QWEN2 = LLAMA3.replace("\\p{N}{1,3}", "\\p{N}");
    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final Set<String> LLAMA3_NAMES = Set.of("llama3", "llama-v3", "llama-bpe", "falcon3");

    private final List<Pattern> stages;

    private PreTokenizer(String... regexes) {
        // \s must mean Unicode White_Space, as in llama.cpp, not just ASCII whitespace.
        stages = Arrays.stream(regexes)
                .map(regex -> Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS))
                .toList();
    }

    /**
     * Whether this is the Llama 3 pre-tokenizer, for which llama.cpp also adds BOS by default and takes a word
     * that is itself a token as is, without merging.
     */
    static boolean isLlama3(String pre) {
        return LLAMA3_NAMES.contains(pre);
    }

    /** @throws IllegalArgumentException for a pre-tokenizer this runtime does not know */
    static PreTokenizer forName(String pre) {
        if (isLlama3(pre)) {
            return new PreTokenizer(LLAMA3);
        }
        return switch (pre) {
            case "qwen2", "deepseek-r1-qwen" -> new PreTokenizer(QWEN2);
            case "gpt2", "gpt-2", "phi-2", "roberta-bpe" -> new PreTokenizer(GPT2);
            // These split digits one by one before GPT-2's regex.
            case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva" ->
                    new PreTokenizer("\\p{N}", GPT2);
            // llama.cpp's fallback for BPE files that name no pre-tokenizer.
            case "default" -> new PreTokenizer("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            default -> throw new IllegalArgumentException("unknown BPE pre-tokenizer '" + pre
                    + "' in tokenizer.ggml.pre");
        };
    }

    List<String> split(String text) {
        List<String> pieces = List.of(text);
        for (Pattern stage : stages) {
            List<String> refined = new ArrayList<>();
            for (String piece : pieces) {
                splitOne(stage, piece, refined);
            }
            pieces = refined;
        }
        return pieces;
    }

    private static void splitOne(Pattern pattern, String text, List<String> out) {
        Matcher matcher = pattern.matcher(text);
        int end = 0;
        while (matcher.find()) {
            if (matcher.start() > end) {
                out.add(text.substring(end, matcher.start()));
            }
            out.add(matcher.group());
            end = matcher.end();
        }
        if (end < text.length()) {
            out.add(text.substring(end));
        }
    }
}
