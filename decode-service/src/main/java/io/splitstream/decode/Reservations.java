package io.splitstream.decode;

import io.grpc.Status;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvCacheFullException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * KV reservations granted by Decode.Reserve, keyed by transfer id. A reservation goes RESERVED → PUSHING (one
 * KvTransfer.Push at a time) → FILLED → claimed by Decode.Generate (which hands its sequence to the batcher).
 * A failed push, a reservation not pushed before its deadline, or a filled one not claimed within the timeout after
 * its push completed releases the KV blocks.
 */
public final class Reservations {

    public enum State { RESERVED, PUSHING, FILLED }

    /** One reservation; its monitor serializes imports into the sequence against release. */
    public static final class Reservation {
        final String transferId;
        final int sequence;
        final int tokens;
        long deadlineNanos;
        State state = State.RESERVED;
        int promptTokens;
        boolean released;

        Reservation(String transferId, int sequence, int tokens, long deadlineNanos) {
            this.transferId = transferId;
            this.sequence = sequence;
            this.tokens = tokens;
            this.deadlineNanos = deadlineNanos;
        }

        public String transferId() {
            return transferId;
        }

        public int sequence() {
            return sequence;
        }

        /** Positions reserved. */
        public int tokens() {
            return tokens;
        }

        public synchronized int promptTokens() {
            return promptTokens;
        }

        public synchronized boolean released() {
            return released;
        }
    }

    private final KvCache cache;
    private final Duration timeout;
    private final LongSupplier clock;
    private final Map<String, Reservation> byId = new ConcurrentHashMap<>();

    public Reservations(KvCache cache, Duration timeout) {
        this(cache, timeout, System::nanoTime);
    }

    Reservations(KvCache cache, Duration timeout, LongSupplier clock) {
        this.cache = cache;
        this.timeout = timeout;
        this.clock = clock;
    }

    /**
     * Reserves KV blocks for {@code tokens} positions of a new sequence.
     *
     * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT for 0 tokens, RESOURCE_EXHAUSTED when the blocks are not free
     */
    public Reservation reserve(int tokens) {
        if (tokens <= 0) {
            throw Status.INVALID_ARGUMENT.withDescription("tokens to reserve must be positive").asRuntimeException();
        }
        int seq = cache.newSequence();
        try {
            cache.reserve(seq, tokens);
        } catch (KvCacheFullException e) {
            cache.release(seq);
            throw Status.RESOURCE_EXHAUSTED.withDescription("cannot reserve KV for " + tokens + " tokens: " + e.getMessage())
                    .asRuntimeException();
        }
        String id = UUID.randomUUID().toString();
        Reservation r = new Reservation(id, seq, tokens, clock.getAsLong() + timeout.toNanos());
        byId.put(id, r);
        return r;
    }

    /**
     * Starts a push into a reservation.
     *
     * @throws io.grpc.StatusRuntimeException FAILED_PRECONDITION when unknown, expired or already pushed
     */
    public Reservation beginPush(String transferId) {
        Reservation r = lookup(transferId);
        synchronized (r) {
            checkLive(r);
            if (r.state != State.RESERVED) {
                throw Status.FAILED_PRECONDITION.withDescription("reservation '" + transferId + "' is already "
                        + (r.state == State.PUSHING ? "receiving a push" : "filled")).asRuntimeException();
            }
            r.state = State.PUSHING;
        }
        return r;
    }

    private Reservation lookup(String transferId) {
        Reservation r = transferId == null ? null : byId.get(transferId);
        if (r == null) {
            throw unknown(transferId);
        }
        return r;
    }

    /** Must hold the reservation's monitor. */
    private static void checkLive(Reservation r) {
        if (r.released) {
            throw unknown(r.transferId);
        }
    }

    /** Must hold the reservation's monitor. */
    private static void checkNotExpiredDuringPush(Reservation r) {
        if (r.released) {
            throw Status.FAILED_PRECONDITION.withDescription("reservation '" + r.transferId + "' expired during the push")
                    .asRuntimeException();
        }
    }

    private static io.grpc.StatusRuntimeException unknown(String transferId) {
        return Status.FAILED_PRECONDITION.withDescription("unknown or expired reservation '" + transferId + "'")
                .asRuntimeException();
    }

    /** Runs {@code work} on the reservation's sequence unless it was released meanwhile. */
    public void withSequence(Reservation r, Runnable work) {
        synchronized (r) {
            checkNotExpiredDuringPush(r);
            work.run();
        }
    }

    public void markFilled(Reservation r, int promptTokens) {
        synchronized (r) {
            checkNotExpiredDuringPush(r);
            r.state = State.FILLED;
            r.promptTokens = promptTokens;
            // The claim window starts now: a long prompt's push must not eat the time Generate has to arrive.
            r.deadlineNanos = clock.getAsLong() + timeout.toNanos();
        }
    }

    /**
     * Takes a filled reservation for generation: the caller owns its sequence from now on.
     *
     * @throws io.grpc.StatusRuntimeException FAILED_PRECONDITION when unknown, expired or not filled
     */
    public Reservation claim(String transferId) {
        Reservation r = lookup(transferId);
        synchronized (r) {
            checkLive(r);
            if (r.state != State.FILLED) {
                throw Status.FAILED_PRECONDITION.withDescription("reservation '" + transferId + "' has no complete KV push yet")
                        .asRuntimeException();
            }
            byId.remove(transferId, r);
            r.released = true; // no longer ours to release: the batcher owns the sequence
        }
        return r;
    }

    /** Frees a reservation's blocks now (failed push, shutdown). Idempotent. */
    public void release(Reservation r) {
        synchronized (r) {
            byId.remove(r.transferId, r);
            if (!r.released) {
                r.released = true;
                cache.release(r.sequence);
            }
        }
    }

    /** Releases reservations past their deadline; returns how many. */
    public int expire() {
        long now = clock.getAsLong();
        List<Reservation> due = new ArrayList<>();
        for (Reservation r : byId.values()) {
            // A push in progress is bounded by its own stream (its failure or cancellation releases the blocks);
            // expiring it mid-way would fail a slow but healthy prefill.
            boolean pushing;
            long deadline;
            synchronized (r) {
                pushing = r.state == State.PUSHING;
                deadline = r.deadlineNanos;
            }
            if (!pushing && now - deadline >= 0) {
                due.add(r);
            }
        }
        due.forEach(this::release);
        return due.size();
    }

    public void releaseAll() {
        new ArrayList<>(byId.values()).forEach(this::release);
    }

    public int size() {
        return byId.size();
    }
}
