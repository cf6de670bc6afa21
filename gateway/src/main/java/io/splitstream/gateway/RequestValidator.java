package io.splitstream.gateway;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.engine.spec.SpeculationMode;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.service.Protocol;
import java.util.UUID;

/**
 * Checks a {@link GenerateRequest} against the model and the gateway's limits before any instance is contacted.
 *
 * <p>Length policy: a prompt longer than max-prompt-tokens (default: context length - 1) is refused with
 * INVALID_ARGUMENT (as vLLM does), and so is a max_tokens above max-output-tokens. A max_tokens that is allowed
 * but does not fit in the context left after the prompt is clamped to that space (as llama-server does); the
 * generation then ends with finish reason LENGTH at the end of the context.
 */
public final class RequestValidator {
    public static final int MAX_STOP_STRINGS = 4;
    public static final int MAX_LOGPROBS = 20;

    private final ModelInfo model;
    private final GatewayConfig config;

    public RequestValidator(ModelInfo model, GatewayConfig config) {
        this.model = model;
        this.config = config;
    }

    /** The longest prompt accepted. */
    public int maxPromptTokens() {
        int limit = model.contextLength() - 1;
        return config.maxPromptTokens() > 0 ? Math.min(config.maxPromptTokens(), limit) : limit;
    }

    /**
     * @throws StatusRuntimeException INVALID_ARGUMENT with a message naming the field
     */
    public ValidatedRequest validate(GenerateRequest r) {
        int[] prompt = switch (r.getInputCase()) {
            case PROMPT -> model.tokenizer().encode(r.getPrompt(), true, false);
            case PROMPT_TOKENS -> r.getPromptTokens().getIdsList().stream().mapToInt(Integer::intValue).toArray();
            case INPUT_NOT_SET -> throw invalid("prompt or prompt_tokens is required");
        };
        if (prompt.length == 0) {
            throw invalid("the prompt is empty");
        }
        int vocab = model.tokenizer().vocabularySize();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw invalid("prompt_tokens[" + i + "] = " + Integer.toUnsignedString(prompt[i])
                        + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        int maxPrompt = maxPromptTokens();
        if (prompt.length > maxPrompt) {
            throw invalid("the prompt has " + prompt.length + " tokens, more than the " + maxPrompt + " allowed (context length "
                    + model.contextLength() + ")");
        }
        long asked = Integer.toUnsignedLong(r.getMaxTokens());
        if (asked > config.maxOutputTokens()) {
            throw invalid("max_tokens " + asked + " exceeds the limit of " + config.maxOutputTokens());
        }
        int maxTokens = asked == 0 ? config.defaultMaxTokens() : (int) asked;
        int room = model.contextLength() - prompt.length;
        boolean clamped = maxTokens > room;
        if (clamped) {
            maxTokens = room;
        }
        if (r.getStopCount() > MAX_STOP_STRINGS) {
            throw invalid("at most " + MAX_STOP_STRINGS + " stop strings are allowed, got " + r.getStopCount());
        }
        for (int i = 0; i < r.getStopCount(); i++) {
            if (r.getStop(i).isEmpty()) {
                throw invalid("stop[" + i + "] is empty");
            }
        }
        if (Integer.toUnsignedLong(r.getLogprobs()) > MAX_LOGPROBS) {
            throw invalid("logprobs " + Integer.toUnsignedString(r.getLogprobs()) + " exceeds the limit of " + MAX_LOGPROBS);
        }
        if (r.getLogprobs() > 0) {
            // Refused rather than silently answered without them: the decode instances do not return logprobs yet.
            throw invalid("logprobs are not supported yet (request logprobs = 0)");
        }
        SamplingParameters sampling = r.getSampling();
        try {
            Protocol.sampling(sampling, 0L);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        GatewayConfig.Mode mode = switch (r.getMode()) {
            case MODE_DEFAULT -> config.mode();
            case MODE_SPLIT -> GatewayConfig.Mode.SPLIT;
            case MODE_COLOCATED -> GatewayConfig.Mode.COLOCATED;
            case UNRECOGNIZED -> throw invalid("unknown mode " + r.getModeValue());
        };
        try {
            Protocol.speculation(r.getSpeculation(), SpeculationMode.OFF);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        String id = r.getRequestId().isEmpty() ? UUID.randomUUID().toString() : r.getRequestId();
        return new ValidatedRequest(id, prompt, sampling, maxTokens, clamped, r.getStopList(), r.getIgnoreEos(),
                r.getLogprobs(), mode, r.getSpeculation());
    }

    static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
