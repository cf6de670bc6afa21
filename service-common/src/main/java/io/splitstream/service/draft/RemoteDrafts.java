package io.splitstream.service.draft;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.splitstream.proto.internal.v1.CloseSequence;
import io.splitstream.proto.internal.v1.Document;
import io.splitstream.proto.internal.v1.DraftGrpc;
import io.splitstream.proto.internal.v1.DraftMode;
import io.splitstream.proto.internal.v1.SpeculateRequest;
import io.splitstream.proto.internal.v1.SpeculateResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A decode instance's side of a draft service: one {@code Draft.Speculate} stream multiplexing its sequences, each
 * drafted for by a {@link RemoteDrafter}. Drafts are an optimization only: while the stream is down every drafter
 * returns empty trees (decode goes on one token per step), and the stream is reopened in the background; drafters
 * then open their sequence again with the text so far.
 */
public final class RemoteDrafts implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RemoteDrafts.class.getName());

    /**
     * @param modelId        the model on the draft service (empty: its only one)
     * @param vocabularySize the target's vocabulary: trees with other token ids are dropped, not verified
     * @param draftWait      how long {@link RemoteDrafter#draft} waits for the current step's tree at most
     * @param reconnectDelay pause before reopening a stream that ended
     */
    public record Options(String modelId, int vocabularySize, Duration draftWait, Duration reconnectDelay) {
        public static Options defaults(int vocabularySize) {
            return new Options("", vocabularySize, Duration.ofMillis(2), Duration.ofMillis(500));
        }

        public Options withDraftWait(Duration wait) {
            return new Options(modelId, vocabularySize, wait, reconnectDelay);
        }

        public Options withReconnectDelay(Duration delay) {
            return new Options(modelId, vocabularySize, draftWait, delay);
        }
    }

    private final ManagedChannel channel;
    private final DraftGrpc.DraftStub stub;
    private final Options options;
    private final ScheduledExecutorService reconnects = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("splitstream-draft-reconnect").daemon().unstarted(r));
    private final Map<Long, RemoteDrafter> drafters = new ConcurrentHashMap<>();
    private final AtomicLong sequenceIds = new AtomicLong();
    private volatile Stream stream;
    private volatile boolean closed;
    /** The loss of the stream was logged and no response has arrived since: further failed attempts log quietly. */
    private volatile boolean reportedDown;

    public RemoteDrafts(ManagedChannel channel, Options options) {
        this.channel = channel;
        this.stub = DraftGrpc.newStub(channel);
        this.options = options;
        connect();
    }

    /** A drafter for one new sequence; close it when the sequence ends. */
    public RemoteDrafter newDrafter(DraftMode mode, int maxNodes, List<Document> documents) {
        RemoteDrafter drafter = new RemoteDrafter(this, sequenceIds.incrementAndGet(), mode, maxNodes, documents);
        drafters.put(drafter.sequenceId(), drafter);
        return drafter;
    }

    Options options() {
        return options;
    }

    /** The open stream, or null while there is none. */
    Stream stream() {
        return stream;
    }

    void closeSequence(RemoteDrafter drafter, Stream on) {
        drafters.remove(drafter.sequenceId());
        if (on != null) {
            on.send(SpeculateRequest.newBuilder()
                    .setClose(CloseSequence.newBuilder().setSequenceId(drafter.sequenceId())).build());
        }
    }

    @Override
    public void close() {
        closed = true;
        reconnects.shutdownNow();
        Stream s = stream;
        stream = null;
        if (s != null) {
            s.end();
        }
    }

    private void connect() {
        if (closed) {
            return;
        }
        // The channel's own reconnect backoff grows to minutes while the service is down; this class paces the attempts.
        channel.resetConnectBackoff();
        Stream s = new Stream();
        // Published before the call starts, under its lock: a failure reported at once (even on this thread) then
        // finds it current and schedules the next attempt, and no send sees it without its request observer.
        synchronized (s) {
            stream = s;
            s.requests = stub.speculate(s);
        }
    }

    private void lost(Stream s, Throwable cause) {
        synchronized (this) {
            if (stream != s) {
                return;
            }
            stream = null;
        }
        if (closed) {
            return;
        }
        System.Logger.Level level = reportedDown ? System.Logger.Level.DEBUG : System.Logger.Level.INFO;
        reportedDown = true;
        LOG.log(level, "draft stream ended ({0}); drafts are empty until it is reopened (next attempt in {1} ms)",
                cause == null ? "completed" : cause.toString(), options.reconnectDelay().toMillis());
        try {
            reconnects.schedule(this::connect, options.reconnectDelay().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile: nothing to reconnect
        }
    }

    /** One Speculate call: requests are sent under its lock (a gRPC stream observer is not thread-safe). */
    final class Stream implements StreamObserver<SpeculateResponse> {
        private StreamObserver<SpeculateRequest> requests;
        private boolean ended;

        /** @return false when the stream has ended (the message is dropped) */
        synchronized boolean send(SpeculateRequest request) {
            if (ended) {
                return false;
            }
            try {
                requests.onNext(request);
                return true;
            } catch (RuntimeException e) {
                ended = true;
                lost(this, e);
                return false;
            }
        }

        synchronized void end() {
            if (!ended) {
                ended = true;
                requests.onCompleted();
            }
        }

        @Override
        public void onNext(SpeculateResponse response) {
            if (reportedDown) {
                reportedDown = false;
                LOG.log(System.Logger.Level.INFO, "draft stream reopened: drafting again");
            }
            RemoteDrafter drafter = drafters.get(response.getSequenceId());
            if (drafter != null) {
                drafter.received(this, response);
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (this) {
                ended = true;
            }
            lost(this, t);
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (!ended) {
                    ended = true;
                    requests.onCompleted();
                }
            }
            lost(this, null);
        }
    }
}
