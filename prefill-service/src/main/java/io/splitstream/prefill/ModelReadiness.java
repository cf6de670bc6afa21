package io.splitstream.prefill;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the model is loaded. */
@Readiness
@ApplicationScoped
public class ModelReadiness implements HealthCheck {
    private final PrefillRuntime runtime;

    public ModelReadiness(PrefillRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public HealthCheckResponse call() {
        var b = HealthCheckResponse.named("model").withData("path", runtime.modelPath());
        Throwable f = runtime.loadFailure();
        if (f != null) {
            b.withData("error", String.valueOf(f.getMessage()));
        }
        return b.status(runtime.ready()).build();
    }
}
