package io.splitstream.decode;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.splitstream.engine.generate.FinishReason;
import io.splitstream.engine.generate.GenerationListener;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.engine.spec.SpeculationStats;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/** Micrometer side of {@link DecodeMetrics}: the decode instance's {@code splitstream_*} meters (see README, Metrics). */
@ApplicationScoped
public class DecodeMetricsBinder implements DecodeMetrics {
    private final Timer ttft;
    private final Timer betweenTokens;
    private final Timer duration;
    private final Timer queue;
    private final Counter tokens;
    private final Counter promptTokens;
    private final Counter kvImportBytes;
    private final MeterRegistry registry;
    private final Map<FinishReason, Counter> outcomes = new EnumMap<>(FinishReason.class);
    private final Map<SpeculationMode, Counter> drafted = new EnumMap<>(SpeculationMode.class);
    private final Map<SpeculationMode, Counter> accepted = new EnumMap<>(SpeculationMode.class);
    private final Map<SpeculationMode, DistributionSummary> acceptedPerStep = new EnumMap<>(SpeculationMode.class);

    DecodeMetricsBinder(MeterRegistry registry) {
        this.registry = registry;
        ttft = timer(registry, "splitstream.decode.ttft", "Time to first token inside the decode engine");
        betweenTokens = timer(registry, "splitstream.time.between.tokens", "Gap between consecutive tokens of a sequence");
        duration = timer(registry, "splitstream.request.duration", "Decode request duration, arrival to end");
        queue = timer(registry, "splitstream.queue", "Time a request waited in the batcher queue");
        tokens = Counter.builder("splitstream.tokens.generated").description("Tokens generated").register(registry);
        promptTokens = Counter.builder("splitstream.prompt.tokens").description("Prompt tokens of requests")
                .register(registry);
        kvImportBytes = Counter.builder("splitstream.kv.import.bytes").description("KV payload bytes imported from prefill")
                .register(registry);
        for (FinishReason r : FinishReason.values()) {
            outcomes.put(r, Counter.builder("splitstream.requests").description("Decode requests by outcome")
                    .tag("outcome", r.name().toLowerCase(java.util.Locale.ROOT)).register(registry));
        }
        for (SpeculationMode m : SpeculationMode.values()) {
            if (m != SpeculationMode.OFF) {
                drafted.put(m, Counter.builder("splitstream.speculation.drafted").description("Draft nodes verified")
                        .tag("drafter", m.apiName()).register(registry));
                accepted.put(m, Counter.builder("splitstream.speculation.accepted").description("Draft tokens accepted")
                        .tag("drafter", m.apiName()).register(registry));
                acceptedPerStep.put(m, DistributionSummary.builder("splitstream.speculation.accepted.per.step")
                        .description("Tokens emitted per decode step of a speculating request (1 = nothing accepted)")
                        .serviceLevelObjectives(1, 1.5, 2, 2.5, 3, 4, 5, 6, 8).tag("drafter", m.apiName()).register(registry));
            }
        }
    }

    static Timer timer(MeterRegistry registry, String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
    }

    /** Registers the gauges over a loaded engine (called once it is loaded; Micrometer keeps a weak reference). */
    public void bind(DecodeEngine engine) {
        gauge(engine, "splitstream.decode.running.sequences", "Sequences decoding", DecodeEngine::runningSequences);
        gauge(engine, "splitstream.decode.waiting.sequences", "Sequences waiting for a batch slot",
                DecodeEngine::waitingSequences);
        gauge(engine, "splitstream.kv.blocks.used", "KV cache blocks in use", e -> e.cache().usedBlocks());
        gauge(engine, "splitstream.kv.blocks.free", "KV cache blocks free", e -> e.cache().freeBlocks());
    }

    private void gauge(DecodeEngine engine, String name, String description, ToDoubleFunction<DecodeEngine> value) {
        Gauge.builder(name, engine, value).description(description).register(registry);
    }

    @Override
    public void requestStarted(int prompt) {
        promptTokens.increment(prompt);
    }

    @Override
    public void token(long gapNanos) {
        tokens.increment();
        if (gapNanos >= 0) {
            betweenTokens.record(gapNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void finished(GenerationListener.Finish f, long durationNanos) {
        outcomes.get(f.reason()).increment();
        SpeculationStats s = f.speculation();
        if (s.mode() != SpeculationMode.OFF && s.steps() > 0) {
            drafted.get(s.mode()).increment(s.drafted());
            accepted.get(s.mode()).increment(s.accepted());
            acceptedPerStep.get(s.mode()).record(s.meanAcceptedPerStep());
        }
        duration.record(durationNanos, TimeUnit.NANOSECONDS);
        if (f.timings() != null) {
            queue.record(Math.round(f.timings().queueMs() * 1e6), TimeUnit.NANOSECONDS);
            if (f.completionTokens() > 0) {
                ttft.record(Math.round(f.timings().timeToFirstTokenMs() * 1e6), TimeUnit.NANOSECONDS);
            }
        }
    }

    @Override
    public void rejected(long durationNanos) {
        outcomes.get(FinishReason.ERROR).increment();
        duration.record(durationNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void cancelled(long durationNanos) {
        outcomes.get(FinishReason.CANCELLED).increment();
        duration.record(durationNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void kvImported(long bytes) {
        kvImportBytes.increment(bytes);
    }
}
