package io.splitstream.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The drafter configuration is checked at start, with a message naming the key to fix. */
class SpeculationDraftersTest {

    private static String refusal(String kind, Optional<String> target, Duration wait) {
        return assertThrows(IllegalArgumentException.class, () -> new SpeculationDrafters.Settings(kind, target, wait))
                .getMessage();
    }

    @Test
    void remoteDraftingNeedsAHostAndPortTarget() {
        Duration wait = SpeculationDrafters.DEFAULT_DRAFT_WAIT;
        assertEquals("splitstream.decode.speculation.drafter=remote needs splitstream.decode.speculation.draft-target"
                + "=host:port (the draft service's gRPC address)", refusal("remote", Optional.empty(), wait));
        assertEquals("splitstream.decode.speculation.draft-target must be host:port, got 'drafts'",
                refusal("remote", Optional.of("drafts"), wait));
        assertEquals("splitstream.decode.speculation.draft-target must be host:port, got 'drafts:99999'",
                refusal("remote", Optional.of("drafts:99999"), wait));
        assertEquals("remote", new SpeculationDrafters.Settings("remote", Optional.of("127.0.0.1:8083"), wait).kind());
    }

    @Test
    void aTargetWithoutRemoteDraftingAndBadKindsOrWaitsAreRefused() {
        Duration wait = SpeculationDrafters.DEFAULT_DRAFT_WAIT;
        assertEquals("splitstream.decode.speculation.draft-target is set but drafter is 'local': set "
                + "splitstream.decode.speculation.drafter=remote to draft through it",
                refusal("local", Optional.of("127.0.0.1:8083"), wait));
        assertEquals("splitstream.decode.speculation.drafter must be one of [local, remote, none], got 'far'",
                refusal("far", Optional.empty(), wait));
        assertEquals("splitstream.decode.speculation.draft-wait must be in (0, 1s], got PT0S",
                refusal("remote", Optional.of("127.0.0.1:8083"), Duration.ZERO));
    }
}
