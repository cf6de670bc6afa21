package io.splitstream.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.mutiny.Multi;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The gateway's {@code splitstream_*} meters (see README, Metrics): time to first chunk, request duration and
 * requests by mode and outcome. Recording happens in stream callbacks and never blocks.
 */
public final class GatewayMetrics {
    private final MeterRegistry registry;
    private final Timer ttft;
    private final Timer duration;

    public GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
        ttft = timer("splitstream.gateway.ttft", "Time from arrival to the first chunk relayed to the client");
        duration = timer("splitstream.gateway.request.duration", "Time from arrival to the end of the response stream");
    }

    /** Meters into a private registry (tests, tools). */
    public static GatewayMetrics none() {
        return new GatewayMetrics(new SimpleMeterRegistry());
    }

    private Timer timer(String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
    }

    /**
     * @param mode         the mode the request ran in, read when the stream ends (routing may change it)
     * @param arrivalNanos {@code System.nanoTime()} when the request arrived
     */
    public Multi<GenerateChunk> observe(Multi<GenerateChunk> stream, Supplier<String> mode, long arrivalNanos) {
        AtomicBoolean first = new AtomicBoolean(true);
        AtomicReference<String> outcome = new AtomicReference<>("stop");
        return stream.onItem().invoke(chunk -> {
            if (first.compareAndSet(true, false)) {
                ttft.record(System.nanoTime() - arrivalNanos, TimeUnit.NANOSECONDS);
            }
            if (chunk.hasFinal()) {
                outcome.set(outcome(chunk.getFinal().getFinishReason()));
            }
        }).onTermination().invoke((failure, cancelled) -> {
            duration.record(System.nanoTime() - arrivalNanos, TimeUnit.NANOSECONDS);
            String o = cancelled ? "cancelled" : failure != null ? "error" : outcome.get();
            Counter.builder("splitstream.gateway.requests").description("Gateway requests by mode and outcome")
                    .tag("mode", mode.get()).tag("outcome", o).register(registry).increment();
        });
    }

    static String outcome(FinishReason r) {
        return switch (r) {
            case FINISH_REASON_STOP -> "stop";
            case FINISH_REASON_LENGTH -> "length";
            case FINISH_REASON_CANCELLED -> "cancelled";
            default -> "error";
        };
    }

    static String mode(GatewayConfig.Mode m) {
        return m.name().toLowerCase(Locale.ROOT);
    }
}
