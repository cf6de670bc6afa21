package io.splitstream.gateway;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Renders a model's {@code tokenizer.chat_template} (Hugging Face Jinja) with Jinjava, configured as transformers
 * does: trim_blocks and lstrip_blocks on, {@code raise_exception(msg)} available, {@code messages},
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token} set.
 */
public final class ChatTemplate {
    /** A message as the template sees it: role and content (text). */
    public record Message(String role, String content) {
    }

    /** Thrown by {@code raise_exception} in a template: the conversation breaks the template's rules. */
    public static final class TemplateException extends RuntimeException {
        public TemplateException(String message) {
            super(message);
        }
    }

    private final String template;
    private final Jinjava jinjava;

    public ChatTemplate(String template) {
        this.template = template;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
    }

    public static String raiseException(String message) {
        throw new TemplateException(message);
    }

    public String source() {
        return template;
    }

    /**
     * @throws IllegalArgumentException when the template fails or refuses the conversation
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        Map<String, Object> context = new HashMap<>();
        context.put("messages", messages.stream().map(m -> {
            Map<String, Object> map = new HashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            return map;
        }).toList());
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (TemplateException e) {
            throw new IllegalArgumentException("chat template refused the messages: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("chat template failed: " + e.getMessage(), e);
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            Throwable cause = fatal.get(0).getException();
            while (cause != null && !(cause instanceof TemplateException)) {
                cause = cause.getCause();
            }
            if (cause != null) {
                throw new IllegalArgumentException("chat template refused the messages: " + cause.getMessage());
            }
            throw new IllegalArgumentException("chat template failed: "
                    + fatal.stream().map(TemplateError::getMessage).collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }
}
