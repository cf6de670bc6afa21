package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.splitstream.cli.Mesh;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.LocalDrafterFactory;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculativeDecoder;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.Mode;
import io.splitstream.proto.v1.SpeculationParameters;
import io.splitstream.proto.v1.SpeculationStats;
import io.splitstream.service.draft.RemoteDrafterFactory;
import io.splitstream.service.draft.RemoteDrafts;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A split mesh whose decode instance drafts through a real draft service process ({@code draft-0}, started as
 * {@code splitstream up --draft-service} starts it): speculative greedy output is plain greedy output in every mode,
 * drafts are accepted, and when the draft service is killed (SIGKILL) mid-stream every stream still completes with
 * plain greedy's output (decode goes on without drafts). The kill runs last: it ends the draft service for this class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RemoteDraftMeshTest {
    /**
     * The tests wait longer than the 2 ms default for a draft: on the shared 2-core test machine a 2 ms budget is
     * often missed, and the acceptance assertions would then measure the machine's load.
     */
    static final String DRAFT_WAIT = "20ms";
    static final String[] MODES = {"hybrid", "recycling", "retrieval", "rag"};
    static MeshFixture fixture;
    static List<String> prompts;

    @BeforeAll
    static void start() throws Exception {
        fixture = new MeshFixture(MeshFixture.STORIES, Mesh.Mode.SPLIT, 1, 1,
                Map.of("splitstream.decode.speculation.draft-wait", DRAFT_WAIT), null, true);
        prompts = Files.readAllLines(MeshFixture.GOLDEN.resolve("prompts.txt")).stream().filter(l -> !l.isBlank()).toList();
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    static GenerateRequest speculative(String prompt, int maxTokens, Mode mode, String speculation) {
        return SplitMeshTest.greedy(prompt, maxTokens, mode).toBuilder()
                .setSpeculation(SpeculationParameters.newBuilder().setMode(speculation)).build();
    }

    static Mesh.Instance draftService() {
        return fixture.mesh.instances("draft").getFirst();
    }

    /** Every golden prompt, each mode in turn, split and colocated: the remote drafts never change greedy output. */
    @Test
    @Order(1)
    void remoteDraftsGivePlainGreedyOutputForEveryGoldenPromptAndAreAccepted() throws Exception {
        List<Golden> golden = Golden.load("greedy-f32.json");
        long[] accepted = new long[MODES.length];
        for (int i = 0; i < prompts.size(); i++) {
            String prompt = prompts.get(i);
            Mode mode = i % 2 == 0 ? Mode.MODE_COLOCATED : Mode.MODE_SPLIT;
            int[] plain = fixture.generate(SplitMeshTest.greedy(prompt, 128, mode)).ids();
            for (int m = 0; m < MODES.length; m++) {
                MeshFixture.Result r = fixture.generate(speculative(prompt, 128, mode, MODES[m]));
                assertArrayEquals(plain, r.ids(), MODES[m] + ", " + mode + ": " + prompt);
                SpeculationStats stats = r.last().getFinal().getSpeculation();
                assertEquals(MODES[m], stats.getMode());
                accepted[m] += stats.getAccepted();
            }
            Golden g = golden.stream().filter(x -> x.prompt().equals(prompt)).findFirst().orElseThrow();
            assertArrayEquals(g.generated(), java.util.Arrays.copyOf(plain, g.generated().length), "plain greedy is golden");
        }
        System.out.println("accepted draft tokens over " + prompts.size() + " prompts x 128 tokens, by mode "
                + List.of(MODES) + ": " + java.util.Arrays.toString(accepted));
        for (int m = 0; m < MODES.length; m++) {
            assertTrue(accepted[m] > 0, MODES[m] + " drafts from the draft service were accepted");
        }
        SplitMeshTest.awaitAllBlocksFree(fixture);
    }

    /**
     * Not asserted: one request at a time, the engine's speculative decoder on stories260K, drafting in process
     * against drafting through the running draft service with decode's own client (default 2 ms wait, and 20 ms).
     */
    @Test
    @Order(2)
    void printsInProcessAgainstRemoteDraftingSpeed() throws Exception {
        int tokens = 128;
        try (ComputePool pool = new ComputePool(1); Model model = Model.load(MeshFixture.STORIES)) {
            SpeculativeDecoder decoder = new SpeculativeDecoder(new Transformer(model, pool));
            int vocabulary = model.config().vocabularySize();
            List<int[]> encoded = prompts.stream().map(p -> model.tokenizer().encode(p, true, false)).toList();
            double plainSeconds = 0;
            for (int[] prompt : encoded) {
                plainSeconds += decoder.generatePlain(prompt, tokens, new Sampler(SamplingParams.greedy(), vocabulary))
                        .stats().decodeSeconds();
            }
            System.out.printf(Locale.ROOT, "stories260K, one request, %d prompts x %d tokens: plain %.0f tokens/s%n",
                    encoded.size(), tokens, encoded.size() * tokens / plainSeconds);
            LocalDrafterFactory local = new LocalDrafterFactory(vocabulary);
            measure("in-process hybrid", decoder, encoded, tokens, vocabulary, mode -> local.create(mode, 80));
            for (Duration wait : List.of(RemoteDrafts.Options.defaults(vocabulary).draftWait(), Duration.ofMillis(20))) {
                ManagedChannel channel = NettyChannelBuilder.forTarget(draftService().address()).usePlaintext().build();
                try (RemoteDrafterFactory remote = new RemoteDrafterFactory(channel,
                        RemoteDrafts.Options.defaults(vocabulary).withDraftWait(wait))) {
                    measure("remote hybrid, wait " + wait.toMillis() + " ms", decoder, encoded, tokens, vocabulary,
                            mode -> remote.create(mode, 80));
                }
            }
        }
    }

    /** Runs every prompt twice (the first pass warms the Token Recycling table) and prints the second pass. */
    private static void measure(String name, SpeculativeDecoder decoder, List<int[]> prompts, int tokens, int vocabulary,
                                java.util.function.Function<SpeculationMode, Drafter> drafters) {
        long generated = 0;
        long steps = 0;
        double seconds = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int[] prompt : prompts) {
                Drafter drafter = drafters.apply(SpeculationMode.HYBRID);
                SpeculativeDecoder.Result r = decoder.generate(prompt, tokens,
                        new Sampler(SamplingParams.greedy(), vocabulary), drafter);
                drafter.end();
                if (pass == 1) {
                    generated += r.stats().generatedTokens();
                    steps += r.stats().steps();
                    seconds += r.stats().decodeSeconds();
                }
            }
        }
        System.out.printf(Locale.ROOT, "%-28s %.2f tokens/step, %.0f tokens/s%n", name, (double) generated / steps,
                generated / seconds);
    }

    /** Six concurrent speculative streams; the draft service is SIGKILLed while they run. */
    @Test
    @Order(3)
    void streamsCompleteWithPlainOutputWhenTheDraftServiceIsKilledMidStream() throws Exception {
        int streams = 6;
        int tokens = 256;
        List<GenerateRequest> plainRequests = new ArrayList<>();
        List<GenerateRequest> speculativeRequests = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            String prompt = prompts.get(i % prompts.size());
            Mode mode = i % 2 == 0 ? Mode.MODE_SPLIT : Mode.MODE_COLOCATED;
            plainRequests.add(SplitMeshTest.greedy(prompt, tokens, mode));
            speculativeRequests.add(speculative(prompt, tokens, mode, i % 3 == 2 ? "recycling" : "hybrid"));
        }
        List<CompletableFuture<MeshFixture.Result>> plainFutures = plainRequests.stream()
                .map(r -> CompletableFuture.supplyAsync(() -> fixture.generate(r))).toList();
        List<int[]> plain = new ArrayList<>();
        for (CompletableFuture<MeshFixture.Result> f : plainFutures) {
            plain.add(f.get(120, TimeUnit.SECONDS).ids());
        }

        List<AtomicInteger> received = new ArrayList<>();
        List<CompletableFuture<MeshFixture.Result>> futures = new ArrayList<>();
        for (GenerateRequest r : speculativeRequests) {
            AtomicInteger count = new AtomicInteger();
            received.add(count);
            futures.add(CompletableFuture.supplyAsync(() -> fixture.generate(r, count::addAndGet)));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (received.stream().anyMatch(c -> c.get() < 16) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Process draft = draftService().process();
        draft.destroyForcibly(); // SIGKILL
        assertTrue(draft.waitFor(10, TimeUnit.SECONDS));
        List<Integer> atKill = received.stream().map(AtomicInteger::get).toList();
        System.out.println("tokens received per stream when the draft service was killed: " + atKill);
        assertTrue(atKill.stream().allMatch(n -> n >= 16), "every stream had started: " + atKill);
        assertTrue(atKill.stream().anyMatch(n -> n < tokens), "streams were still running: " + atKill);

        long accepted = 0;
        for (int i = 0; i < streams; i++) {
            MeshFixture.Result r = futures.get(i).get(120, TimeUnit.SECONDS);
            assertArrayEquals(plain.get(i), r.ids(), "stream " + i + " after the draft service died");
            accepted += r.last().getFinal().getSpeculation().getAccepted();
        }
        assertTrue(accepted > 0, "drafts were accepted before the kill");

        MeshFixture.Result after = fixture.generate(speculativeRequests.getFirst());
        assertArrayEquals(plain.getFirst(), after.ids(), "a new speculative request without a draft service");
        assertEquals(0, after.last().getFinal().getSpeculation().getDrafted(), "nothing drafted without a draft service");
        assertTrue(fixture.mesh.instances("decode").getFirst().process().isAlive());
        SplitMeshTest.awaitAllBlocksFree(fixture);
    }
}
