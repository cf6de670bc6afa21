package io.splitstream.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI response shapes for one request, fed with the gateway's chunks: SSE frames when streaming
 * ({@code text_completion} / {@code chat.completion.chunk}, then {@code data: [DONE]}), or one JSON object
 * ({@code text_completion} / {@code chat.completion}) with usage. Not thread-safe: one per request.
 */
public final class OpenAiResponses {
    public static final String DONE = "data: [DONE]\n\n";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String id;
    private final String model;
    private final long created;
    private final boolean chat;
    private final boolean includeUsage;
    private final StringBuilder text = new StringBuilder();
    private io.splitstream.proto.v1.SpeculationStats speculation;
    private boolean roleSent;
    private int completionTokens;
    private int promptTokens;
    private String finishReason;

    public OpenAiResponses(String id, String model, long createdEpochSeconds, boolean chat, boolean includeUsage,
            int promptTokens) {
        this.id = id;
        this.model = model;
        this.created = createdEpochSeconds;
        this.chat = chat;
        this.includeUsage = includeUsage;
        this.promptTokens = promptTokens;
    }

    /** One Server-Sent Events frame. */
    public static String frame(String json) {
        return "data: " + json + "\n\n";
    }

    /** The SSE frames for a chunk (possibly none). */
    public List<String> frames(GenerateChunk chunk) {
        List<String> out = new ArrayList<>();
        count(chunk);
        if (chat && !roleSent) {
            roleSent = true;
            ObjectNode delta = JSON.createObjectNode().put("role", "assistant").put("content", "");
            out.add(frame(write(streamChunk(delta, null, null))));
        }
        if (!chunk.getText().isEmpty()) {
            out.add(frame(write(chat
                    ? streamChunk(JSON.createObjectNode().put("content", chunk.getText()), null, null)
                    : streamChunk(null, chunk.getText(), null))));
        }
        if (chunk.hasFinal()) {
            ObjectNode last = chat ? streamChunk(JSON.createObjectNode(), null, finishReason) : streamChunk(null, "", finishReason);
            addSpeculation(last);
            out.add(frame(write(last)));
            if (includeUsage) {
                ObjectNode u = base(chat ? "chat.completion.chunk" : "text_completion");
                u.putArray("choices");
                u.set("usage", usage());
                out.add(frame(write(u)));
            }
            out.add(DONE);
        }
        return out;
    }

    /** Adds a chunk to the complete (non-streaming) response. */
    public void accumulate(GenerateChunk chunk) {
        count(chunk);
        text.append(chunk.getText());
    }

    /** The complete response once the last chunk was accumulated. */
    public String complete() {
        ObjectNode root = base(chat ? "chat.completion" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            choice.putObject("message").put("role", "assistant").put("content", text.toString());
        } else {
            choice.put("text", text.toString());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        root.set("usage", usage());
        addSpeculation(root);
        return write(root);
    }

    /** Splitstream's extension: what speculative decoding did, when the decode instance reported it. */
    private void addSpeculation(ObjectNode root) {
        if (speculation != null) {
            root.putObject("speculation")
                    .put("mode", speculation.getMode())
                    .put("steps", speculation.getSteps())
                    .put("drafted", speculation.getDrafted())
                    .put("accepted", speculation.getAccepted())
                    .put("mean_accepted_per_step", speculation.getMeanAcceptedPerStep());
        }
    }

    private void count(GenerateChunk chunk) {
        completionTokens += chunk.getTokenIdsCount();
        if (chunk.hasFinal()) {
            finishReason = finishReason(chunk.getFinal().getFinishReason());
            if (chunk.getFinal().hasSpeculation()) {
                speculation = chunk.getFinal().getSpeculation();
            }
            if (chunk.getFinal().hasUsage()) {
                promptTokens = chunk.getFinal().getUsage().getPromptTokens();
                completionTokens = chunk.getFinal().getUsage().getCompletionTokens();
            }
        }
    }

    static String finishReason(FinishReason r) {
        return r == FinishReason.FINISH_REASON_LENGTH ? "length" : "stop";
    }

    private ObjectNode base(String object) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private ObjectNode streamChunk(ObjectNode delta, String text, String finish) {
        ObjectNode root = base(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            choice.set("delta", delta);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        if (includeUsage) {
            root.putNull("usage");
        }
        return root;
    }

    private ObjectNode usage() {
        return JSON.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }

    static String write(Object node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An error as OpenAI sends it, with its HTTP status. */
    public record Error(int httpStatus, String json) {
    }

    /**
     * 400 for bad input (INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION), 429 for RESOURCE_EXHAUSTED, 503 for
     * UNAVAILABLE, 500 otherwise (504 would be more exact for DEADLINE_EXCEEDED; OpenAI clients treat both as retryable).
     */
    public static Error error(Throwable t) {
        if (t instanceof OpenAiException e) {
            return error(e.httpStatus(), e.getMessage(), e.type(), e.param(), e.code());
        }
        if (t instanceof IllegalArgumentException) {
            return error(400, t.getMessage(), "invalid_request_error", null, null);
        }
        Status s = Status.fromThrowable(t);
        String message = s.getDescription() != null ? s.getDescription()
                : s.getCode() == Status.Code.UNKNOWN && t.getMessage() != null ? t.getMessage() : s.getCode().toString();
        String code = s.getCode().name().toLowerCase(java.util.Locale.ROOT);
        return switch (s.getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> error(400, message, "invalid_request_error", null, code);
            case RESOURCE_EXHAUSTED -> error(429, message, "rate_limit_error", null, code);
            case UNAVAILABLE -> error(503, message, "service_unavailable_error", null, code);
            default -> error(500, message, "server_error", null, code);
        };
    }

    public static Error error(int status, String message, String type, String param, String code) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", message);
        e.put("type", type);
        if (param == null) {
            e.putNull("param");
        } else {
            e.put("param", param);
        }
        if (code == null) {
            e.putNull("code");
        } else {
            e.put("code", code);
        }
        return new Error(status, write(root));
    }

    /** A list-of-models response with the one model this gateway serves. */
    public static String models(String model, long created) {
        ObjectNode root = JSON.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        data.addObject().put("id", model).put("object", "model").put("created", created).put("owned_by", "splitstream");
        return write(root);
    }
}
