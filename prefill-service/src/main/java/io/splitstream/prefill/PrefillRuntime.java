package io.splitstream.prefill;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** Loads the model at startup on a background thread (readiness stays DOWN until it is loaded) and owns the engine. */
@ApplicationScoped
public class PrefillRuntime {
    private static final Logger LOG = Logger.getLogger(PrefillRuntime.class);

    private final String modelPath;
    private final PrefillSettings settings;
    private volatile PrefillEngine engine;
    private volatile Throwable loadFailure;
    private volatile boolean shuttingDown;
    private final PrefillMetrics metrics;
    private final OpenTelemetry otel;

    /**
     * Plain {@code @ConfigProperty} injection rather than a {@code @ConfigMapping}: Quarkus' build step would load a
     * mapping interface on Maven's JDK (17), which cannot read these release-25 classes.
     */
    public PrefillRuntime(@ConfigProperty(name = "splitstream.model") String modelPath,
                          @ConfigProperty(name = "splitstream.threads") Optional<Integer> threads,
                          @ConfigProperty(name = "splitstream.kv-tokens", defaultValue = "8192") int kvTokens,
                          @ConfigProperty(name = "splitstream.prefill-chunk-tokens", defaultValue = "256") int prefillChunkTokens,
                          @ConfigProperty(name = "splitstream.kv-chunk-tokens", defaultValue = "64") int kvChunkTokens,
                          @ConfigProperty(name = "splitstream.max-queued-tokens", defaultValue = "65536") int maxQueuedTokens,
                          @ConfigProperty(name = "splitstream.kv-push-timeout", defaultValue = "600s") Duration kvPushTimeout,
                          PrefillMetrics metrics, OpenTelemetry otel) {
        this.metrics = metrics;
        this.otel = otel;
        this.modelPath = modelPath;
        this.settings = new PrefillSettings(threads.orElse(Runtime.getRuntime().availableProcessors()), kvTokens,
                prefillChunkTokens, kvChunkTokens, maxQueuedTokens, kvPushTimeout);
    }

    void onStart(@Observes StartupEvent event) {
        Thread loader = new Thread(() -> {
            try {
                long t0 = System.nanoTime();
                PrefillEngine e = PrefillEngine.start(Path.of(modelPath), settings, otel);
                if (shuttingDown) {
                    e.close();
                    return;
                }
                engine = e;
                metrics.bind(e);
                LOG.infof("prefill model %s loaded in %.0f ms (%d threads, %d KV tokens, prefill chunk %d, KV chunk %d)",
                        modelPath, (System.nanoTime() - t0) / 1e6, settings.threads(), settings.kvTokens(),
                        settings.prefillChunkTokens(), settings.kvChunkTokens());
            } catch (Throwable t) {
                loadFailure = t;
                LOG.errorf(t, "cannot load model %s", modelPath);
            }
        }, "splitstream-model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        shuttingDown = true;
        PrefillEngine e = engine;
        if (e != null) {
            e.close();
        }
    }

    public boolean ready() {
        return engine != null && !shuttingDown;
    }

    public Throwable loadFailure() {
        return loadFailure;
    }

    public String modelPath() {
        return modelPath;
    }

    /** The engine, or UNAVAILABLE while the model is loading (or failed to load). */
    public PrefillEngine engine() {
        PrefillEngine e = engine;
        if (e == null || shuttingDown) {
            Throwable f = loadFailure;
            throw Status.UNAVAILABLE.withDescription(f != null ? "model " + modelPath + " failed to load: " + f.getMessage()
                    : shuttingDown ? "prefill instance is shutting down" : "model " + modelPath + " is loading")
                    .asRuntimeException();
        }
        return e;
    }
}
