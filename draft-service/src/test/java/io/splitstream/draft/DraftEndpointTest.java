package io.splitstream.draft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import io.splitstream.engine.sampling.SamplingParams;
import io.splitstream.engine.spec.HybridDrafter;
import io.splitstream.engine.spec.SpeculativeDecoder;
import io.splitstream.engine.spec.TokenRecycler;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.CloseSequence;
import io.splitstream.proto.internal.v1.Document;
import io.splitstream.proto.internal.v1.DraftGrpc;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.proto.internal.v1.IndexDocumentsRequest;
import io.splitstream.proto.internal.v1.IndexDocumentsResponse;
import io.splitstream.proto.internal.v1.OpenSequence;
import io.splitstream.proto.internal.v1.SpeculateRequest;
import io.splitstream.proto.internal.v1.SpeculateResponse;
import io.splitstream.proto.internal.v1.TokenList;
import io.splitstream.proto.internal.v1.VerifiedStep;
import io.splitstream.service.draft.RemoteDrafter;
import io.splitstream.service.draft.RemoteDrafts;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The Draft service's protocol on a real loopback server: trees, per-sequence errors, the shared corpus and table. */
class DraftEndpointTest {
    static LoopbackDraftServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        server = new LoopbackDraftServer();
        channel = server.channel();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow();
        server.close();
    }

    /** One Speculate stream whose responses land in a queue. */
    static final class Stream implements StreamObserver<SpeculateResponse> {
        final BlockingQueue<SpeculateResponse> responses = new LinkedBlockingQueue<>();
        final StreamObserver<SpeculateRequest> requests = DraftGrpc.newStub(channel).speculate(this);

        void open(long id, DraftMode mode, int... prompt) {
            requests.onNext(SpeculateRequest.newBuilder().setOpen(OpenSequence.newBuilder().setSequenceId(id)
                    .setMode(mode).addAllPromptTokens(IntStream.of(prompt).boxed().toList())).build());
        }

        SpeculateResponse next() throws InterruptedException {
            SpeculateResponse r = responses.poll(30, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("no response within 30 s");
            }
            return r;
        }

        @Override
        public void onNext(SpeculateResponse r) {
            responses.add(r);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }

    static void assertRefused(SpeculateResponse r, long id, Status.Code code, String fragment) {
        assertEquals(id, r.getSequenceId());
        assertTrue(r.hasError(), "expected an error, got " + r);
        assertEquals(code.value(), r.getError().getCode(), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains(fragment), r.getError().getMessage());
    }

    @Test
    void badMessagesFailTheirSequenceOnlyAndTheStreamGoesOn() throws Exception {
        Stream s = new Stream();
        s.open(1, DraftMode.DRAFT_MODE_RECYCLING, 1, 2, 3);
        SpeculateResponse first = s.next();
        assertEquals(1, first.getSequenceId());
        assertEquals(0, first.getStep());
        assertTrue(first.hasTree());

        s.open(2, DraftMode.DRAFT_MODE_HYBRID, 1, 999_999);
        assertRefused(s.next(), 2, Status.Code.INVALID_ARGUMENT, "token id 999999 at 1 is outside the vocabulary of 512");
        s.open(3, DraftMode.DRAFT_MODE_UNSPECIFIED, 1);
        assertRefused(s.next(), 3, Status.Code.INVALID_ARGUMENT, "bad mode DRAFT_MODE_UNSPECIFIED");
        s.requests.onNext(SpeculateRequest.newBuilder().setOpen(OpenSequence.newBuilder().setSequenceId(4)
                .setModeValue(42).addPromptTokens(1)).build());
        assertRefused(s.next(), 4, Status.Code.INVALID_ARGUMENT, "bad mode 42");
        s.requests.onNext(SpeculateRequest.newBuilder().setOpen(OpenSequence.newBuilder().setSequenceId(5)
                .setModelId("nope.gguf").setMode(DraftMode.DRAFT_MODE_HYBRID).addPromptTokens(1)).build());
        assertRefused(s.next(), 5, Status.Code.NOT_FOUND, "unknown model 'nope.gguf'");
        s.requests.onNext(SpeculateRequest.newBuilder().setVerified(VerifiedStep.newBuilder().setSequenceId(77)
                .addEmittedTokens(5)).build());
        assertRefused(s.next(), 77, Status.Code.INVALID_ARGUMENT, "unknown sequence 77");
        s.requests.onNext(SpeculateRequest.newBuilder().setVerified(VerifiedStep.newBuilder().setSequenceId(1).setStep(0)
                .setRootToken(3).addEmittedTokens(4)).build()); // no top candidates for the root
        assertRefused(s.next(), 1, Status.Code.INVALID_ARGUMENT, "0 top candidates for 1 verified positions");
        s.requests.onNext(SpeculateRequest.newBuilder().setClose(CloseSequence.newBuilder().setSequenceId(1)).build());
        assertRefused(s.next(), 1, Status.Code.INVALID_ARGUMENT, "unknown sequence 1"); // closed by its refusal

        s.open(6, DraftMode.DRAFT_MODE_RETRIEVAL, 7, 8, 9, 7, 8);
        SpeculateResponse after = s.next();
        assertEquals(6, after.getSequenceId());
        assertTrue(after.hasTree(), "a new sequence on the same stream is served: " + after);
        assertEquals(9, after.getTree().getTokens(0), "retrieval drafts what followed 7 8 earlier");
        s.requests.onCompleted();
    }

    @Test
    void indexedDocumentsAreDraftedFromByEverySequenceAndBadOnesAreRefused() throws Exception {
        DraftGrpc.DraftBlockingStub stub = DraftGrpc.newBlockingStub(channel);
        int[] story = server.model().model().tokenizer().encode("The purple dragon sang a long song to the moon.", false, false);
        IndexDocumentsResponse indexed = stub.indexDocuments(IndexDocumentsRequest.newBuilder()
                .addDocuments(Document.newBuilder().setText("The purple dragon sang a long song to the moon.")).build());
        assertEquals(1, indexed.getDocuments());
        assertEquals(story.length, indexed.getTokensIndexed());
        assertTrue(indexed.getCorpusTokens() >= story.length);

        Stream s = new Stream();
        s.open(1, DraftMode.DRAFT_MODE_RETRIEVAL, Arrays.copyOf(story, 4));
        SpeculateResponse r = s.next();
        assertEquals(story[4], r.getTree().getTokens(0), "the corpus continuation comes first: " + r);
        s.requests.onCompleted();

        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> stub.indexDocuments(IndexDocumentsRequest.newBuilder().addDocuments(Document.newBuilder()
                        .setTokens(TokenList.newBuilder().addTokens(3).addTokens(512))).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("document 0: token id 512 at 1"), e.getMessage());
        Executable none = () -> stub.indexDocuments(IndexDocumentsRequest.getDefaultInstance());
        assertEquals(Status.Code.INVALID_ARGUMENT,
                org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, none).getStatus().getCode());
    }

    @Test
    void theRemoteTableLearnsExactlyWhatAnInProcessOneLearns() throws Exception {
        Model model = Model.load(LoopbackDraftServer.MODEL);
        try (ComputePool pool = new ComputePool(1);
             LoopbackDraftServer fresh = new LoopbackDraftServer()) {
            ManagedChannel freshChannel = fresh.channel();
            SpeculativeDecoder decoder = new SpeculativeDecoder(new Transformer(model, pool));
            int[] prompt = model.tokenizer().encode("Once upon a time", true, false);
            Sampler greedy = new Sampler(SamplingParams.greedy(), 512);
            TokenRecycler local = new TokenRecycler(512);
            int[] inProcess = decoder.generate(prompt, 64, greedy, new HybridDrafter(local, null,
                    HybridDrafter.Options.recyclingOnly())).tokens();
            // A wait long enough that every tree arrives: both sides then draft and learn the same trees.
            try (RemoteDrafts drafts = new RemoteDrafts(freshChannel, RemoteDrafts.Options.defaults(512)
                    .withDraftWait(Duration.ofSeconds(10)));
                 RemoteDrafter remote = drafts.newDrafter(DraftMode.DRAFT_MODE_RECYCLING, 0, java.util.List.of())) {
                int[] remoteTokens = decoder.generate(prompt, 64, new Sampler(SamplingParams.greedy(), 512), remote).tokens();
                assertArrayEquals(inProcess, remoteTokens);
                // Messages of one stream are handled in order: once a later sequence's first tree is back, the
                // last report has been applied.
                try (RemoteDrafter barrier = drafts.newDrafter(DraftMode.DRAFT_MODE_RECYCLING, 0, java.util.List.of())) {
                    barrier.begin(prompt);
                    barrier.draft(prompt, prompt.length);
                }
            }
            TokenRecycler served = fresh.model().recycler();
            assertArrayEquals(snapshot(local), fresh.model().call(() -> snapshot(served)).get(10, TimeUnit.SECONDS));
            freshChannel.shutdownNow();
        } finally {
            model.close();
        }
    }

    @Test
    void aRestartedInstanceStartsFromTheSavedTable(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        byte[] saved;
        try (LoopbackDraftServer first = new LoopbackDraftServer(java.util.Optional.of(dir))) {
            assertTrue(!first.model().snapshotLoaded());
            DraftModel m = first.model();
            byte[] learned = m.call(() -> {
                m.recycler().update(5, logitsFavouring(7));
                m.saveSnapshot();
                return snapshot(m.recycler());
            }).get(10, TimeUnit.SECONDS);
            saved = learned;
        }
        try (LoopbackDraftServer second = new LoopbackDraftServer(java.util.Optional.of(dir))) {
            assertTrue(second.model().snapshotLoaded());
            assertArrayEquals(saved, snapshot(second.model().recycler()));
            assertEquals(7, second.model().recycler().candidate(5, 0));
        }
    }

    static float[] logitsFavouring(int token) {
        float[] logits = new float[512];
        logits[token] = 1;
        return logits;
    }

    static byte[] snapshot(TokenRecycler recycler) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        recycler.snapshot(out);
        return out.toByteArray();
    }
}
