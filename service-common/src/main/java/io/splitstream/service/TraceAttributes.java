package io.splitstream.service;

import static io.opentelemetry.api.common.AttributeKey.booleanKey;
import static io.opentelemetry.api.common.AttributeKey.doubleKey;
import static io.opentelemetry.api.common.AttributeKey.longKey;
import static io.opentelemetry.api.common.AttributeKey.stringKey;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;

/**
 * Splitstream's own span names and attributes, one {@code splitstream.*} scheme for every service (README, Traces).
 * Counts are longs, durations milliseconds, fractions 0..1.
 */
public final class TraceAttributes {
    /** Instrumentation scope of Splitstream's manual spans. */
    public static final String SCOPE = "io.splitstream";

    // span names
    public static final String GATEWAY_GENERATE = "splitstream.gateway.generate";
    public static final String PREFILL_QUEUE = "splitstream.prefill.queue";
    public static final String PREFILL_CHUNK = "splitstream.prefill.chunk";
    public static final String KV_TRANSFER = "splitstream.kv.transfer";
    public static final String DECODE_GENERATE = "splitstream.decode.generate";
    /** Event on {@link #DECODE_GENERATE}, stamped when the batcher admitted the sequence. */
    public static final String DECODE_ADMITTED = "splitstream.decode.admitted";

    // request
    public static final AttributeKey<String> REQUEST_ID = stringKey("splitstream.request_id");
    /** {@code split} or {@code colocated}. */
    public static final AttributeKey<String> MODE = stringKey("splitstream.mode");
    public static final AttributeKey<Long> PROMPT_TOKENS = longKey("splitstream.prompt_tokens");
    public static final AttributeKey<Long> MAX_TOKENS = longKey("splitstream.max_tokens");
    public static final AttributeKey<Long> COMPLETION_TOKENS = longKey("splitstream.completion_tokens");
    /** {@code stop}, {@code length}, {@code cancelled}, {@code error}. */
    public static final AttributeKey<String> OUTCOME = stringKey("splitstream.outcome");
    public static final AttributeKey<Double> QUEUE_MS = doubleKey("splitstream.queue_ms");
    public static final AttributeKey<Double> TTFT_MS = doubleKey("splitstream.ttft_ms");

    // prefill chunks
    public static final AttributeKey<Long> CHUNK_FROM = longKey("splitstream.prefill.from_position");
    public static final AttributeKey<Long> CHUNK_TOKENS = longKey("splitstream.prefill.tokens");
    public static final AttributeKey<Boolean> CHUNK_LAST = booleanKey("splitstream.prefill.last_chunk");
    /** Prompts computed together in the chunk's forward step. */
    public static final AttributeKey<Long> STEP_SEQUENCES = longKey("splitstream.prefill.step_sequences");
    public static final AttributeKey<Long> LAYERS = longKey("splitstream.model.layers");

    // KV transfer
    public static final AttributeKey<Long> KV_BYTES = longKey("splitstream.kv.bytes");
    public static final AttributeKey<Long> KV_CHUNKS = longKey("splitstream.kv.chunks");
    /** Share of the transfer (first chunk sent to acknowledgement) that overlapped prompt computation. */
    public static final AttributeKey<Double> KV_HIDDEN_FRACTION = doubleKey("splitstream.kv.hidden_fraction");
    public static final AttributeKey<Double> KV_TRANSFER_MS = doubleKey("splitstream.kv.transfer_ms");
    public static final AttributeKey<String> KV_ENCODING = stringKey("splitstream.kv.encoding");
    /** The decode instance (host:port) the KV goes to. */
    public static final AttributeKey<String> KV_TARGET = stringKey("splitstream.kv.target");

    // decode
    public static final AttributeKey<Long> DECODE_STEPS = longKey("splitstream.decode.steps");
    /** The speculation mode that ran ({@code off} when the request decoded plainly). */
    public static final AttributeKey<String> SPECULATION_MODE = stringKey("splitstream.speculation.mode");
    /** Draft nodes verified. */
    public static final AttributeKey<Long> SPECULATION_DRAFTED = longKey("splitstream.speculation.drafted");
    /** Draft tokens accepted. */
    public static final AttributeKey<Long> SPECULATION_ACCEPTED = longKey("splitstream.speculation.accepted");

    private TraceAttributes() {
    }

    /** Marks a span failed with the error's message (the exception is recorded as an event). */
    public static void fail(Span span, Throwable t) {
        span.setAttribute(OUTCOME, "error");
        span.recordException(t);
        span.setStatus(StatusCode.ERROR, String.valueOf(t.getMessage()));
    }
}
