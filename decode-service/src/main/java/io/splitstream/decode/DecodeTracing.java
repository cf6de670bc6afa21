package io.splitstream.decode;

import static io.splitstream.service.TraceAttributes.*;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.splitstream.engine.generate.FinishReason;
import io.splitstream.engine.generate.GenerationListener;
import io.splitstream.proto.internal.v1.DecodeRequest;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** The decode span of each Generate (README, Traces), parented explicitly: the batcher thread never carries a context. */
public final class DecodeTracing {
    public static final DecodeTracing NONE = new DecodeTracing(OpenTelemetry.noop());

    private final Tracer tracer;

    public DecodeTracing(OpenTelemetry otel) {
        this.tracer = otel.getTracer(SCOPE);
    }

    /** Starts a request's decode span now, as a child of {@code parent}. */
    Generation start(Context parent, DecodeRequest r) {
        Instant start = Instant.now();
        Span span = tracer.spanBuilder(DECODE_GENERATE).setParent(parent).setStartTimestamp(start)
                .setAttribute(REQUEST_ID, r.getRequestId())
                .setAttribute(MODE, r.getTransferId().isEmpty() ? "colocated" : "split")
                .setAttribute(PROMPT_TOKENS, (long) r.getPromptTokensCount())
                .setAttribute(MAX_TOKENS, (long) r.getMaxTokens())
                .startSpan();
        return new Generation(span, start);
    }

    /** One request's span; exactly one of the terminal methods ends it (later calls are ignored). */
    static final class Generation {
        private final Span span;
        private final Instant start;
        private final AtomicBoolean ended = new AtomicBoolean();

        private Generation(Span span, Instant start) {
            this.span = span;
            this.start = start;
        }

        /**
         * The batcher finished the sequence: tokens, steps, queue wait (as an event when it was admitted), outcome,
         * speculation (mode; drafted and accepted when it drafted).
         */
        void finished(GenerationListener.Finish f) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            var t = f.timings();
            span.setAttribute(COMPLETION_TOKENS, (long) f.completionTokens())
                    .setAttribute(DECODE_STEPS, (long) f.steps())
                    .setAttribute(QUEUE_MS, t.queueMs())
                    .setAttribute(TTFT_MS, t.timeToFirstTokenMs())
                    .setAttribute(OUTCOME, f.reason().name().toLowerCase(Locale.ROOT))
                    .setAttribute(SPECULATION_MODE, f.speculation().mode().apiName());
            if (f.speculation().drafted() > 0) {
                span.setAttribute(SPECULATION_DRAFTED, f.speculation().drafted())
                        .setAttribute(SPECULATION_ACCEPTED, f.speculation().accepted());
            }
            span.addEvent(DECODE_ADMITTED, Attributes.of(QUEUE_MS, t.queueMs()),
                    TimeUnit.SECONDS.toNanos(start.getEpochSecond()) + start.getNano() + Math.round(t.queueMs() * 1e6),
                    TimeUnit.NANOSECONDS);
            if (f.reason() == FinishReason.ERROR) {
                span.setStatus(StatusCode.ERROR, String.valueOf(f.error()));
            }
            span.end();
        }

        /** The request failed before or while reaching the batcher. */
        void failed(Throwable t) {
            if (ended.compareAndSet(false, true)) {
                fail(span, t);
                span.end();
            }
        }

        /** The client went away before the batcher finished. */
        void cancelled() {
            if (ended.compareAndSet(false, true)) {
                span.setAttribute(OUTCOME, "cancelled");
                span.end();
            }
        }
    }
}
