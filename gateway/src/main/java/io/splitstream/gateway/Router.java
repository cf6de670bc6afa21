package io.splitstream.gateway;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Instance choice, as pure functions of the instances' last known state. */
public final class Router {
    private Router() {
    }

    /** Most free KV blocks first; ties: fewest running sequences, then address. Only healthy instances. */
    static final Comparator<Instance> DECODE_ORDER = Comparator.comparingLong(Instance::freeKvBlocks).reversed()
            .thenComparingLong(Instance::runningSequences).thenComparing(Instance::address);

    /** Join-shortest-queue on queued prompt tokens; ties: fewest running sequences, then address. */
    static final Comparator<Instance> PREFILL_ORDER = Comparator.comparingLong(Instance::queuedPromptTokens)
            .thenComparingLong(Instance::runningSequences).thenComparing(Instance::address);

    /** Healthy decode instances in the order to try them. */
    public static List<Instance> decodeCandidates(List<Instance> decode) {
        return decode.stream().filter(Instance::healthy).sorted(DECODE_ORDER).toList();
    }

    /** The healthy prefill instance with the shortest queue, if any. */
    public static Optional<Instance> choosePrefill(List<Instance> prefill) {
        return prefill.stream().filter(Instance::healthy).min(PREFILL_ORDER);
    }

    /**
     * The mode a request runs in: split needs a healthy prefill instance; without one it falls back to colocated
     * (Splitwise's mixed pool: decode instances prefill too).
     */
    public static GatewayConfig.Mode effectiveMode(GatewayConfig.Mode asked, Optional<Instance> prefill) {
        return asked == GatewayConfig.Mode.SPLIT && prefill.isEmpty() ? GatewayConfig.Mode.COLOCATED : asked;
    }
}
