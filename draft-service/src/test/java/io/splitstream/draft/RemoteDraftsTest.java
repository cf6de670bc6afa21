package io.splitstream.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.DraftTree;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.SpeculativeDecoder;
import io.splitstream.engine.spec.Verification;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.service.draft.RemoteDrafter;
import io.splitstream.service.draft.RemoteDrafts;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Speculative greedy generation on stories260K with the remote drafter against a real draft server on loopback:
 * the same tokens as plain greedy, more than 1.5 tokens per step, and unchanged output when the server dies
 * mid-generation (drafts stop, then resume once it is back).
 */
class RemoteDraftsTest {
    static final int TOKENS = 256;
    static ComputePool pool;
    static Model model;
    static SpeculativeDecoder decoder;
    static List<int[]> prompts = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        pool = new ComputePool(1);
        model = Model.load(LoopbackDraftServer.MODEL);
        decoder = new SpeculativeDecoder(new Transformer(model, pool));
        for (String line : Files.readAllLines(LoopbackDraftServer.GOLDEN.resolve("prompts.txt"))) {
            if (!line.isBlank()) {
                prompts.add(model.tokenizer().encode(line, true, false));
            }
        }
    }

    @AfterAll
    static void close() {
        model.close();
        pool.close();
    }

    static Sampler greedy() {
        return new Sampler(SamplingParams.greedy(), model.config().vocabularySize());
    }

    static RemoteDrafts.Options options(Duration wait) {
        return RemoteDrafts.Options.defaults(model.config().vocabularySize()).withDraftWait(wait)
                .withReconnectDelay(Duration.ofMillis(50));
    }

    @Test
    void remoteDraftsGiveGreedyOutputWithMoreThanOneAndAHalfTokensPerStep() throws Exception {
        try (LoopbackDraftServer server = new LoopbackDraftServer()) {
            ManagedChannel channel = server.channel();
            // The assertion runs with a wait the shared 2-core test machine always meets; the default (2 ms) prints.
            for (Duration wait : new Duration[] {Duration.ofMillis(50), RemoteDrafts.Options.defaults(1).draftWait()}) {
                long tokens = 0;
                long steps = 0;
                double seconds = 0;
                try (RemoteDrafts drafts = new RemoteDrafts(channel, options(wait))) {
                    for (int[] prompt : prompts) {
                        int[] plain = decoder.generatePlain(prompt, TOKENS, greedy()).tokens();
                        try (RemoteDrafter drafter = drafts.newDrafter(DraftMode.DRAFT_MODE_HYBRID, 0, List.of())) {
                            SpeculativeDecoder.Result r = decoder.generate(prompt, TOKENS, greedy(), drafter);
                            assertArrayEquals(plain, r.tokens(), "remote drafts changed the greedy output");
                            tokens += r.stats().generatedTokens();
                            steps += r.stats().steps();
                            seconds += r.stats().decodeSeconds();
                        }
                    }
                }
                double perStep = (double) tokens / steps;
                System.out.printf("remote hybrid, draft wait %d ms: %.2f tokens/step, %.1f tokens/s%n", wait.toMillis(),
                        perStep, tokens / seconds);
                if (wait.toMillis() == 50) {
                    assertTrue(perStep > 1.5, "mean accepted tokens per step " + perStep);
                }
            }
            channel.shutdownNow();
        }
    }

    @Test
    void ragModeDraftsWithRapidOverALongPromptAndPassedDocuments() throws Exception {
        String story = Files.readString(LoopbackDraftServer.GOLDEN.resolve("ppl-text.txt"));
        int[] text = model.tokenizer().encode(story, true, false);
        assertTrue(text.length >= 356, "the story holds " + text.length + " tokens");
        int[] prompt = java.util.Arrays.copyOfRange(text, 100, 356);
        String earlier = model.tokenizer().decode(java.util.Arrays.copyOf(text, 100));
        int[] plain = decoder.generatePlain(prompt, 96, greedy()).tokens();
        try (LoopbackDraftServer server = new LoopbackDraftServer()) {
            ManagedChannel channel = server.channel();
            try (RemoteDrafts drafts = new RemoteDrafts(channel, options(Duration.ofMillis(200)));
                 RemoteDrafter rag = drafts.newDrafter(DraftMode.DRAFT_MODE_RAG, 0, List.of(
                         io.splitstream.proto.internal.v1.Document.newBuilder().setText(earlier).build()))) {
                SpeculativeDecoder.Result r = decoder.generate(prompt, 96, greedy(), rag);
                assertArrayEquals(plain, r.tokens(), "RAPID drafts changed the greedy output");
                System.out.println("remote rag (RAPID), 256-token prompt: " + r.stats());
                assertTrue(r.stats().meanAcceptedTokensPerStep() > 2, r.stats().toString());
            }
            channel.shutdownNow();
        }
    }

    @Test
    void aRefusedSequenceDraftsNothingAndDecodingGoesOn() throws Exception {
        int[] prompt = prompts.get(0);
        int[] plain = decoder.generatePlain(prompt, 32, greedy()).tokens();
        try (LoopbackDraftServer server = new LoopbackDraftServer()) {
            ManagedChannel channel = server.channel();
            try (RemoteDrafts drafts = new RemoteDrafts(channel, options(Duration.ofMillis(200)));
                 RemoteDrafter refused = drafts.newDrafter(DraftMode.DRAFT_MODE_UNSPECIFIED, 0, List.of())) {
                SpeculativeDecoder.Result r = decoder.generate(prompt, 32, greedy(), refused);
                assertArrayEquals(plain, r.tokens());
                assertEquals(0, r.stats().draftNodes());
                assertEquals("bad mode DRAFT_MODE_UNSPECIFIED: use recycling, retrieval, hybrid or rag", refused.refusal());
            }
            channel.shutdownNow();
        }
    }

    /** Stops the real server after step 10 and starts it again at step 40. */
    @Test
    void generationCompletesUnchangedWhenTheDraftServerDiesAndDraftsResumeWhenItIsBack() throws Exception {
        try (LoopbackDraftServer server = new LoopbackDraftServer()) {
            ManagedChannel channel = server.channel();
            int[] prompt = prompts.get(1);
            int[] plain = decoder.generatePlain(prompt, TOKENS, greedy()).tokens();
            try (RemoteDrafts drafts = new RemoteDrafts(channel, options(Duration.ofMillis(50)));
                 RemoteDrafter remote = drafts.newDrafter(DraftMode.DRAFT_MODE_RECYCLING, 0, List.of())) {
                try (RemoteDrafter warmUp = drafts.newDrafter(DraftMode.DRAFT_MODE_RECYCLING, 0, List.of())) {
                    decoder.generate(prompt, TOKENS, greedy(), warmUp); // the shared table starts empty
                }
                List<Integer> treeSizes = new ArrayList<>();
                Drafter faulty = new Drafter() {
                    @Override
                    public void begin(int[] p) {
                        remote.begin(p);
                    }

                    @Override
                    public DraftTree draft(int[] history, int length) {
                        DraftTree tree = remote.draft(history, length);
                        treeSizes.add(tree.size());
                        return tree;
                    }

                    @Override
                    public void verified(int root, DraftTree tree, float[] rootLogits, float[][] nodeLogits,
                                         Verification v) {
                        remote.verified(root, tree, rootLogits, nodeLogits, v);
                        try {
                            if (treeSizes.size() == 10) {
                                server.stop();
                            } else if (treeSizes.size() == 40) {
                                server.start();
                                Thread.sleep(500); // several reconnect attempts
                            }
                        } catch (Exception e) {
                            throw new AssertionError(e);
                        }
                    }
                };
                SpeculativeDecoder.Result r = decoder.generate(prompt, TOKENS, greedy(), faulty);
                assertArrayEquals(plain, r.tokens(), "output changed when the draft server died");
                assertTrue(treeSizes.subList(0, 10).stream().anyMatch(n -> n > 0), "drafts before the stop");
                assertEquals(0, treeSizes.subList(11, 40).stream().mapToInt(Integer::intValue).sum(),
                        "no drafts while the server is down: " + treeSizes);
                assertTrue(treeSizes.subList(41, treeSizes.size()).stream().anyMatch(n -> n > 0),
                        "drafts resume once the server is back: " + treeSizes);
                System.out.println("tree sizes per step around the outage: " + treeSizes);
            }
            channel.shutdownNow();
        }
    }
}
