package io.splitstream.engine.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} options; unknown or malformed options fail with a usage message. */
public final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final Set<String> used = new HashSet<>();

    public Args(List<String> args, Set<String> flagNames) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            int eq = name.indexOf('=');
            if (eq >= 0) {
                values.put(name.substring(0, eq), name.substring(eq + 1));
            } else if (flagNames.contains(name)) {
                flags.add(name);
            } else if (i + 1 < args.size()) {
                values.put(name, args.get(++i));
            } else {
                throw new UsageException("option --" + name + " needs a value");
            }
        }
    }

    public String string(String name, String fallback) {
        used.add(name);
        return values.getOrDefault(name, fallback);
    }

    public String required(String name) {
        String v = string(name, null);
        if (v == null) {
            throw new UsageException("missing --" + name);
        }
        return v;
    }

    public int integer(String name, int fallback) {
        String v = string(name, null);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    public long longValue(String name, long fallback) {
        String v = string(name, null);
        try {
            return v == null ? fallback : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    public float real(String name, float fallback) {
        String v = string(name, null);
        try {
            return v == null ? fallback : Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + v + "'");
        }
    }

    public boolean flag(String name) {
        used.add(name);
        return flags.contains(name);
    }

    /** Fails on options the command did not read, so typos are not silently ignored. */
    public void checkAllUsed() {
        for (String k : values.keySet()) {
            if (!used.contains(k)) {
                throw new UsageException("unknown option --" + k);
            }
        }
        for (String k : flags) {
            if (!used.contains(k)) {
                throw new UsageException("unknown option --" + k);
            }
        }
    }

    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }
}
