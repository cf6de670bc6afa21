package io.splitstream.engine.model;

import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.gguf.GgufTensorInfo;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.kv.ModelFingerprint;
import io.splitstream.engine.tokenizer.Tokenizer;
import io.splitstream.engine.tokenizer.Vocabulary;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Optional;

/** A loaded model: mapped weights, config, tokenizer and the fingerprint that tags its KV state. */
public final class Model implements AutoCloseable {
    /** KV positions per block: small enough that short sequences waste little, large enough for cheap tables. */
    public static final int KV_BLOCK_TOKENS = 16;

    private final GgufFile gguf;
    private final ModelConfig config;
    private final Weights weights;
    private final Tokenizer tokenizer;
    private final ModelFingerprint fingerprint;

    private Model(GgufFile gguf) {
        this.gguf = gguf;
        this.config = ModelConfig.from(gguf);
        this.weights = Weights.load(gguf, config);
        this.tokenizer = Tokenizer.create(Vocabulary.fromMetadata(gguf.metadata()));
        if (tokenizer.vocabularySize() != config.vocabularySize()) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabularySize() + " tokens but the model "
                    + config.vocabularySize());
        }
        this.fingerprint = new ModelFingerprint(config.architecture().ggufName(), config.layers(), config.kvHeads(),
                config.headDim(), weightsDigest(gguf));
    }

    public static Model load(Path path) throws IOException {
        GgufFile gguf = GgufFile.open(path);
        try {
            return new Model(gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    private static String weightsDigest(GgufFile gguf) {
        MemorySegment map = gguf.mapping();
        byte[] header = map.asSlice(0, gguf.dataStart()).toArray(ValueLayout.JAVA_BYTE);
        var sample = new java.io.ByteArrayOutputStream();
        for (GgufTensorInfo t : gguf.tensors().values()) {
            MemorySegment data = gguf.tensorData(t);
            long n = Math.min(4096, data.byteSize());
            sample.writeBytes(data.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            sample.writeBytes(data.asSlice(data.byteSize() - n, n).toArray(ValueLayout.JAVA_BYTE));
        }
        return ModelFingerprint.digest(header, sample.toByteArray());
    }

    public ModelConfig config() {
        return config;
    }

    public Weights weights() {
        return weights;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    public GgufFile gguf() {
        return gguf;
    }

    public Path path() {
        return gguf.path();
    }

    public Optional<String> chatTemplate() {
        return Optional.ofNullable(gguf.string("tokenizer.chat_template", null));
    }

    /** Bytes of weights read per generated token (every matrix once; embeddings are looked up, not streamed). */
    public long weightBytesPerToken() {
        long total = 0;
        for (GgufTensorInfo t : gguf.tensors().values()) {
            if (!t.name().equals("token_embd.weight") || !gguf.tensors().containsKey("output.weight")) {
                total += t.byteSize();
            }
        }
        return total;
    }

    public KvCache newKvCache(KvPrecision precision, int capacityTokens) {
        return new KvCache(fingerprint, config.layers(), config.kvHeads(), config.headDim(), precision, capacityTokens,
                KV_BLOCK_TOKENS);
    }

    @Override
    public void close() {
        gguf.close();
    }
}
