package io.splitstream.engine.generate;

import java.util.List;

/**
 * Cuts generated text at the first stop string. Text that could still become a stop string is held back, so a
 * client never sees part of one.
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopStrings(List<String> stops) {
        for (String s : stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        this.stops = List.copyOf(stops);
    }

    /** Adds text; returns what may be emitted now. After a stop string is seen, returns "" forever. */
    public String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int cut = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int hold = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, pending.length()); len > hold; len--) {
                if (pending.toString().regionMatches(pending.length() - len, s, 0, len)) {
                    hold = len;
                    break;
                }
            }
        }
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** Text held back at the end of generation (it never became a stop string). */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    public boolean stopped() {
        return stopped;
    }
}
