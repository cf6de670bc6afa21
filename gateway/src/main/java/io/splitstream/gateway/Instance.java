package io.splitstream.gateway;

import io.splitstream.proto.internal.v1.InstanceStatus;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One prefill or decode instance as the gateway sees it: its last Status, or why the last poll failed. Between polls the
 * gateway adds what it has sent there itself (prompt tokens queued at a prefill instance, KV blocks reserved at a
 * decode instance) so that a burst of requests within one poll interval does not all pick the same instance.
 */
public final class Instance {
    public enum Role {
        PREFILL, DECODE;

        public String label() {
            return this == PREFILL ? "prefill" : "decode";
        }
    }

    private final Role role;
    private final String address;
    private volatile InstanceStatus status;
    private volatile String lastError = "not polled yet";
    private final AtomicLong pendingTokens = new AtomicLong();
    private final AtomicLong pendingBlocks = new AtomicLong();
    private final AtomicLong inFlight = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean polling = new java.util.concurrent.atomic.AtomicBoolean();

    public Instance(Role role, String address) {
        this.role = role;
        this.address = address;
    }

    public Role role() {
        return role;
    }

    /** host:port */
    public String address() {
        return address;
    }

    /** "decode instance host:port", for error messages. */
    public String describe() {
        return role.label() + " instance " + address;
    }

    /** Healthy: the last Status call succeeded and said ready. */
    public boolean healthy() {
        InstanceStatus s = status;
        return s != null && s.getReady();
    }

    public InstanceStatus status() {
        return status;
    }

    /** Why the instance is not healthy, for UNAVAILABLE messages. */
    public String problem() {
        InstanceStatus s = status;
        if (s != null) {
            return s.getReady() ? "healthy" : "not ready";
        }
        return lastError;
    }

    /** Claims the next Status poll; false while one is still running. */
    boolean beginPoll() {
        return polling.compareAndSet(false, true);
    }

    void endPoll() {
        polling.set(false);
    }

    public void statusSucceeded(InstanceStatus s) {
        status = s;
        pendingTokens.set(0);
        pendingBlocks.set(0);
    }

    public void statusFailed(String error) {
        status = null;
        lastError = error;
    }

    /** Prompt tokens queued (last Status plus those sent since). */
    public long queuedPromptTokens() {
        InstanceStatus s = status;
        return (s == null ? 0 : Integer.toUnsignedLong(s.getQueuedPromptTokens())) + pendingTokens.get();
    }

    public long runningSequences() {
        InstanceStatus s = status;
        return (s == null ? 0 : Integer.toUnsignedLong(s.getRunningSequences())) + inFlight.get();
    }

    /** KV blocks free (last Status less those reserved since). */
    public long freeKvBlocks() {
        InstanceStatus s = status;
        return (s == null ? 0 : Integer.toUnsignedLong(s.getKvBlocksFree())) - pendingBlocks.get();
    }

    /** Blocks that hold this many tokens on this instance (one block per token when the instance did not say). */
    public long blocksFor(long tokens) {
        InstanceStatus s = status;
        int blockTokens = s == null || s.getKvBlockTokens() == 0 ? 1 : s.getKvBlockTokens();
        return (tokens + blockTokens - 1) / blockTokens;
    }

    public void addPending(long promptTokens, long kvBlocks) {
        pendingTokens.addAndGet(promptTokens);
        pendingBlocks.addAndGet(kvBlocks);
    }

    /** Counts a request running here between Status polls (for tie-breaks). */
    public void started() {
        inFlight.incrementAndGet();
    }

    public void finished() {
        inFlight.decrementAndGet();
    }

    @Override
    public String toString() {
        return describe();
    }
}
