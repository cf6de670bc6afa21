package io.splitstream.draft;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.splitstream.engine.spec.DraftTree;
import io.splitstream.engine.spec.TokenRecycler;
import io.splitstream.engine.spec.Verification;
import io.splitstream.proto.internal.v1.CloseSequence;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.proto.internal.v1.OpenSequence;
import io.splitstream.proto.internal.v1.SequenceError;
import io.splitstream.proto.internal.v1.SpeculateRequest;
import io.splitstream.proto.internal.v1.SpeculateResponse;
import io.splitstream.proto.internal.v1.VerifiedStep;
import io.splitstream.service.draft.DraftTrees;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * One {@code Draft.Speculate} stream: the sequences a decode instance multiplexes on it. A message is checked on
 * the gRPC thread as far as it can be without the sequence's state, then handled on its model's worker thread, which
 * drafts the next tree and sends it. A bad message fails its sequence only (an error response, the sequence
 * closed); the stream and its other sequences go on.
 */
final class SpeculationSession implements StreamObserver<SpeculateRequest> {
    private final Supplier<DraftModels> models;
    private final StreamObserver<SpeculateResponse> responses;
    private final DraftListener listener;
    private final Map<Long, Sequence> sequences = new ConcurrentHashMap<>();
    private boolean ended; // guarded by responses' lock (this)

    /** Worker-thread state of one sequence. */
    private static final class Sequence {
        final long id;
        final DraftModel model;
        DraftModel.SequenceDrafter drafter;
        long step;
        int[] history;
        int length;

        Sequence(long id, DraftModel model, int[] prompt) {
            this.id = id;
            this.model = model;
            this.history = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
            this.length = prompt.length;
        }

        void append(int[] tokens) {
            if (length + tokens.length > history.length) {
                history = Arrays.copyOf(history, Math.max(history.length * 2, length + tokens.length));
            }
            System.arraycopy(tokens, 0, history, length, tokens.length);
            length += tokens.length;
        }
    }

    SpeculationSession(Supplier<DraftModels> models, StreamObserver<SpeculateResponse> responses, DraftListener listener) {
        this.models = models;
        this.responses = responses;
        this.listener = listener;
    }

    @Override
    public void onNext(SpeculateRequest request) {
        switch (request.getKindCase()) {
            case OPEN -> open(request.getOpen());
            case VERIFIED -> verified(request.getVerified());
            case CLOSE -> close(request.getClose());
            case KIND_NOT_SET -> refuse(0, 0, Status.INVALID_ARGUMENT.withDescription(
                    "SpeculateRequest carries no open, verified or close").asRuntimeException());
        }
    }

    @Override
    public void onError(Throwable t) {
        sequences.clear(); // the caller went away; pending worker tasks find their sequence gone
    }

    @Override
    public void onCompleted() {
        sequences.clear();
        synchronized (this) {
            if (!ended) {
                ended = true;
                responses.onCompleted();
            }
        }
    }

    private void open(OpenSequence open) {
        long id = open.getSequenceId();
        try {
            DraftModel model = models.get().find(open.getModelId());
            DraftMode mode = open.getMode();
            if (mode == DraftMode.DRAFT_MODE_UNSPECIFIED || mode == DraftMode.UNRECOGNIZED) {
                throw new IllegalArgumentException("bad mode " + (mode == DraftMode.UNRECOGNIZED
                        ? String.valueOf(open.getModeValue()) : mode.name()) + ": use recycling, retrieval, hybrid or rag");
            }
            if (open.getPromptTokensCount() == 0) {
                throw new IllegalArgumentException("sequence " + id + " has an empty prompt");
            }
            int[] prompt = Documents.checked(open.getPromptTokensList(), model.vocabularySize(), "prompt of sequence " + id);
            Sequence s = new Sequence(id, model, prompt);
            if (sequences.putIfAbsent(id, s) != null) {
                throw new IllegalArgumentException("sequence " + id + " is already open on this stream");
            }
            listener.sequenceOpened(mode);
            onWorker(s, () -> {
                List<int[]> documents = Documents.tokens(open.getDocumentsList(), model);
                s.drafter = model.startSequence(mode, open.getMaxNodes(), prompt, documents);
                sendNextTree(s);
            });
        } catch (RuntimeException e) {
            refuse(id, 0, e);
        }
    }

    private void verified(VerifiedStep step) {
        Sequence s = sequences.get(step.getSequenceId());
        if (s == null) {
            refuse(step.getSequenceId(), step.getStep(), unknown(step.getSequenceId()));
            return;
        }
        onWorker(s, () -> {
            if (step.getStep() != s.step) {
                throw new IllegalArgumentException("sequence " + s.id + " reported step " + step.getStep()
                        + " but is at step " + s.step);
            }
            int vocabulary = s.model.vocabularySize();
            DraftTree tree = DraftTrees.fromProto(step.getTree(), vocabulary);
            int root = Documents.checked(List.of(step.getRootToken()), vocabulary, "root token")[0];
            Verification verification = verification(step, tree, vocabulary);
            int[][] candidates = candidateRows(step, tree.size() + 1, s.model.recycler());
            TokenRecycler recycler = s.model.recycler();
            recycler.overwrite(root, candidates[0]);
            for (int i = 0; i < tree.size(); i++) {
                recycler.overwrite(tree.token(i), candidates[i + 1]);
            }
            s.drafter.learn().accept(verification);
            s.append(verification.emitted());
            s.step++;
            sendNextTree(s);
        });
    }

    private void close(CloseSequence close) {
        if (sequences.remove(close.getSequenceId()) == null) {
            refuse(close.getSequenceId(), 0, unknown(close.getSequenceId()));
        }
    }

    private static StatusRuntimeException unknown(long id) {
        return Status.INVALID_ARGUMENT.withDescription("unknown sequence " + id + " (never opened, closed, or refused)")
                .asRuntimeException();
    }

    /** The accepted path and emitted tokens, checked: a path down the tree, one more token emitted than accepted. */
    private static Verification verification(VerifiedStep step, DraftTree tree, int vocabulary) {
        int[] accepted = new int[step.getAcceptedNodesCount()];
        int parent = -1;
        for (int i = 0; i < accepted.length; i++) {
            int node = step.getAcceptedNodes(i);
            if (node < 0 || node >= tree.size() || tree.parent(node) != parent) {
                throw new IllegalArgumentException("accepted node " + Integer.toUnsignedString(node) + " at " + i
                        + " does not continue the accepted path down the tree of " + tree.size());
            }
            accepted[i] = node;
            parent = node;
        }
        if (step.getEmittedTokensCount() != accepted.length + 1) {
            throw new IllegalArgumentException(step.getEmittedTokensCount() + " tokens emitted for " + accepted.length
                    + " accepted nodes (expected one more)");
        }
        return new Verification(accepted, Documents.checked(step.getEmittedTokensList(), vocabulary, "emitted tokens"));
    }

    /** {@code rows} rows of k candidate ids (-1 = none), as the recycler's rows take them. */
    private static int[][] candidateRows(VerifiedStep step, int rows, TokenRecycler recycler) {
        int k = recycler.k();
        if (step.getTopCandidatesCount() != rows * k) {
            throw new IllegalArgumentException(step.getTopCandidatesCount() + " top candidates for " + rows
                    + " verified positions (root + tree nodes), expected " + k + " each");
        }
        int[][] out = new int[rows][];
        for (int r = 0; r < rows; r++) {
            int[] row = new int[k];
            int n = 0;
            for (int c = 0; c < k; c++) {
                int id = step.getTopCandidates(r * k + c);
                if (id < -1 || id >= recycler.vocabularySize()) {
                    throw new IllegalArgumentException("top candidate " + id + " of position " + r
                            + " is outside the vocabulary of " + recycler.vocabularySize());
                }
                if (id >= 0) {
                    row[n++] = id;
                }
            }
            out[r] = Arrays.copyOf(row, n);
        }
        return out;
    }

    private void sendNextTree(Sequence s) {
        DraftTree tree = s.drafter.drafter().draft(s.history, s.length);
        if (sequences.get(s.id) == s) {
            listener.treeSent(tree.size());
            send(SpeculateResponse.newBuilder().setSequenceId(s.id).setStep(s.step).setTree(DraftTrees.toProto(tree))
                    .build());
        }
    }

    /** Runs a sequence's work on its model's worker; a failure refuses (and closes) that sequence only. */
    private void onWorker(Sequence s, Runnable work) {
        s.model.call(() -> {
            if (sequences.get(s.id) != s) {
                return null; // closed or refused meanwhile
            }
            try {
                work.run();
            } catch (RuntimeException e) {
                if (sequences.remove(s.id, s)) {
                    refuse(s.id, s.step, e);
                }
            }
            return null;
        });
    }

    private void refuse(long sequenceId, long step, RuntimeException e) {
        Status status = e instanceof StatusRuntimeException sre ? sre.getStatus()
                : e instanceof IllegalArgumentException ? Status.INVALID_ARGUMENT.withDescription(e.getMessage())
                : Status.INTERNAL.withDescription(String.valueOf(e));
        listener.sequenceRefused(status.getCode());
        send(SpeculateResponse.newBuilder().setSequenceId(sequenceId).setStep(step)
                .setError(SequenceError.newBuilder().setCode(status.getCode().value())
                        .setMessage(String.valueOf(status.getDescription())))
                .build());
    }

    private synchronized void send(SpeculateResponse response) {
        if (ended) {
            return;
        }
        try {
            responses.onNext(response);
        } catch (RuntimeException e) {
            ended = true; // the call was cancelled: nothing more can be sent
            sequences.clear();
        }
    }
}
