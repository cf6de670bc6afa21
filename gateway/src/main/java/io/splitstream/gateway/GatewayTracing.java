package io.splitstream.gateway;

import static io.splitstream.service.TraceAttributes.*;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.smallrye.mutiny.Multi;
import io.splitstream.proto.v1.GenerateChunk;
import java.util.function.Supplier;

/**
 * The gateway's span of each generation (README, Traces): a child of the API call's server span, parent of the calls to
 * prefill and decode instances. Ended when the response stream ends, whichever way.
 */
public final class GatewayTracing {
    private final Tracer tracer;

    public GatewayTracing(OpenTelemetry otel) {
        this.tracer = otel.getTracer(SCOPE);
    }

    /** Records nothing (tests, tools). */
    public static GatewayTracing none() {
        return new GatewayTracing(OpenTelemetry.noop());
    }

    /** Starts the request's span under {@code parent}. */
    Span start(Context parent, ValidatedRequest v) {
        return tracer.spanBuilder(GATEWAY_GENERATE).setParent(parent)
                .setAttribute(REQUEST_ID, v.requestId())
                .setAttribute(PROMPT_TOKENS, (long) v.promptTokens().length)
                .setAttribute(MAX_TOKENS, (long) v.maxTokens())
                .startSpan();
    }

    /**
     * Ends {@code span} with the stream: the mode it ran in (read at the end, routing may change it), completion tokens
     * and outcome from the final chunk, or the failure or cancellation.
     */
    Multi<GenerateChunk> observe(Multi<GenerateChunk> stream, Span span, Supplier<String> mode) {
        return stream.onItem().invoke(chunk -> {
            if (chunk.hasFinal()) {
                span.setAttribute(COMPLETION_TOKENS, (long) chunk.getFinal().getUsage().getCompletionTokens());
                span.setAttribute(OUTCOME, GatewayMetrics.outcome(chunk.getFinal().getFinishReason()));
            }
        }).onTermination().invoke((failure, cancelled) -> {
            span.setAttribute(MODE, mode.get());
            if (failure != null) {
                fail(span, failure);
            } else if (cancelled) {
                span.setAttribute(OUTCOME, "cancelled");
            }
            span.end();
        });
    }
}
