package io.splitstream.draft;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** Health: ready once the models are loaded; not live if loading failed (so an orchestrator restarts it). */
public final class DraftHealth {
    private DraftHealth() {
    }

    @Readiness
    @ApplicationScoped
    public static class ModelsLoaded implements HealthCheck {
        private final DraftHolder holder;

        ModelsLoaded(DraftHolder holder) {
            this.holder = holder;
        }

        @Override
        public HealthCheckResponse call() {
            var b = HealthCheckResponse.named("draft-models-loaded").status(holder.ready());
            if (holder.ready()) {
                for (DraftModel m : holder.models().all()) {
                    b.withData(m.id() + ".recycler_bytes", m.recycler().sizeBytes())
                            .withData(m.id() + ".corpus_tokens", m.corpusTokens());
                }
            } else if (holder.failed()) {
                b.withData("error", holder.loadError());
            }
            return b.build();
        }
    }

    @Liveness
    @ApplicationScoped
    public static class ModelsNotFailed implements HealthCheck {
        private final DraftHolder holder;

        ModelsNotFailed(DraftHolder holder) {
            this.holder = holder;
        }

        @Override
        public HealthCheckResponse call() {
            var b = HealthCheckResponse.named("draft-models-load").status(!holder.failed());
            if (holder.failed()) {
                b.withData("error", holder.loadError());
            }
            return b.build();
        }
    }
}
