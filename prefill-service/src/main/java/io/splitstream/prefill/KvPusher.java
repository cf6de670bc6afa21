package io.splitstream.prefill;

import io.splitstream.proto.internal.v1.KvChunk;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvPushReply;
import java.util.concurrent.CompletableFuture;

/** Opens KV transfers to decode instances. */
public interface KvPusher extends AutoCloseable {

    /** Starts a push to {@code target} (host:port) and queues its header; never blocks. */
    Session open(String target, KvHeader header);

    @Override
    void close();

    /** One client-streaming KvTransfer.Push call. Methods never block; sends are queued and flow-controlled. */
    interface Session {
        /** Queues an encoded chunk. Ignored once the session has failed. */
        void send(KvChunk chunk);

        /** Queues the trailer and half-closes; the result completes with the decode instance's reply. */
        void finish();

        /**
         * Completes with the reply, or exceptionally with a {@link io.grpc.StatusRuntimeException} whose description
         * starts "KV push to &lt;target&gt; failed: ". Completes early (exceptionally) if the call fails mid-way.
         */
        CompletableFuture<KvPushReply> result();

        /** Cancels the call (the prompt was abandoned). */
        void cancel(String reason);

        int chunksSent();

        long bytesSent();

        /** When the first chunk was handed to the transport, {@code System.nanoTime()}; 0 if none yet. */
        long firstChunkSentNanos();
    }
}
