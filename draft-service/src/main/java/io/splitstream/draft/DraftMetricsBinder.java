package io.splitstream.draft;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitstream.proto.internal.v1.DraftMode;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Locale;

/** The draft instance's {@code splitstream_draft_*} meters (see README, Draft service). */
@ApplicationScoped
public class DraftMetricsBinder implements DraftListener {
    private final MeterRegistry registry;
    private final DistributionSummary treeNodes;

    DraftMetricsBinder(MeterRegistry registry) {
        this.registry = registry;
        this.treeNodes = DistributionSummary.builder("splitstream.draft.tree.nodes")
                .description("Nodes of each draft tree sent").register(registry);
    }

    /** Registers a loaded model's gauges (Micrometer keeps a weak reference). */
    public void bind(DraftModel model) {
        Gauge.builder("splitstream.draft.recycler.bytes", model, m -> m.recycler().sizeBytes()).baseUnit("bytes")
                .description("Size of the model's Token Recycling table").tag("model", model.id()).register(registry);
        Gauge.builder("splitstream.draft.corpus.tokens", model, DraftModel::corpusTokens)
                .description("Tokens in the model's shared retrieval corpus").tag("model", model.id()).register(registry);
    }

    @Override
    public void sequenceOpened(DraftMode mode) {
        Counter.builder("splitstream.draft.sequences").description("Sequences opened, by drafting mode")
                .tag("mode", mode.name().substring("DRAFT_MODE_".length()).toLowerCase(Locale.ROOT))
                .register(registry).increment();
    }

    @Override
    public void treeSent(int nodes) {
        treeNodes.record(nodes);
    }

    @Override
    public void sequenceRefused(Status.Code code) {
        Counter.builder("splitstream.draft.refusals").description("Sequence messages refused, by gRPC status code")
                .tag("code", code.name()).register(registry).increment();
    }
}
