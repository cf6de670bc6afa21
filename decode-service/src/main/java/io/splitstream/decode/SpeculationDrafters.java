package io.splitstream.decode;

import io.splitstream.engine.model.Model;
import io.splitstream.engine.spec.DrafterFactory;
import io.splitstream.engine.spec.LocalDrafterFactory;
import java.util.List;

/**
 * Chooses the batcher's {@link DrafterFactory} from {@code splitstream.decode.speculation.drafter}: {@code local}
 * drafts in process (one Token Recycling table for the model, a retrieval index per request), {@code none} serves
 * every request plainly (its stats then say mode {@code off}). A remote drafter is one more case here.
 */
final class SpeculationDrafters {
    static final String LOCAL = "local";
    static final String NONE = "none";
    static final List<String> NAMES = List.of(LOCAL, NONE);

    private SpeculationDrafters() {
    }

    static void check(String name) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("splitstream.decode.speculation.drafter must be one of " + NAMES + ", got '"
                    + name + "'");
        }
    }

    static DrafterFactory create(String name, Model model) {
        check(name);
        return switch (name) {
            case LOCAL -> new LocalDrafterFactory(model.config().vocabularySize());
            default -> DrafterFactory.NONE;
        };
    }
}
