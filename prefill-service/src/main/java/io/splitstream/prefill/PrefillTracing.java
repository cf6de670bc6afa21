package io.splitstream.prefill;

import static io.splitstream.service.TraceAttributes.*;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.splitstream.proto.internal.v1.KvEncoding;
import io.splitstream.proto.internal.v1.PrefillReply;
import io.splitstream.proto.internal.v1.PrefillRequest;
import java.util.concurrent.CancellationException;

/**
 * The spans of prompts in the scheduler (README, Traces): queue wait, one span per computed chunk, and the KV transfer,
 * all children of the context the request arrived with (the engine thread never carries it).
 */
final class PrefillTracing {
    static final PrefillTracing NONE = new PrefillTracing(OpenTelemetry.noop());

    private final Tracer tracer;

    PrefillTracing(OpenTelemetry otel) {
        this.tracer = otel.getTracer(SCOPE);
    }

    /** Starts a prompt's trace: its queue span begins now. */
    Prompt admit(Context parent, PrefillRequest r) {
        return new Prompt(parent, tracer.spanBuilder(PREFILL_QUEUE).setParent(parent)
                .setAttribute(REQUEST_ID, r.getRequestId())
                .setAttribute(PROMPT_TOKENS, (long) r.getPromptTokensCount()).startSpan());
    }

    /**
     * One prompt's spans. The engine thread starts and ends them; {@link #finished} may run on a transport thread or
     * a cancelling caller, so span ends are guarded.
     */
    final class Prompt {
        private final Context parent;
        private Span queue;
        private Span transfer;

        private Prompt(Context parent, Span queue) {
            this.parent = parent;
            this.queue = queue;
        }

        /** The prompt left the queue (KV reserved): ends the queue span. */
        synchronized void started() {
            end(queue);
            queue = null;
        }

        /** Starts the KV transfer span and returns its context, to parent the push call. */
        synchronized Context transferStarted(String target, KvEncoding encoding) {
            transfer = tracer.spanBuilder(KV_TRANSFER).setParent(parent)
                    .setAttribute(KV_TARGET, target)
                    .setAttribute(KV_ENCODING, encoding.name())
                    .startSpan();
            return parent.with(transfer);
        }

        /** A chunk of this prompt about to be computed in a step of {@code stepSequences} prompts; end it after. */
        Span chunk(int from, int tokens, boolean last, int stepSequences, int layers) {
            return tracer.spanBuilder(PREFILL_CHUNK).setParent(parent)
                    .setAttribute(CHUNK_FROM, (long) from)
                    .setAttribute(CHUNK_TOKENS, (long) tokens)
                    .setAttribute(CHUNK_LAST, last)
                    .setAttribute(STEP_SEQUENCES, (long) stepSequences)
                    .setAttribute(LAYERS, (long) layers)
                    .startSpan();
        }

        /** The prompt's result: ends what is still open, with the transfer's figures or the failure. */
        synchronized void finished(PrefillReply reply, Throwable failure) {
            for (Span s : new Span[] {queue, transfer}) {
                if (s == null) {
                    continue;
                }
                if (reply != null && s == transfer) {
                    s.setAttribute(KV_BYTES, reply.getKvBytes())
                            .setAttribute(KV_CHUNKS, (long) reply.getKvChunks())
                            .setAttribute(KV_HIDDEN_FRACTION, reply.getKvTransferHiddenFraction())
                            .setAttribute(KV_TRANSFER_MS, reply.getKvTransferMs());
                } else if (failure instanceof CancellationException) {
                    s.setAttribute(OUTCOME, "cancelled");
                } else if (failure != null) {
                    fail(s, failure);
                }
                s.end();
            }
            queue = null;
            transfer = null;
        }

        private static void end(Span s) {
            if (s != null) {
                s.end();
            }
        }
    }
}
