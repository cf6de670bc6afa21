package io.splitstream.gateway;

import io.splitstream.proto.internal.v1.KvEncoding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The gateway's settings, free of Quarkus so that the logic can be tested as plain Java.
 *
 * @param prefillInstances host:port of each prefill instance (may be empty: colocated only)
 * @param decodeInstances  host:port of each decode instance
 * @param mode             the default mode when a request asks for none
 * @param maxPromptTokens  longest prompt accepted; 0 means the model's context length - 1
 * @param maxOutputTokens  largest max_tokens a request may ask for
 * @param defaultMaxTokens max_tokens when a request leaves it at 0
 * @param statusInterval   how often each instance's Status is polled
 * @param kvEncoding       the KV encoding prefill instances are asked to use
 */
public record GatewayConfig(List<String> prefillInstances, List<String> decodeInstances, Mode mode,
        int maxPromptTokens, int maxOutputTokens, int defaultMaxTokens, Duration statusInterval, KvEncoding kvEncoding) {

    public enum Mode {
        SPLIT, COLOCATED;

        public static Mode parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "split" -> SPLIT;
                case "colocated" -> COLOCATED;
                default -> throw new IllegalArgumentException("splitstream.mode must be split or colocated, not '" + s + "'");
            };
        }
    }

    public GatewayConfig {
        prefillInstances = List.copyOf(prefillInstances);
        decodeInstances = List.copyOf(decodeInstances);
        if (maxOutputTokens < 1 || defaultMaxTokens < 1 || maxPromptTokens < 0) {
            throw new IllegalArgumentException("token limits must be positive");
        }
        if (statusInterval.isNegative() || statusInterval.isZero()) {
            throw new IllegalArgumentException("splitstream.status-interval must be positive");
        }
    }

    /** Splits "a:1, b:2" into its host:port entries, checking each has a port. */
    public static List<String> instances(String key, String commaList) {
        List<String> out = new ArrayList<>();
        if (commaList == null) {
            return out;
        }
        for (String part : commaList.split(",")) {
            String s = part.trim();
            if (s.isEmpty()) {
                continue;
            }
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || colon == s.length() - 1) {
                throw new IllegalArgumentException(key + ": '" + s + "' is not host:port");
            }
            try {
                int port = Integer.parseInt(s.substring(colon + 1));
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": '" + s + "' has no valid port");
            }
            out.add(s);
        }
        return out;
    }

    public static KvEncoding kvEncoding(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "f32" -> KvEncoding.KV_ENCODING_F32;
            case "q8" -> KvEncoding.KV_ENCODING_Q8;
            default -> throw new IllegalArgumentException("splitstream.kv-encoding must be f32 or q8, not '" + s + "'");
        };
    }
}
