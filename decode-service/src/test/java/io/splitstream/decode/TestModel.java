package io.splitstream.decode;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvTrailer;
import io.splitstream.service.KvWire;
import io.splitstream.service.Protocol;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Test fixtures: the model file, golden tokens, and a prompt's KV exported by a separate engine run. */
final class TestModel {
    static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};

    private TestModel() {
    }

    static Path modelPath() {
        String p = System.getProperty("splitstream.model");
        return Path.of(p != null ? p : "../../shared/models/stories260K.gguf");
    }

    /** generated_tokens of the first prompt ("Once upon a time") in greedy-f32.json. */
    static int[] goldenGreedy() throws IOException {
        String p = System.getProperty("test.golden.file", "../../shared/golden/greedy-f32.json");
        String json = Files.readString(Path.of(p));
        Matcher prompt = Pattern.compile("\"prompt_tokens\"\\s*:\\s*\\[([0-9,\\s]*)]").matcher(json);
        if (!prompt.find() || !prompt.group(1).replaceAll("\\s", "").equals("1,403,407,261,378")) {
            throw new IllegalStateException("first golden prompt is not 'Once upon a time'");
        }
        Matcher m = Pattern.compile("\"generated_tokens\"\\s*:\\s*\\[([0-9,\\s]*)]").matcher(json);
        if (!m.find(prompt.end())) {
            throw new IllegalStateException("no generated_tokens in " + p);
        }
        String[] parts = m.group(1).replaceAll("\\s", "").split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Integer.parseInt(parts[i]);
        }
        return out;
    }

    /** A prompt's KV push (header, one chunk per layer and block of positions, trailer) and its greedy first token. */
    record Export(List<KvMessage> messages, int firstToken, int promptTokens) {
        List<KvMessage> withTransferId(String id) {
            List<KvMessage> out = new ArrayList<>(messages);
            out.set(0, KvMessage.newBuilder().setHeader(messages.get(0).getHeader().toBuilder().setTransferId(id)).build());
            return out;
        }

        /** Reserves room for {@code reserveTokens} on {@code engine}, imports this push there and returns its transfer id. */
        String importInto(DecodeEngine engine, int reserveTokens) throws Exception {
            String id = engine.reserve(reserveTokens).transferId();
            KvImportSession session = engine.newImport();
            for (KvMessage m : withTransferId(id)) {
                session.accept(m);
            }
            session.complete();
            return id;
        }
    }

    static Export export(int[] prompt, int chunkTokens) throws IOException {
        try (Model model = Model.load(modelPath()); ComputePool pool = new ComputePool(1)) {
            Transformer transformer = new Transformer(model, pool);
            KvCache cache = model.newKvCache(KvPrecision.F32, 256);
            int seq = cache.newSequence();
            cache.reserve(seq, prompt.length);
            float[] logits = transformer.forward(Batch.chunk(seq, 0, prompt, true), cache, LayerListener.NONE)[prompt.length - 1];
            int first = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[first]) {
                    first = i;
                }
            }
            int headDim = model.config().headDim();
            List<KvMessage> messages = new ArrayList<>();
            messages.add(KvMessage.newBuilder().setHeader(KvHeader.newBuilder()
                    .setFingerprint(Protocol.fingerprint(model.fingerprint()))
                    .setPromptTokens(prompt.length).setLayers(model.config().layers()).setKvHeads(model.config().kvHeads())
                    .setHeadDim(headDim).setEncoding(KvEncoding.KV_ENCODING_F32)).build());
            long bytes = 0;
            int chunks = 0;
            for (int l = 0; l < model.config().layers(); l++) {
                for (int from = 0; from < prompt.length; from += chunkTokens) {
                    int n = Math.min(chunkTokens, prompt.length - from);
                    var c = KvWire.encode(cache.export(seq, l, from, n), KvEncoding.KV_ENCODING_F32, headDim);
                    messages.add(KvMessage.newBuilder().setChunk(c).build());
                    bytes += c.getKeys().size() + c.getValues().size();
                    chunks++;
                }
            }
            messages.add(KvMessage.newBuilder().setTrailer(KvTrailer.newBuilder().setChunks(chunks).setBytes(bytes)).build());
            return new Export(messages, first, prompt.length);
        }
    }
}
