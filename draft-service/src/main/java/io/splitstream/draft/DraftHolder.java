package io.splitstream.draft;

import io.grpc.Status;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Owns the {@link DraftModels}: loads them off the startup thread (readiness stays DOWN until then), saves the Token
 * Recycling tables on a schedule and at shutdown, so a restarted instance starts hot.
 */
@ApplicationScoped
public class DraftHolder {
    private static final Logger LOG = Logger.getLogger(DraftHolder.class);

    private final DraftConfig config;
    private final DraftMetricsBinder metrics;
    private final CompletableFuture<DraftModels> models = new CompletableFuture<>();
    private volatile ScheduledExecutorService snapshots;

    DraftHolder(DraftConfig config, DraftMetricsBinder metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    void onStart(@Observes StartupEvent event) {
        DraftSettings settings = config.settings();
        Thread.ofPlatform().name("splitstream-model-loader").daemon().start(() -> {
            long t0 = System.nanoTime();
            try {
                DraftModels loaded = DraftModels.load(settings);
                for (DraftModel m : loaded.all()) {
                    metrics.bind(m);
                    LOG.infof("Draft model %s: token recycler table %d bytes (%s), vocabulary %d, context %d", m.id(),
                            m.recycler().sizeBytes(), m.snapshotLoaded()
                                    ? "hot, loaded from " + settings.snapshotFile(m.model().path()).orElseThrow()
                                    : "empty", m.vocabularySize(), m.model().config().contextLength());
                }
                LOG.infof("Loaded %d draft model(s) in %.0f ms", loaded.all().size(), (System.nanoTime() - t0) / 1e6);
                models.complete(loaded);
            } catch (Throwable t) {
                LOG.errorf(t, "Cannot load draft models %s", settings.models());
                models.completeExceptionally(t);
            }
        });
        if (settings.snapshotDir().isPresent()) {
            long period = settings.snapshotInterval().toMillis();
            snapshots = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform()
                    .name("splitstream-recycler-snapshots").daemon().unstarted(r));
            snapshots.scheduleWithFixedDelay(this::saveSnapshots, period, period, TimeUnit.MILLISECONDS);
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        if (snapshots != null) {
            snapshots.shutdownNow();
        }
        saveSnapshots();
        DraftModels m = models.getNow(null);
        if (m != null) {
            m.close();
        }
    }

    /** Saves every model's recycler table (on its worker, so rows are whole) and waits for it. */
    public void saveSnapshots() {
        DraftModels m = models.getNow(null);
        if (m == null) {
            return;
        }
        for (DraftModel model : m.all()) {
            try {
                model.call(model::saveSnapshot).get(30, TimeUnit.SECONDS)
                        .ifPresent(file -> LOG.infof("Saved token recycler table of %s (%d bytes) to %s", model.id(),
                                model.recycler().sizeBytes(), file));
            } catch (Exception e) {
                LOG.warnf(e, "Cannot save the token recycler table of %s", model.id());
            }
        }
    }

    /** The loaded models, or UNAVAILABLE while loading or after a failed load. */
    public DraftModels models() {
        if (!models.isDone()) {
            throw Status.UNAVAILABLE.withDescription("draft models are still loading").asRuntimeException();
        }
        if (models.isCompletedExceptionally()) {
            throw Status.UNAVAILABLE.withDescription("draft models failed to load: " + loadError()).asRuntimeException();
        }
        return models.join();
    }

    public boolean ready() {
        return models.isDone() && !models.isCompletedExceptionally();
    }

    public boolean failed() {
        return models.isCompletedExceptionally();
    }

    public String loadError() {
        try {
            models.getNow(null);
            return null;
        } catch (Exception e) {
            return e.getCause() == null ? e.toString() : e.getCause().toString();
        }
    }

    /** Waits for the models (tests). */
    public DraftModels await(Duration timeout) throws Exception {
        return models.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
