package io.splitstream.service.draft;

import io.splitstream.engine.spec.DraftTree;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.TokenRecycler;
import io.splitstream.engine.spec.Verification;
import io.splitstream.proto.internal.v1.Document;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.proto.internal.v1.OpenSequence;
import io.splitstream.proto.internal.v1.SpeculateRequest;
import io.splitstream.proto.internal.v1.SpeculateResponse;
import io.splitstream.proto.internal.v1.VerifiedStep;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One sequence's drafter on a {@link RemoteDrafts} stream. {@link #draft} returns the tree the service sent for the
 * current step if it arrives within {@link RemoteDrafts.Options#draftWait}, else an empty tree: a late or missing
 * draft never stalls decoding. {@link #verified} reports the step with the target's top-8 at the root and every
 * node, so the service's shared Token Recycling table learns exactly what an in-process one would.
 *
 * <p>Steps: opening answers step 0, the report of step n is answered by step n + 1. If the stream was replaced
 * since the sequence was opened, the next {@link #draft} opens it again on the new stream with the history so far.
 * A sequence the service refused (error response) drafts nothing more.
 */
public final class RemoteDrafter implements Drafter, AutoCloseable {
    private final RemoteDrafts drafts;
    private final long sequenceId;
    private final DraftMode mode;
    private final int maxNodes;
    private final List<Document> documents;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    // Guarded by lock: the stream the sequence is open on, the current step and the latest tree received for it.
    private RemoteDrafts.Stream openOn;
    private long step;
    private io.splitstream.proto.internal.v1.DraftTree tree;
    private String refusal;

    RemoteDrafter(RemoteDrafts drafts, long sequenceId, DraftMode mode, int maxNodes, List<Document> documents) {
        this.drafts = drafts;
        this.sequenceId = sequenceId;
        this.mode = mode;
        this.maxNodes = maxNodes;
        this.documents = List.copyOf(documents);
    }

    public long sequenceId() {
        return sequenceId;
    }

    /** The service's reason for refusing this sequence, or null. */
    public String refusal() {
        lock.lock();
        try {
            return refusal;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void begin(int[] prompt) {
        open(prompt, prompt.length);
    }

    @Override
    public DraftTree draft(int[] history, int length) {
        RemoteDrafts.Stream current = drafts.stream();
        if (current == null) {
            return new DraftTree(0);
        }
        boolean reopen;
        lock.lock();
        try {
            if (refusal != null) {
                return new DraftTree(0);
            }
            reopen = openOn != current;
        } finally {
            lock.unlock();
        }
        if (reopen) {
            open(history, length);
        }
        io.splitstream.proto.internal.v1.DraftTree received;
        lock.lock();
        try {
            long waitNanos = drafts.options().draftWait().toNanos();
            while (tree == null && refusal == null && waitNanos > 0) {
                waitNanos = arrived.awaitNanos(waitNanos);
            }
            received = tree;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new DraftTree(0);
        } finally {
            lock.unlock();
        }
        if (received == null) {
            return new DraftTree(0);
        }
        try {
            return DraftTrees.fromProto(received, drafts.options().vocabularySize());
        } catch (IllegalArgumentException e) {
            return new DraftTree(0); // a malformed draft must not reach the target's forward
        }
    }

    @Override
    public void verified(int rootToken, DraftTree verifiedTree, float[] rootLogits, float[][] nodeLogits,
                         Verification verification) {
        RemoteDrafts.Stream on;
        long verifiedStep;
        lock.lock();
        try {
            on = openOn;
            verifiedStep = step++;
            tree = null;
            if (on == null || refusal != null) {
                return;
            }
        } finally {
            lock.unlock();
        }
        VerifiedStep.Builder b = VerifiedStep.newBuilder().setSequenceId(sequenceId).setStep(verifiedStep)
                .setRootToken(rootToken).setTree(DraftTrees.toProto(verifiedTree));
        for (int node : verification.acceptedNodes()) {
            b.addAcceptedNodes(node);
        }
        for (int token : verification.emitted()) {
            b.addEmittedTokens(token);
        }
        addCandidates(b, rootLogits);
        for (int i = 0; i < verifiedTree.size(); i++) {
            addCandidates(b, nodeLogits[i]);
        }
        on.send(SpeculateRequest.newBuilder().setVerified(b).build());
    }

    /** The sequence ended: it is closed on the service. */
    @Override
    public void end() {
        close();
    }

    @Override
    public void close() {
        lock.lock();
        RemoteDrafts.Stream on;
        try {
            on = openOn;
            openOn = null;
        } finally {
            lock.unlock();
        }
        drafts.closeSequence(this, on);
    }

    void received(RemoteDrafts.Stream from, SpeculateResponse response) {
        lock.lock();
        try {
            if (from != openOn) {
                return;
            }
            if (response.hasError()) {
                refusal = response.getError().getMessage();
                tree = null;
            } else if (response.getStep() == step && response.hasTree()) {
                tree = response.getTree();
            }
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void open(int[] history, int length) {
        RemoteDrafts.Stream current = drafts.stream();
        lock.lock();
        try {
            openOn = current;
            step = 0;
            tree = null;
        } finally {
            lock.unlock();
        }
        if (current == null) {
            return;
        }
        OpenSequence.Builder open = OpenSequence.newBuilder().setSequenceId(sequenceId)
                .setModelId(drafts.options().modelId()).setMode(mode).setMaxNodes(maxNodes).addAllDocuments(documents);
        for (int i = 0; i < length; i++) {
            open.addPromptTokens(history[i]);
        }
        current.send(SpeculateRequest.newBuilder().setOpen(open).build());
    }

    private static void addCandidates(VerifiedStep.Builder b, float[] logits) {
        int[] top = TokenRecycler.topCandidates(logits, TokenRecycler.DEFAULT_K);
        for (int c = 0; c < TokenRecycler.DEFAULT_K; c++) {
            b.addTopCandidates(c < top.length ? top[c] : -1);
        }
    }
}
