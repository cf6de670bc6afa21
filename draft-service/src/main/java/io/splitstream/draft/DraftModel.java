package io.splitstream.draft;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.HybridDrafter;
import io.splitstream.engine.spec.RapidDrafter;
import io.splitstream.engine.spec.SuffixIndex;
import io.splitstream.engine.spec.TokenRecycler;
import io.splitstream.engine.spec.Verification;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.DraftMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * One served model's drafting state: the Token Recycling table and the retrieval corpus every sequence of the model
 * shares, and the transformer RAPID drafts with. All of it is touched on the model's single worker thread only
 * ({@link #call}), which keeps the table's rows whole, orders each sequence's messages and needs no locks.
 */
public final class DraftModel implements AutoCloseable {
    /** A sequence's drafter as the service drives it: it drafts, and learns from a verification whose logits it
     * never sees (the table is updated from the reported top-k instead). */
    public record SequenceDrafter(Drafter drafter, Consumer<Verification> learn) {
    }

    private final String id;
    private final Model model;
    private final Model ragModel; // null: RAPID drafts with the served model itself
    private final ComputePool pool;
    private final Transformer ragDrafter;
    private final TokenRecycler recycler;
    private final SuffixIndex corpus = new SuffixIndex();
    private final RapidDrafter.Options rapid;
    private final Optional<Path> snapshotFile;
    private final boolean snapshotLoaded;
    private final ExecutorService worker;

    private DraftModel(Path path, DraftSettings settings) throws IOException {
        this.id = path.getFileName().toString();
        this.model = Model.load(path);
        try {
            this.ragModel = settings.ragDrafterModel().isPresent() ? Model.load(settings.ragDrafterModel().get()) : null;
            if (ragModel != null && ragModel.config().vocabularySize() != model.config().vocabularySize()) {
                throw new IllegalArgumentException("RAG drafter " + settings.ragDrafterModel().get() + " has a vocabulary of "
                        + ragModel.config().vocabularySize() + ", " + id + " one of " + model.config().vocabularySize());
            }
            this.pool = new ComputePool(settings.threads());
            this.ragDrafter = new Transformer(ragModel != null ? ragModel : model, pool);
            this.recycler = new TokenRecycler(model.config().vocabularySize());
            this.rapid = settings.rapid();
            this.snapshotFile = settings.snapshotFile(path);
            this.snapshotLoaded = loadSnapshot();
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        this.worker = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("splitstream-draft-" + id)
                .daemon().unstarted(r));
    }

    public static DraftModel load(Path path, DraftSettings settings) throws IOException {
        return new DraftModel(path, settings);
    }

    public String id() {
        return id;
    }

    public Model model() {
        return model;
    }

    public int vocabularySize() {
        return model.config().vocabularySize();
    }

    public TokenRecycler recycler() {
        return recycler;
    }

    /** Whether the recycler table started from a snapshot (hot) rather than empty. */
    public boolean snapshotLoaded() {
        return snapshotLoaded;
    }

    /** Tokens in the shared corpus (read from any thread: a stale count is fine for a gauge). */
    public long corpusTokens() {
        return corpus.size();
    }

    /** Runs {@code task} on the model's worker thread. */
    public <T> CompletableFuture<T> call(Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        worker.execute(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    /**
     * A begun drafter for a new sequence (worker thread). {@code maxNodes} caps the tree (0 = the mode's default;
     * in mode rag, the chain length); {@code documents} go to the sequence's own index (rag: its chunk pool).
     */
    public SequenceDrafter startSequence(DraftMode mode, int maxNodes, int[] prompt, List<int[]> documents) {
        if (mode == DraftMode.DRAFT_MODE_RAG) {
            RapidDrafter.Options options = maxNodes > 0 && maxNodes < rapid.draftLength()
                    ? rapid.withDraftLength(maxNodes) : rapid;
            RapidDrafter drafter = new RapidDrafter(ragDrafter, options);
            documents.forEach(drafter::addDocument);
            drafter.begin(prompt);
            return new SequenceDrafter(drafter, drafter::advance);
        }
        HybridDrafter.Options options = switch (mode) {
            case DRAFT_MODE_RECYCLING -> HybridDrafter.Options.recyclingOnly();
            case DRAFT_MODE_RETRIEVAL -> HybridDrafter.Options.retrievalOnly();
            case DRAFT_MODE_HYBRID -> HybridDrafter.Options.hybrid();
            default -> throw new IllegalArgumentException("bad mode " + mode);
        };
        if (maxNodes > 0) {
            options = options.withBudget(Math.min(options.minBudget(), maxNodes), maxNodes);
        }
        HybridDrafter drafter = new HybridDrafter(recycler, corpus, options);
        drafter.begin(prompt);
        documents.forEach(drafter::addDocument);
        return new SequenceDrafter(drafter, drafter::advance);
    }

    /** Adds documents to the shared corpus (worker thread); returns the tokens added. */
    public long index(List<int[]> documents) {
        long tokens = 0;
        for (int[] document : documents) {
            corpus.addDocument(document);
            tokens += document.length;
        }
        corpus.addDocument(new int[0]); // nothing appended later joins the last document
        return tokens;
    }

    /** Writes the recycler table to the snapshot file, if any (worker thread: rows are whole). */
    public Optional<Path> saveSnapshot() throws IOException {
        if (snapshotFile.isEmpty()) {
            return Optional.empty();
        }
        Path file = snapshotFile.get();
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try (OutputStream out = Files.newOutputStream(partial)) {
            recycler.snapshot(out);
        }
        Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return snapshotFile;
    }

    @Override
    public void close() {
        worker.shutdownNow();
        pool.close();
        if (ragModel != null) {
            ragModel.close();
        }
        model.close();
    }

    private boolean loadSnapshot() throws IOException {
        if (snapshotFile.isEmpty() || !Files.exists(snapshotFile.get())) {
            return false;
        }
        try (InputStream in = Files.newInputStream(snapshotFile.get())) {
            recycler.load(in);
        }
        return true;
    }
}
