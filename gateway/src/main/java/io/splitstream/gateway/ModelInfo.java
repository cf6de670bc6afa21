package io.splitstream.gateway;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.tokenizer.Tokenizer;
import io.splitstream.engine.tokenizer.Vocabulary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * What the gateway needs from the model file: the tokenizer, the context length, the chat template. The file is
 * opened, its metadata read and closed again; weights are never touched.
 *
 * @param name          the model's id for the OpenAI API (general.name, else the file name)
 * @param chatTemplate  tokenizer.chat_template, if the model has one
 */
public record ModelInfo(String name, Tokenizer tokenizer, int contextLength, Optional<String> chatTemplate) {

    public static ModelInfo load(Path path) {
        try (GgufFile gguf = GgufFile.open(path)) {
            return fromMetadata(gguf.metadata(), path.getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + path, e);
        }
    }

    public static ModelInfo fromMetadata(Map<String, Object> metadata, String fileName) {
        Object arch = metadata.get("general.architecture");
        if (!(arch instanceof String architecture)) {
            throw new IllegalArgumentException("metadata key 'general.architecture' missing from " + fileName);
        }
        Object ctx = metadata.get(architecture + ".context_length");
        if (!(ctx instanceof Long contextLength)) {
            throw new IllegalArgumentException("metadata key '" + architecture + ".context_length' missing from " + fileName);
        }
        Tokenizer tokenizer = Tokenizer.create(Vocabulary.fromMetadata(metadata));
        String name = fileName.endsWith(".gguf") ? fileName.substring(0, fileName.length() - 5) : fileName;
        Optional<String> template = Optional.ofNullable(metadata.get("tokenizer.chat_template"))
                .filter(String.class::isInstance).map(String.class::cast);
        return new ModelInfo(name, tokenizer, Math.toIntExact(contextLength), template);
    }

    public ModelInfo withChatTemplate(String template) {
        return new ModelInfo(name, tokenizer, contextLength, Optional.ofNullable(template));
    }

    /** The text of a special token (BOS/EOS) for templates, "" when the vocabulary has none. */
    public String tokenText(int id) {
        return id < 0 ? "" : tokenizer.vocabulary().tokens().get(id);
    }
}
