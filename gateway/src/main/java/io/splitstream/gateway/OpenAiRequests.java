package io.splitstream.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.engine.spec.Speculation;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.SpeculationParameters;
import io.splitstream.proto.v1.TokenIds;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns OpenAI completion and chat completion request bodies into {@link GenerateRequest}s.
 *
 * <p>Mapped: prompt (a string, one string in an array, or token ids), messages (rendered with the model's chat
 * template), max_tokens / max_completion_tokens, temperature, top_p, seed, stop (string or array),
 * presence_penalty, frequency_penalty, n (must be 1), stream, stream_options.include_usage, and the llama.cpp /
 * vLLM extensions top_k, min_p, repetition_penalty, ignore_eos, and Splitstream's {@code speculation} (a mode string
 * or {@code {"mode": "...", "max_tree_nodes": N}}). logprobs, echo, suffix and best_of &gt; 1 are refused.
 */
public final class OpenAiRequests {
    /** A parsed request: what to generate and how to answer. */
    public record Call(GenerateRequest request, boolean chat, boolean stream, boolean includeUsage) {
    }

    private final ModelInfo model;
    private final Optional<ChatTemplate> template;

    public OpenAiRequests(ModelInfo model) {
        this.model = model;
        this.template = model.chatTemplate().map(ChatTemplate::new);
    }

    public Call completion(JsonNode body) {
        requireObject(body);
        GenerateRequest.Builder r = common(body);
        JsonNode prompt = body.get("prompt");
        if (prompt == null || prompt.isNull()) {
            throw OpenAiException.badRequest("'prompt' is required", "prompt");
        }
        if (prompt.isTextual()) {
            r.setPrompt(prompt.asText());
        } else if (prompt.isArray()) {
            if (prompt.isEmpty()) {
                throw OpenAiException.badRequest("'prompt' is empty", "prompt");
            }
            if (prompt.get(0).isTextual() || prompt.get(0).isArray()) {
                if (prompt.size() != 1 || (prompt.get(0).isArray() && !allTokens(prompt.get(0)))) {
                    throw OpenAiException.badRequest("only one prompt per request is supported", "prompt");
                }
                if (prompt.get(0).isTextual()) {
                    r.setPrompt(prompt.get(0).asText());
                } else {
                    r.setPromptTokens(tokens(prompt.get(0)));
                }
            } else if (allTokens(prompt)) {
                r.setPromptTokens(tokens(prompt));
            } else {
                throw OpenAiException.badRequest("'prompt' must be a string, an array of one string or token ids", "prompt");
            }
        } else {
            throw OpenAiException.badRequest("'prompt' must be a string, an array of one string or token ids", "prompt");
        }
        if (body.path("echo").asBoolean(false)) {
            throw OpenAiException.badRequest("'echo' is not supported", "echo");
        }
        if (body.hasNonNull("suffix")) {
            throw OpenAiException.badRequest("'suffix' is not supported", "suffix");
        }
        if (body.hasNonNull("best_of") && body.get("best_of").asInt() != 1) {
            throw OpenAiException.badRequest("'best_of' must be 1", "best_of");
        }
        return new Call(r.build(), false, stream(body), includeUsage(body));
    }

    public Call chat(JsonNode body) {
        requireObject(body);
        GenerateRequest.Builder r = common(body);
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw OpenAiException.badRequest("'messages' must be a non-empty array", "messages");
        }
        List<ChatTemplate.Message> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw OpenAiException.badRequest(param + " needs a string 'role'", param + ".role");
            }
            list.add(new ChatTemplate.Message(m.get("role").asText(), content(m.get("content"), param + ".content")));
        }
        ChatTemplate t = template.orElseThrow(() -> OpenAiException.badRequest("model " + model.name()
                + " has no chat template (tokenizer.chat_template); use /v1/completions or set splitstream.chat-template",
                "messages"));
        String prompt;
        try {
            prompt = t.render(list, true, model.tokenText(model.tokenizer().bosId()), model.tokenText(model.tokenizer().eosId()));
        } catch (IllegalArgumentException e) {
            throw OpenAiException.badRequest(e.getMessage(), "messages");
        }
        r.setPromptTokens(tokens(chatTokens(prompt)));
        return new Call(r.build(), true, stream(body), includeUsage(body));
    }

    /** Tokenizes a rendered chat prompt: special tokens written in it are parsed; BOS is added unless already there. */
    int[] chatTokens(String rendered) {
        int bos = model.tokenizer().bosId();
        String bosText = model.tokenText(bos);
        boolean hasBos = bos >= 0 && !bosText.isEmpty() && rendered.startsWith(bosText);
        return model.tokenizer().encode(rendered, !hasBos, true);
    }

    private static String content(JsonNode c, String param) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw OpenAiException.badRequest("only text content parts are supported", param);
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw OpenAiException.badRequest(param + " must be a string or an array of text parts", param);
    }

    private static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw OpenAiException.badRequest("the request body must be a JSON object", null);
        }
    }

    private GenerateRequest.Builder common(JsonNode body) {
        GenerateRequest.Builder r = GenerateRequest.newBuilder();
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.asLong() == 1)) {
            throw OpenAiException.badRequest("'n' must be 1", "n");
        }
        JsonNode logprobs = body.get("logprobs");
        if (logprobs != null && !logprobs.isNull() && !(logprobs.isBoolean() && !logprobs.asBoolean())
                && !(logprobs.isIntegralNumber() && logprobs.asLong() == 0)) {
            throw OpenAiException.badRequest("'logprobs' is not supported over the HTTP API (use the gRPC API)", "logprobs");
        }
        String maxKey = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        JsonNode max = body.get(maxKey);
        if (max != null && !max.isNull()) {
            if (!max.isIntegralNumber() || max.asLong() < 1 || max.asLong() > Integer.MAX_VALUE) {
                throw OpenAiException.badRequest("'" + maxKey + "' must be a positive integer", maxKey);
            }
            r.setMaxTokens((int) max.asLong());
        }
        SamplingParameters.Builder s = SamplingParameters.newBuilder();
        number(body, "temperature").ifPresent(v -> s.setTemperature(v.floatValue()));
        number(body, "top_p").ifPresent(v -> s.setTopP(v.floatValue()));
        number(body, "min_p").ifPresent(v -> s.setMinP(v.floatValue()));
        number(body, "presence_penalty").ifPresent(v -> s.setPresencePenalty(v.floatValue()));
        number(body, "frequency_penalty").ifPresent(v -> s.setFrequencyPenalty(v.floatValue()));
        number(body, "repetition_penalty").ifPresent(v -> s.setRepetitionPenalty(v.floatValue()));
        integer(body, "top_k").ifPresent(v -> {
            // llama.cpp and vLLM use -1 or 0 for "off"
            s.setTopK(v <= 0 ? 0 : (int) Math.min(v, Integer.MAX_VALUE));
        });
        integer(body, "seed").ifPresent(s::setSeed);
        r.setSampling(s);
        JsonNode stop = body.get("stop");
        if (stop != null && !stop.isNull()) {
            if (stop.isTextual()) {
                r.addStop(stop.asText());
            } else if (stop.isArray()) {
                for (JsonNode x : stop) {
                    if (!x.isTextual()) {
                        throw OpenAiException.badRequest("'stop' must be a string or an array of strings", "stop");
                    }
                    r.addStop(x.asText());
                }
            } else {
                throw OpenAiException.badRequest("'stop' must be a string or an array of strings", "stop");
            }
        }
        JsonNode ignoreEos = body.get("ignore_eos");
        if (ignoreEos != null && !ignoreEos.isNull()) {
            if (!ignoreEos.isBoolean()) {
                throw OpenAiException.badRequest("'ignore_eos' must be a boolean", "ignore_eos");
            }
            r.setIgnoreEos(ignoreEos.asBoolean());
        }
        JsonNode speculation = body.get("speculation");
        if (speculation != null && !speculation.isNull()) {
            r.setSpeculation(speculation(speculation));
        }
        return r;
    }

    /** {@code "hybrid"} or {@code {"mode": "hybrid", "max_tree_nodes": 32}}, checked here so errors name the JSON field. */
    private static SpeculationParameters speculation(JsonNode node) {
        SpeculationParameters.Builder b = SpeculationParameters.newBuilder();
        if (node.isTextual()) {
            b.setMode(node.asText());
        } else if (node.isObject()) {
            JsonNode mode = node.get("mode");
            if (mode != null && !mode.isNull()) {
                if (!mode.isTextual()) {
                    throw OpenAiException.badRequest("'speculation.mode' must be a string", "speculation.mode");
                }
                b.setMode(mode.asText());
            }
            JsonNode nodes = node.get("max_tree_nodes");
            if (nodes != null && !nodes.isNull()) {
                if (!nodes.isIntegralNumber() || nodes.asLong() < 1 || nodes.asLong() > Speculation.LIMIT_TREE_NODES) {
                    throw OpenAiException.badRequest("'speculation.max_tree_nodes' must be an integer in 1.."
                            + Speculation.LIMIT_TREE_NODES, "speculation.max_tree_nodes");
                }
                b.setMaxTreeNodes((int) nodes.asLong());
            }
            for (var names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!name.equals("mode") && !name.equals("max_tree_nodes")) {
                    throw OpenAiException.badRequest("unknown field 'speculation." + name + "' (mode, max_tree_nodes)",
                            "speculation." + name);
                }
            }
        } else {
            throw OpenAiException.badRequest("'speculation' must be a mode string or an object {\"mode\", \"max_tree_nodes\"}",
                    "speculation");
        }
        try {
            SpeculationMode.parse(b.getMode(), SpeculationMode.OFF);
        } catch (IllegalArgumentException e) {
            throw OpenAiException.badRequest(e.getMessage(), "speculation.mode");
        }
        return b.build();
    }

    private static Optional<Double> number(JsonNode body, String key) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw OpenAiException.badRequest("'" + key + "' must be a number", key);
        }
        return Optional.of(v.asDouble());
    }

    private static Optional<Long> integer(JsonNode body, String key) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw OpenAiException.badRequest("'" + key + "' must be an integer", key);
        }
        return Optional.of(v.asLong());
    }

    private static boolean stream(JsonNode body) {
        JsonNode s = body.get("stream");
        if (s != null && !s.isNull() && !s.isBoolean()) {
            throw OpenAiException.badRequest("'stream' must be a boolean", "stream");
        }
        return s != null && s.asBoolean(false);
    }

    private static boolean includeUsage(JsonNode body) {
        return body.path("stream_options").path("include_usage").asBoolean(false);
    }

    private static boolean allTokens(JsonNode array) {
        for (JsonNode x : array) {
            if (!x.isIntegralNumber() || x.asLong() < 0 || x.asLong() > 0xFFFFFFFFL) {
                return false;
            }
        }
        return true;
    }

    private static TokenIds tokens(JsonNode array) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (JsonNode x : array) {
            b.addIds((int) x.asLong());
        }
        return b.build();
    }

    private static TokenIds tokens(int[] ids) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int id : ids) {
            b.addIds(id);
        }
        return b.build();
    }
}
