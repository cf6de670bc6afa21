package io.splitstream.prefill;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.splitstream.proto.internal.v1.PrefillReply;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The prefill instance's {@code splitstream_*} meters (see README, Metrics). Recording is cheap and non-blocking. */
@ApplicationScoped
public class PrefillMetrics {
    private final MeterRegistry registry;
    private final Timer prefill;
    private final Timer transfer;
    private final Counter transferBytes;

    PrefillMetrics(MeterRegistry registry) {
        this.registry = registry;
        prefill = timer("splitstream.prefill", "Prompt computation time of a prefill");
        transfer = timer("splitstream.kv.transfer", "KV push time, first chunk sent to decode's acknowledgement");
        transferBytes = Counter.builder("splitstream.kv.transfer.bytes").description("KV payload bytes pushed to decode")
                .register(registry);
    }

    private Timer timer(String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
    }

    /** Registers the gauges over a loaded engine (Micrometer keeps a weak reference to it). */
    void bind(PrefillEngine engine) {
        Gauge.builder("splitstream.prefill.queued.prompt.tokens", engine, e -> e.scheduler().queuedPromptTokens())
                .description("Prompt tokens queued or computing").register(registry);
        Gauge.builder("splitstream.kv.blocks.used", engine, e -> e.scheduler().cache().usedBlocks())
                .description("KV cache blocks in use").register(registry);
        Gauge.builder("splitstream.kv.blocks.free", engine, e -> e.scheduler().cache().freeBlocks())
                .description("KV cache blocks free").register(registry);
    }

    /** A completed prefill (its timings come from the scheduler). */
    void record(PrefillReply reply) {
        prefill.record(Math.round(reply.getPrefillMs() * 1e6), TimeUnit.NANOSECONDS);
        transfer.record(Math.round(reply.getKvTransferMs() * 1e6), TimeUnit.NANOSECONDS);
        transferBytes.increment(reply.getKvBytes());
    }
}
