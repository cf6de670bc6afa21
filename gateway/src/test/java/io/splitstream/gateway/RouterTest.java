package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.proto.internal.v1.InstanceStatus;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouterTest {
    private static Instance decode(String address, boolean ready, int free, int running) {
        Instance i = new Instance(Instance.Role.DECODE, address);
        i.statusSucceeded(InstanceStatus.newBuilder().setReady(ready).setKvBlocksFree(free).setKvBlocksTotal(1000)
                .setKvBlockTokens(16).setRunningSequences(running).build());
        return i;
    }

    private static Instance prefill(String address, int queued, int running) {
        Instance i = new Instance(Instance.Role.PREFILL, address);
        i.statusSucceeded(InstanceStatus.newBuilder().setReady(true).setQueuedPromptTokens(queued)
                .setRunningSequences(running).build());
        return i;
    }

    private static List<String> addresses(List<Instance> l) {
        return l.stream().map(Instance::address).toList();
    }

    @Test
    void decodeMostFreeBlocksFirstTiesByFewestRunning() {
        Instance a = decode("a:1", true, 100, 0);
        Instance b = decode("b:1", true, 300, 5);
        Instance c = decode("c:1", true, 300, 2);
        Instance d = decode("d:1", false, 900, 0);
        Instance e = new Instance(Instance.Role.DECODE, "e:1");
        e.statusFailed("UNAVAILABLE: connection refused");
        assertEquals(List.of("c:1", "b:1", "a:1"), addresses(Router.decodeCandidates(List.of(a, b, c, d, e))));
        assertEquals("not ready", d.problem());
        assertEquals("UNAVAILABLE: connection refused", e.problem());
    }

    @Test
    void reservationsBetweenPollsCountAgainstFreeBlocks() {
        Instance a = decode("a:1", true, 100, 0);
        Instance b = decode("b:1", true, 90, 0);
        assertEquals(3, a.blocksFor(33));
        a.addPending(0, a.blocksFor(16 * 20));
        assertEquals(80, a.freeKvBlocks());
        assertEquals(List.of("b:1", "a:1"), addresses(Router.decodeCandidates(List.of(a, b))));
        a.statusSucceeded(a.status()); // a fresh Status replaces the estimate
        assertEquals(100, a.freeKvBlocks());
    }

    @Test
    void prefillJoinShortestQueueTiesByFewestRunning() {
        Instance p1 = prefill("p1:1", 500, 0);
        Instance p2 = prefill("p2:1", 100, 3);
        Instance p3 = prefill("p3:1", 100, 1);
        assertEquals("p3:1", Router.choosePrefill(List.of(p1, p2, p3)).orElseThrow().address());
        p3.addPending(450, 0);
        assertEquals("p2:1", Router.choosePrefill(List.of(p1, p2, p3)).orElseThrow().address());
        p2.statusFailed("UNAVAILABLE");
        assertEquals("p1:1", Router.choosePrefill(List.of(p1, p2, p3)).orElseThrow().address());
    }

    @Test
    void splitFallsBackToColocatedWithoutAHealthyPrefillInstance() {
        Instance down = new Instance(Instance.Role.PREFILL, "p:1");
        Optional<Instance> none = Router.choosePrefill(List.of(down));
        assertTrue(none.isEmpty());
        assertEquals(GatewayConfig.Mode.COLOCATED, Router.effectiveMode(GatewayConfig.Mode.SPLIT, none));
        assertEquals(GatewayConfig.Mode.COLOCATED, Router.effectiveMode(GatewayConfig.Mode.COLOCATED, none));
        Optional<Instance> up = Optional.of(prefill("p:2", 0, 0));
        assertEquals(GatewayConfig.Mode.SPLIT, Router.effectiveMode(GatewayConfig.Mode.SPLIT, up));
        assertEquals(GatewayConfig.Mode.COLOCATED, Router.effectiveMode(GatewayConfig.Mode.COLOCATED, up));
    }
}
