package io.splitstream.decode;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvChunk;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.KvTrailer;
import io.splitstream.service.GrpcErrors;
import io.splitstream.service.KvChecksumException;
import io.splitstream.service.KvWire;
import io.splitstream.service.Protocol;
import java.util.BitSet;
import java.util.function.LongConsumer;

/**
 * One KvTransfer.Push: header, chunks, trailer, checked and imported into the reserved sequence. Not thread-safe:
 * messages arrive in order on one worker at a time. Any failure releases the reservation at once
 * ({@link #abort}).
 */
public final class KvImportSession {
    private final Reservations reservations;
    private final KvCache cache;
    private final boolean acceptOtherWeights;
    private Reservations.Reservation reservation;
    private KvHeader header;
    private BitSet[] covered;
    private int chunks;
    private long bytes;
    private boolean done;
    private final LongConsumer importedBytes;

    public KvImportSession(Reservations reservations, KvCache cache, boolean acceptOtherWeights) {
        this(reservations, cache, acceptOtherWeights, b -> {
        });
    }

    /** @param importedBytes told the payload bytes of each imported chunk (metrics) */
    public KvImportSession(Reservations reservations, KvCache cache, boolean acceptOtherWeights, LongConsumer importedBytes) {
        this.importedBytes = importedBytes;
        this.reservations = reservations;
        this.cache = cache;
        this.acceptOtherWeights = acceptOtherWeights;
    }

    /**
     * @throws StatusRuntimeException with the status the client should see (the reservation is then released)
     */
    public void accept(KvMessage message) {
        try {
            if (done) {
                throw invalid("KV message after the trailer");
            }
            switch (message.getKindCase()) {
                case HEADER -> header(message.getHeader());
                case CHUNK -> chunk(message.getChunk());
                case TRAILER -> trailer(message.getTrailer());
                default -> throw invalid("KV message without header, chunk or trailer");
            }
        } catch (RuntimeException e) {
            abort();
            throw status(e);
        }
    }

    /** Called when the client finished sending. */
    public KvPushReply complete() {
        if (!done) {
            abort();
            throw header == null ? invalid("empty KV push: the first message must be a header")
                    : invalid("KV push ended without a trailer");
        }
        return KvPushReply.newBuilder().setChunks(chunks).setBytes(bytes).build();
    }

    /** Releases the reservation unless the push completed. Idempotent. */
    public void abort() {
        if (reservation != null && !done) {
            reservations.release(reservation);
        }
    }

    private void header(KvHeader h) {
        if (header != null) {
            throw invalid("second KV header in one push");
        }
        // Unknown reservation first: a wrong transfer id must not touch anyone else's reservation.
        reservation = reservations.beginPush(h.getTransferId());
        header = h;
        if (!h.hasFingerprint()) {
            throw Status.FAILED_PRECONDITION.withDescription("KV header without a model fingerprint").asRuntimeException();
        }
        try {
            cache.checkFingerprint(Protocol.fingerprint(h.getFingerprint()), acceptOtherWeights);
        } catch (IllegalArgumentException e) {
            throw Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException();
        }
        int headDim = cache.kvDim() / cache.kvHeads();
        if (h.getLayers() != cache.layers() || h.getKvHeads() != cache.kvHeads() || h.getHeadDim() != headDim) {
            throw invalid("KV shapes (layers " + h.getLayers() + ", kv heads " + h.getKvHeads() + ", head dim " + h.getHeadDim()
                    + ") do not match this model (layers " + cache.layers() + ", kv heads " + cache.kvHeads() + ", head dim "
                    + headDim + ")");
        }
        if (h.getEncoding() != KvEncoding.KV_ENCODING_F32 && h.getEncoding() != KvEncoding.KV_ENCODING_Q8) {
            throw invalid("unknown KV encoding " + h.getEncodingValue());
        }
        if (h.getPromptTokens() == 0) {
            throw invalid("KV header with 0 prompt tokens");
        }
        if (h.getPromptTokens() > reservation.tokens()) {
            throw invalid("KV for " + h.getPromptTokens() + " prompt tokens does not fit the reservation of "
                    + reservation.tokens() + " tokens");
        }
        covered = new BitSet[cache.layers()];
        for (int l = 0; l < covered.length; l++) {
            covered[l] = new BitSet(h.getPromptTokens());
        }
    }

    private void chunk(io.splitstream.proto.internal.v1.KvChunk c) {
        if (header == null) {
            throw Status.FAILED_PRECONDITION.withDescription("the first KV message must be a header with a transfer id")
                    .asRuntimeException();
        }
        if (c.getLayer() >= cache.layers()) {
            throw invalid("KV chunk for layer " + c.getLayer() + " but the model has " + cache.layers());
        }
        if (c.getTokens() == 0 || (long) c.getFromPosition() + c.getTokens() > header.getPromptTokens()) {
            throw invalid("KV chunk positions [" + c.getFromPosition() + ", " + ((long) c.getFromPosition() + c.getTokens())
                    + ") outside the prompt of " + header.getPromptTokens() + " tokens");
        }
        KvChunk chunk = KvWire.decode(c, header.getEncoding(), cache.kvDim(), header.getHeadDim());
        reservations.withSequence(reservation, () -> cache.importChunk(reservation.sequence(), chunk));
        covered[c.getLayer()].set(c.getFromPosition(), c.getFromPosition() + c.getTokens());
        chunks++;
        long n = (long) c.getKeys().size() + c.getValues().size();
        bytes += n;
        importedBytes.accept(n);
    }

    private void trailer(KvTrailer t) {
        if (header == null) {
            throw Status.FAILED_PRECONDITION.withDescription("the first KV message must be a header with a transfer id")
                    .asRuntimeException();
        }
        if (t.getChunks() != chunks || t.getBytes() != bytes) {
            throw Status.DATA_LOSS.withDescription("KV trailer announces " + t.getChunks() + " chunks / " + t.getBytes()
                    + " bytes but " + chunks + " chunks / " + bytes + " bytes arrived").asRuntimeException();
        }
        for (int l = 0; l < covered.length; l++) {
            if (covered[l].cardinality() != header.getPromptTokens()) {
                throw Status.DATA_LOSS.withDescription("KV push covers " + covered[l].cardinality() + " of "
                        + header.getPromptTokens() + " prompt positions in layer " + l).asRuntimeException();
            }
        }
        reservations.markFilled(reservation, header.getPromptTokens());
        done = true;
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    private static StatusRuntimeException status(RuntimeException e) {
        if (e instanceof KvChecksumException) {
            return Status.DATA_LOSS.withDescription(e.getMessage()).asRuntimeException();
        }
        return GrpcErrors.toStatus(e);
    }
}
