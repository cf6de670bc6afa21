package io.splitstream.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * POST /v1/completions and /v1/chat/completions on Vert.x routes, so that the status code can wait for the first
 * chunk (a request no instance can take answers 429/503 rather than a 200 stream carrying an error) and SSE frames
 * are written exactly. A client that disconnects cancels the generation.
 */
@ApplicationScoped
public class OpenAiRoutes {
    private static final Logger LOG = Logger.getLogger(OpenAiRoutes.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Inject
    Gateway gateway;

    void init(@Observes Router router) {
        BodyHandler body = BodyHandler.create().setBodyLimit(32L << 20);
        router.post("/v1/completions").handler(body).blockingHandler(ctx -> handle(ctx, false), false);
        router.post("/v1/chat/completions").handler(body).blockingHandler(ctx -> handle(ctx, true), false);
    }

    private void handle(RoutingContext ctx, boolean chat) {
        long arrival = System.nanoTime();
        HttpServerResponse response = ctx.response();
        OpenAiRequests.Call call;
        ValidatedRequest v;
        try {
            JsonNode body;
            try {
                body = MAPPER.readTree(ctx.body().asString());
            } catch (JsonProcessingException e) {
                throw OpenAiException.badRequest("the request body is not valid JSON: " + e.getOriginalMessage(), null);
            }
            call = chat ? gateway.openAi().chat(body) : gateway.openAi().completion(body);
            String requestId = ctx.request().getHeader("X-Request-Id");
            v = gateway.service().validator().validate(requestId == null ? call.request()
                    : call.request().toBuilder().setRequestId(requestId).build());
        } catch (RuntimeException e) {
            sendError(response, e);
            return;
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + v.requestId();
        OpenAiResponses out = new OpenAiResponses(id, gateway.model().name(), System.currentTimeMillis() / 1000, chat,
                call.includeUsage(), v.promptTokens().length);
        boolean stream = call.stream();
        AtomicBoolean started = new AtomicBoolean();
        AtomicReference<Cancellable> subscription = new AtomicReference<>();
        AtomicBoolean closed = new AtomicBoolean();
        response.closeHandler(x -> {
            closed.set(true);
            Cancellable c = subscription.get();
            if (c != null) {
                c.cancel();
            }
        });
        Cancellable c = gateway.service().generate(v, null, arrival).subscribe().with(
                chunk -> {
                    if (!stream) {
                        out.accumulate(chunk);
                        return;
                    }
                    if (started.compareAndSet(false, true)) {
                        startStream(response);
                    }
                    write(response, out.frames(chunk));
                },
                failure -> {
                    if (closed.get()) {
                        return;
                    }
                    if (started.get()) {
                        LOG.debugf("request %s failed after streaming began: %s", v.requestId(), failure.getMessage());
                        write(response, List.of(OpenAiResponses.frame(OpenAiResponses.error(failure).json()), OpenAiResponses.DONE));
                        end(response, null);
                    } else {
                        sendError(response, failure);
                    }
                },
                () -> {
                    if (closed.get()) {
                        return;
                    }
                    if (stream) {
                        if (started.compareAndSet(false, true)) {
                            startStream(response);
                        }
                        end(response, null);
                    } else {
                        response.setStatusCode(200).putHeader("Content-Type", "application/json");
                        end(response, out.complete());
                    }
                });
        subscription.set(c);
        if (closed.get()) {
            c.cancel();
        }
    }

    private static void startStream(HttpServerResponse response) {
        response.setStatusCode(200).setChunked(true)
                .putHeader("Content-Type", "text/event-stream")
                .putHeader("Cache-Control", "no-cache")
                .putHeader("X-Accel-Buffering", "no");
    }

    private static void write(HttpServerResponse response, List<String> frames) {
        if (frames.isEmpty() || response.ended() || response.closed()) {
            return;
        }
        response.write(String.join("", frames));
    }

    private static void end(HttpServerResponse response, String body) {
        if (response.ended() || response.closed()) {
            return;
        }
        if (body == null) {
            response.end();
        } else {
            response.end(body);
        }
    }

    static void sendError(HttpServerResponse response, Throwable t) {
        OpenAiResponses.Error e = OpenAiResponses.error(t);
        if (e.httpStatus() >= 500) {
            LOG.debugf(t, "answering %d", e.httpStatus());
        }
        if (response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(e.httpStatus()).putHeader("Content-Type", "application/json");
        response.end(e.json());
    }
}
