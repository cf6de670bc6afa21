package io.splitstream.draft;

import io.splitstream.engine.spec.RapidDrafter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A draft instance's settings (plain Java, so the logic runs without Quarkus in tests).
 *
 * @param models           GGUF files served; a model's id is its file name
 * @param threads          compute threads per model (RAPID's drafter forwards)
 * @param snapshotDir      where each model's Token Recycling table is saved and loaded from, if anywhere
 * @param snapshotInterval how often the tables are saved (and at shutdown)
 * @param ragDrafterModel  a smaller GGUF with the same vocabulary drafting in mode rag; default: the served model
 * @param rapid            RAPID chunking, budgets and chain length
 */
public record DraftSettings(List<Path> models, int threads, Optional<Path> snapshotDir, Duration snapshotInterval,
                            Optional<Path> ragDrafterModel, RapidDrafter.Options rapid) {
    public DraftSettings {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("splitstream.model names no model");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** Where {@code model}'s recycler table is kept, if snapshots are on. */
    public Optional<Path> snapshotFile(Path model) {
        return snapshotDir.map(dir -> dir.resolve(model.getFileName() + ".recycler"));
    }
}
