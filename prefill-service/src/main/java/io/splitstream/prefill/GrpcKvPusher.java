package io.splitstream.prefill;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.opentelemetry.api.OpenTelemetry;
import io.splitstream.proto.internal.v1.KvChunk;
import io.splitstream.proto.internal.v1.KvHeader;
import io.splitstream.proto.internal.v1.KvMessage;
import io.splitstream.proto.internal.v1.KvPushReply;
import io.splitstream.proto.internal.v1.KvTrailer;
import io.splitstream.proto.internal.v1.KvTransferGrpc;
import io.splitstream.service.TracingClientInterceptor;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Pushes KV state over plain grpc-java (Netty, plaintext) channels, one cached channel per decode target.
 * Messages are queued and written only while the call {@linkplain ClientCallStreamObserver#isReady is ready}, the
 * rest on the transport's on-ready callback, so the transport's buffers stay bounded and the engine thread never
 * blocks. The queue itself holds at most one prompt's KV (the size of the cache it was exported from). A push is a
 * client span of the trace context current when it is opened.
 */
public final class GrpcKvPusher implements KvPusher {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final Duration timeout;
    private final TracingClientInterceptor tracing;
    private volatile boolean closed;

    public GrpcKvPusher(Duration timeout) {
        this(timeout, OpenTelemetry.noop());
    }

    public GrpcKvPusher(Duration timeout, OpenTelemetry otel) {
        this.timeout = timeout;
        this.tracing = new TracingClientInterceptor(otel);
    }

    @Override
    public Session open(String target, KvHeader header) {
        if (closed) {
            throw new IllegalStateException("KV pusher is closed");
        }
        ManagedChannel channel = channels.computeIfAbsent(target,
                t -> NettyChannelBuilder.forTarget(t).usePlaintext().maxInboundMessageSize(16 << 20).build());
        GrpcSession session = new GrpcSession(target);
        session.enqueue(KvMessage.newBuilder().setHeader(header).build());
        KvTransferGrpc.newStub(ClientInterceptors.intercept(channel, tracing)).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).push(session);
        session.drain();
        return session;
    }

    @Override
    public void close() {
        closed = true;
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
        }
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        channels.clear();
    }

    static StatusRuntimeException failure(String target, Throwable t) {
        Status s = Status.fromThrowable(t);
        String detail = s.getDescription() != null ? s.getDescription() : s.getCode().name();
        return s.withDescription("KV push to " + target + " failed: " + detail).withCause(t).asRuntimeException();
    }

    private static final class GrpcSession implements Session, ClientResponseObserver<KvMessage, KvPushReply> {
        private final String target;
        private final CompletableFuture<KvPushReply> result = new CompletableFuture<>();
        private final ArrayDeque<KvMessage> queue = new ArrayDeque<>();
        private ClientCallStreamObserver<KvMessage> requests;
        private boolean finishing;
        private boolean halfClosed;
        private int chunks;
        private long bytes;
        private volatile long firstChunkSentNanos;
        private KvPushReply reply;

        GrpcSession(String target) {
            this.target = target;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<KvMessage> requestStream) {
            synchronized (this) {
                this.requests = requestStream;
            }
            requestStream.setOnReadyHandler(this::drain);
        }

        synchronized void enqueue(KvMessage m) {
            queue.add(m);
        }

        @Override
        public void send(KvChunk chunk) {
            synchronized (this) {
                if (result.isDone() || finishing) {
                    return;
                }
                chunks++;
                bytes += chunk.getKeys().size() + chunk.getValues().size();
                queue.add(KvMessage.newBuilder().setChunk(chunk).build());
            }
            drain();
        }

        @Override
        public void finish() {
            synchronized (this) {
                if (finishing) {
                    return;
                }
                finishing = true;
                queue.add(KvMessage.newBuilder().setTrailer(KvTrailer.newBuilder().setChunks(chunks).setBytes(bytes)).build());
            }
            drain();
        }

        /** Writes what the transport accepts now; called by senders and by the on-ready callback. */
        synchronized void drain() {
            if (requests == null || halfClosed || result.isDone()) {
                return;
            }
            KvMessage m;
            while (requests.isReady() && (m = queue.poll()) != null) {
                if (m.hasChunk() && firstChunkSentNanos == 0) {
                    firstChunkSentNanos = System.nanoTime();
                }
                requests.onNext(m);
            }
            if (finishing && queue.isEmpty()) {
                halfClosed = true;
                requests.onCompleted();
            }
        }

        @Override
        public void cancel(String reason) {
            ClientCallStreamObserver<KvMessage> r;
            synchronized (this) {
                queue.clear();
                r = halfClosed ? null : requests;
                halfClosed = true;
            }
            result.completeExceptionally(Status.CANCELLED.withDescription(reason).asRuntimeException());
            if (r != null) {
                r.cancel(reason, null);
            }
        }

        @Override
        public void onNext(KvPushReply value) {
            synchronized (this) {
                reply = value;
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (this) {
                queue.clear();
            }
            result.completeExceptionally(failure(target, t));
        }

        @Override
        public void onCompleted() {
            KvPushReply r;
            synchronized (this) {
                r = reply;
            }
            if (r == null) {
                result.completeExceptionally(failure(target,
                        Status.INTERNAL.withDescription("the decode instance closed the push without a reply").asRuntimeException()));
            } else {
                result.complete(r);
            }
        }

        @Override
        public CompletableFuture<KvPushReply> result() {
            return result;
        }

        @Override
        public synchronized int chunksSent() {
            return chunks;
        }

        @Override
        public synchronized long bytesSent() {
            return bytes;
        }

        @Override
        public long firstChunkSentNanos() {
            return firstChunkSentNanos;
        }
    }
}
