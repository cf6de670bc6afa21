package io.splitstream.decode;

import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Owns the {@link DecodeEngine}: loads the model off the startup thread (readiness stays DOWN until it is loaded),
 * expires unused reservations on a schedule and frees everything at shutdown.
 */
@ApplicationScoped
public class EngineHolder {
    private static final Logger LOG = Logger.getLogger(EngineHolder.class);

    private final DecodeConfig config;
    private final CompletableFuture<DecodeEngine> engine = new CompletableFuture<>();
    private volatile ScheduledExecutorService reaper;
    private volatile String address;

    private final DecodeMetricsBinder metrics;
    private final DecodeTracing tracing;

    EngineHolder(DecodeConfig config, DecodeMetricsBinder metrics, OpenTelemetry otel) {
        this.config = config;
        this.metrics = metrics;
        this.tracing = new DecodeTracing(otel);
    }

    void onStart(@Observes StartupEvent event) {
        DecodeSettings settings = config.settings();
        Thread.ofPlatform().name("splitstream-model-loader").daemon().start(() -> {
            long t0 = System.nanoTime();
            try {
                DecodeEngine e = DecodeEngine.start(settings, this::instanceAddress, metrics, tracing);
                metrics.bind(e);
                LOG.infof("Loaded %s in %.0f ms: %d KV blocks of %d tokens (%s), %d threads, context %d", settings.model(),
                        (System.nanoTime() - t0) / 1e6, e.cache().totalBlocks(), e.cache().blockTokens(),
                        settings.kvPrecision(), settings.threads(), e.model().config().contextLength());
                settings.drafter().draftTarget().ifPresent(target -> LOG.infof(
                        "Speculating requests draft through the draft service at %s (each step waits at most %s)", target,
                        settings.drafter().draftWait()));
                engine.complete(e);
            } catch (Throwable t) {
                LOG.errorf(t, "Cannot load model %s", settings.model());
                engine.completeExceptionally(t);
            }
        });
        Duration timeout = settings.reservationTimeout();
        long periodMs = Math.max(50, Math.min(1000, timeout.toMillis() / 4));
        reaper = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("splitstream-reservation-reaper")
                .daemon().unstarted(r));
        reaper.scheduleWithFixedDelay(() -> {
            DecodeEngine e = engine.getNow(null);
            if (e != null) {
                try {
                    int n = e.expireReservations();
                    if (n > 0) {
                        LOG.infof("Released %d KV reservation(s) not used within %s", n, timeout);
                    }
                } catch (RuntimeException ex) {
                    LOG.warn("Reservation cleanup failed", ex);
                }
            }
        }, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    void onStop(@Observes ShutdownEvent event) {
        if (reaper != null) {
            reaper.shutdownNow();
        }
        DecodeEngine e = engine.getNow(null);
        if (e != null) {
            e.close();
        } else {
            engine.thenAccept(DecodeEngine::close);
        }
    }

    /** The loaded engine, or UNAVAILABLE while loading (or FAILED... if the load failed). */
    public DecodeEngine engine() {
        if (!engine.isDone()) {
            throw Status.UNAVAILABLE.withDescription("model " + config.model() + " is still loading").asRuntimeException();
        }
        if (engine.isCompletedExceptionally()) {
            throw Status.UNAVAILABLE.withDescription("model " + config.model() + " failed to load: " + loadError())
                    .asRuntimeException();
        }
        return engine.join();
    }

    public boolean ready() {
        return engine.isDone() && !engine.isCompletedExceptionally();
    }

    public boolean failed() {
        return engine.isCompletedExceptionally();
    }

    public String loadError() {
        try {
            engine.getNow(null);
            return null;
        } catch (Exception e) {
            return e.getCause() == null ? e.toString() : e.getCause().toString();
        }
    }

    /** Waits for the model (tests, tools). */
    public DecodeEngine await(Duration timeout) throws Exception {
        return engine.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** host:port of this instance's gRPC server, as reported in Final.decode_instance. */
    public String instanceAddress() {
        String a = address;
        if (a == null) {
            a = config.advertisedAddress().orElseGet(() -> {
                String host;
                try {
                    host = InetAddress.getLocalHost().getHostName();
                } catch (Exception e) {
                    host = "localhost";
                }
                String key = LaunchMode.current() == LaunchMode.TEST ? "quarkus.http.test-port" : "quarkus.http.port";
                int port = ConfigProvider.getConfig().getOptionalValue(key, Integer.class).orElse(8082);
                return host + ":" + port;
            });
            address = a;
        }
        return a;
    }
}
