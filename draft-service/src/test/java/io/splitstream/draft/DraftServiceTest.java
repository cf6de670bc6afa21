package io.splitstream.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.SpeculativeDecoder;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.service.draft.RemoteDrafter;
import io.splitstream.service.draft.RemoteDrafts;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/** The Quarkus draft instance: model from config, Draft served on its port, health, metrics, table snapshots. */
@QuarkusTest
class DraftServiceTest {
    @Inject
    DraftHolder holder;

    static int port() {
        return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    static String get(String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + port() + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    @Test
    void servesDraftsOnItsPortReportsTheTableAndSavesIt() throws Exception {
        DraftModels models = holder.await(Duration.ofSeconds(60));
        DraftModel served = models.find("stories260K.gguf");
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", port()).usePlaintext().build();
        try (Model model = Model.load(LoopbackDraftServer.MODEL);
             ComputePool pool = new ComputePool(1);
             RemoteDrafts drafts = new RemoteDrafts(channel, new RemoteDrafts.Options("stories260K.gguf", 512,
                     Duration.ofMillis(50), Duration.ofMillis(100)))) {
            SpeculativeDecoder decoder = new SpeculativeDecoder(new Transformer(model, pool));
            int[] prompt = model.tokenizer().encode("Once upon a time", true, false);
            int[] plain = decoder.generatePlain(prompt, 128, new Sampler(SamplingParams.greedy(), 512)).tokens();
            for (int round = 0; round < 2; round++) { // the second round drafts from what the first taught the table
                try (RemoteDrafter drafter = drafts.newDrafter(DraftMode.DRAFT_MODE_RECYCLING, 0, List.of())) {
                    SpeculativeDecoder.Result r = decoder.generate(prompt, 128, new Sampler(SamplingParams.greedy(), 512),
                            drafter);
                    assertArrayEquals(plain, r.tokens());
                    if (round == 1) {
                        assertTrue(r.stats().meanAcceptedTokensPerStep() > 1.5, r.stats().toString());
                    }
                }
            }
        } finally {
            channel.shutdownNow();
        }

        assertTrue(get("/q/health/ready").contains("\"stories260K.gguf.recycler_bytes\": 16384"), get("/q/health/ready"));
        String metrics = get("/q/metrics");
        assertTrue(metrics.contains("splitstream_draft_recycler_bytes{model=\"stories260K.gguf\"} 16384.0"), metrics);
        assertTrue(metrics.contains("splitstream_draft_sequences_total{mode=\"recycling\"} 2.0"), metrics);

        holder.saveSnapshots();
        Path snapshot = Path.of(System.getProperty("splitstream.draft.snapshot-dir"), "stories260K.gguf.recycler");
        assertEquals(16 + served.recycler().sizeBytes(), Files.size(snapshot), "header + 512 x 8 int32 ids");
    }
}
