package io.splitstream.decode;

import io.grpc.netty.NettyChannelBuilder;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.spec.DrafterFactory;
import io.splitstream.engine.spec.LocalDrafterFactory;
import io.splitstream.service.draft.RemoteDrafterFactory;
import io.splitstream.service.draft.RemoteDrafts;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the batcher's {@link DrafterFactory} from {@code splitstream.decode.speculation.drafter}: {@code local}
 * drafts in process (one Token Recycling table for the model, a retrieval index per request), {@code remote}
 * drafts through the draft service at {@code splitstream.decode.speculation.draft-target} (one stream for all
 * sequences, each draft awaited at most {@code draft-wait}), {@code none} serves every request plainly (its stats
 * then say mode {@code off}).
 */
final class SpeculationDrafters {
    static final String LOCAL = "local";
    static final String REMOTE = "remote";
    static final String NONE = "none";
    static final List<String> NAMES = List.of(LOCAL, REMOTE, NONE);
    static final Duration DEFAULT_DRAFT_WAIT = Duration.ofMillis(2);

    /**
     * Validated drafter configuration.
     *
     * @param kind        {@link #LOCAL}, {@link #REMOTE} or {@link #NONE}
     * @param draftTarget host:port of the draft service (required for {@link #REMOTE}, refused otherwise)
     * @param draftWait   how long a step waits for a remote draft at most
     */
    record Settings(String kind, Optional<String> draftTarget, Duration draftWait) {
        static final Settings IN_PROCESS = new Settings(LOCAL, Optional.empty(), DEFAULT_DRAFT_WAIT);

        Settings {
            if (!NAMES.contains(kind)) {
                throw new IllegalArgumentException("splitstream.decode.speculation.drafter must be one of " + NAMES
                        + ", got '" + kind + "'");
            }
            if (kind.equals(REMOTE)) {
                String target = draftTarget.orElseThrow(() -> new IllegalArgumentException(
                        "splitstream.decode.speculation.drafter=remote needs splitstream.decode.speculation.draft-target"
                                + "=host:port (the draft service's gRPC address)"));
                checkHostPort(target);
            } else if (draftTarget.isPresent()) {
                throw new IllegalArgumentException("splitstream.decode.speculation.draft-target is set but drafter is '"
                        + kind + "': set splitstream.decode.speculation.drafter=remote to draft through it");
            }
            if (draftWait.isNegative() || draftWait.isZero() || draftWait.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("splitstream.decode.speculation.draft-wait must be in (0, 1s], got "
                        + draftWait);
            }
        }

        private static void checkHostPort(String target) {
            int colon = target.lastIndexOf(':');
            int port = -1;
            if (colon > 0) {
                try {
                    port = Integer.parseInt(target.substring(colon + 1));
                } catch (NumberFormatException e) {
                    port = -1;
                }
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("splitstream.decode.speculation.draft-target must be host:port, got '"
                        + target + "'");
            }
        }
    }

    /** The factory the batcher drafts with, and what closing the engine must close (nothing for in-process drafting). */
    record Drafters(DrafterFactory factory, AutoCloseable connection) {
    }

    private SpeculationDrafters() {
    }

    static Drafters create(Settings settings, Model model) {
        int vocabulary = model.config().vocabularySize();
        return switch (settings.kind()) {
            case LOCAL -> new Drafters(new LocalDrafterFactory(vocabulary), () -> { });
            case REMOTE -> {
                RemoteDrafterFactory remote = new RemoteDrafterFactory(
                        NettyChannelBuilder.forTarget(settings.draftTarget().orElseThrow()).usePlaintext().build(),
                        RemoteDrafts.Options.defaults(vocabulary).withDraftWait(settings.draftWait()));
                yield new Drafters(remote, remote);
            }
            default -> new Drafters(DrafterFactory.NONE, () -> { });
        };
    }
}
