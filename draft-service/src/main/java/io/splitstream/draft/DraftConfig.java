package io.splitstream.draft;

import io.splitstream.engine.spec.RapidDrafter;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * {@code splitstream.*} configuration of a draft instance (plain {@code @ConfigProperty}, as in decode: augmentation
 * runs on Maven's JDK and would have to load a mapping interface compiled for release 25).
 */
@Singleton
public class DraftConfig {
    private final DraftSettings settings;

    DraftConfig(@ConfigProperty(name = "splitstream.model") List<String> models,
                @ConfigProperty(name = "splitstream.threads") OptionalInt threads,
                @ConfigProperty(name = "splitstream.draft.snapshot-dir") Optional<String> snapshotDir,
                @ConfigProperty(name = "splitstream.draft.snapshot-interval", defaultValue = "5m") Duration snapshotInterval,
                @ConfigProperty(name = "splitstream.draft.rag.drafter-model") Optional<String> ragDrafterModel,
                @ConfigProperty(name = "splitstream.draft.rag.chunk-tokens", defaultValue = "64") int chunkTokens,
                @ConfigProperty(name = "splitstream.draft.rag.retrieved-tokens", defaultValue = "128") int retrievedTokens,
                @ConfigProperty(name = "splitstream.draft.rag.recent-tokens", defaultValue = "64") int recentTokens,
                @ConfigProperty(name = "splitstream.draft.rag.query-tokens", defaultValue = "32") int queryTokens,
                @ConfigProperty(name = "splitstream.draft.rag.draft-length", defaultValue = "4") int draftLength,
                @ConfigProperty(name = "splitstream.draft.rag.refresh-interval", defaultValue = "64") int refreshInterval) {
        this.settings = new DraftSettings(models.stream().map(Path::of).toList(),
                threads.orElse(Math.max(1, Runtime.getRuntime().availableProcessors() / 2)),
                snapshotDir.map(Path::of), snapshotInterval, ragDrafterModel.map(Path::of),
                new RapidDrafter.Options(chunkTokens, retrievedTokens, recentTokens, queryTokens, draftLength,
                        refreshInterval));
    }

    public DraftSettings settings() {
        return settings;
    }
}
