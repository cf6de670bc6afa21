package io.splitstream.decode;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** Health: ready once the model is loaded; not live if loading failed (so an orchestrator restarts it). */
public final class EngineHealth {
    private EngineHealth() {
    }

    @Readiness
    @ApplicationScoped
    public static class ModelLoaded implements HealthCheck {
        private final EngineHolder holder;

        ModelLoaded(EngineHolder holder) {
            this.holder = holder;
        }

        @Override
        public HealthCheckResponse call() {
            var b = HealthCheckResponse.named("model-loaded").status(holder.ready());
            if (holder.ready()) {
                var e = holder.engine();
                b.withData("model", String.valueOf(e.model().path().getFileName()))
                        .withData("kv_blocks_free", e.cache().freeBlocks())
                        .withData("kv_blocks_total", e.cache().totalBlocks());
            } else if (holder.failed()) {
                b.withData("error", holder.loadError());
            }
            return b.build();
        }
    }

    @Liveness
    @ApplicationScoped
    public static class ModelNotFailed implements HealthCheck {
        private final EngineHolder holder;

        ModelNotFailed(EngineHolder holder) {
            this.holder = holder;
        }

        @Override
        public HealthCheckResponse call() {
            var b = HealthCheckResponse.named("model-load").status(!holder.failed());
            if (holder.failed()) {
                b.withData("error", holder.loadError());
            }
            return b.build();
        }
    }
}
