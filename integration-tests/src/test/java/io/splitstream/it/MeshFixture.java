package io.splitstream.it;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.splitstream.cli.Mesh;
import io.splitstream.proto.internal.v1.DecodeGrpc;
import io.splitstream.proto.internal.v1.InstanceStatus;
import io.splitstream.proto.internal.v1.StatusRequest;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.GenerationGrpc;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starts meshes on the reference model and talks to them over real gRPC. */
final class MeshFixture implements AutoCloseable {
    /** Tests run in the repository root (surefire workingDirectory in the parent pom). */
    static final Path HOME = Path.of("").toAbsolutePath();
    static final Path SHARED = HOME.resolveSibling("shared");
    static final Path STORIES = SHARED.resolve("models/stories260K.gguf");
    static final Path GOLDEN = SHARED.resolve("golden");

    final Mesh mesh;
    final ManagedChannel channel;

    MeshFixture(Mesh.Mode mode, int prefill, int decode, Map<String, String> props, Path decodeModel) throws Exception {
        this(STORIES, mode, prefill, decode, props, decodeModel);
    }

    MeshFixture(Path model, Mesh.Mode mode, int prefill, int decode, Map<String, String> props, Path decodeModel) throws Exception {
        this(model, mode, prefill, decode, props, decodeModel, false);
    }

    /** @param draftService also start a draft service and make the decode instances draft through it */
    MeshFixture(Path model, Mesh.Mode mode, int prefill, int decode, Map<String, String> props, Path decodeModel,
                boolean draftService) throws Exception {
        Path logs = HOME.resolve("integration-tests/target/mesh-logs/" + mode.name().toLowerCase() + "-" + System.nanoTime());
        mesh = Mesh.start(new Mesh.Options(HOME, model, decodeModel, mode, prefill, decode, 1, 4096, logs, 0, 0, false, props,
                draftService));
        channel = ManagedChannelBuilder.forTarget(mesh.gateway().address()).usePlaintext().build();
    }

    MeshFixture(Mesh.Mode mode) throws Exception {
        this(mode, 1, 1, Map.of(), null);
    }

    /** One full stream's result. */
    record Result(List<Integer> tokens, String text, GenerateChunk last) {
        int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    Result generate(GenerateRequest request) {
        return generate(request, n -> { });
    }

    /** @param onTokens told the number of tokens of each chunk as it arrives */
    Result generate(GenerateRequest request, java.util.function.IntConsumer onTokens) {
        Iterator<GenerateChunk> it = GenerationGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).generate(request);
        List<Integer> tokens = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        GenerateChunk last = null;
        while (it.hasNext()) {
            GenerateChunk c = it.next();
            tokens.addAll(c.getTokenIdsList());
            onTokens.accept(c.getTokenIdsCount());
            text.append(c.getText());
            last = c;
        }
        return new Result(tokens, text.toString(), last);
    }

    InstanceStatus decodeStatus(int i) {
        ManagedChannel ch = ManagedChannelBuilder.forTarget(mesh.instances("decode").get(i).address()).usePlaintext().build();
        try {
            return DecodeGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
        } finally {
            ch.shutdownNow();
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        mesh.close();
    }
}
