package io.splitstream.service.draft;

import io.grpc.ManagedChannel;
import io.splitstream.engine.spec.Drafter;
import io.splitstream.engine.spec.DrafterFactory;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.proto.internal.v1.DraftMode;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A batcher's {@link DrafterFactory} drafting through one draft service: every speculating sequence gets a
 * {@link RemoteDrafter} on the same {@link RemoteDrafts} stream. The request's mode is forwarded ({@code auto}
 * as {@code hybrid}, the mode it drafts in; {@code rag} is served by the service's RAPID drafter). Owns the
 * channel: {@link #close} ends the stream and shuts the channel down.
 */
public final class RemoteDrafterFactory implements DrafterFactory, AutoCloseable {
    private final ManagedChannel channel;
    private final RemoteDrafts drafts;

    public RemoteDrafterFactory(ManagedChannel channel, RemoteDrafts.Options options) {
        this.channel = channel;
        this.drafts = new RemoteDrafts(channel, options);
    }

    @Override
    public Drafter create(SpeculationMode mode, int maxTreeNodes) {
        return drafts.newDrafter(draftMode(mode), maxTreeNodes, List.of());
    }

    /** The wire mode drafting for a request of {@code mode}. */
    public static DraftMode draftMode(SpeculationMode mode) {
        return switch (mode) {
            case OFF -> throw new IllegalArgumentException("no drafter for speculation mode off");
            case RECYCLING -> DraftMode.DRAFT_MODE_RECYCLING;
            case RETRIEVAL -> DraftMode.DRAFT_MODE_RETRIEVAL;
            case HYBRID, AUTO -> DraftMode.DRAFT_MODE_HYBRID;
            case RAG -> DraftMode.DRAFT_MODE_RAG;
        };
    }

    @Override
    public void close() {
        drafts.close();
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
