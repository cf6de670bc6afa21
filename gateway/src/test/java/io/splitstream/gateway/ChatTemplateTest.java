package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static final List<ChatTemplate.Message> CONVERSATION = List.of(new ChatTemplate.Message("system", "Be brief."),
            new ChatTemplate.Message("user", "Hello"), new ChatTemplate.Message("assistant", "Hi."),
            new ChatTemplate.Message("user", "Bye"));

    @Test
    void chatMl() {
        ChatTemplate t = new ChatTemplate(OpenAiRequestsTest.CHATML);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
                t.render(CONVERSATION, true, "<s>", "</s>"));
        assertEquals("<|im_start|>user\nHello<|im_end|>\n",
                t.render(List.of(new ChatTemplate.Message("user", "Hello")), false, "<s>", "</s>"));
    }

    /** A Llama-2-style template: bos/eos tokens, raise_exception, trim_blocks, loop.index0 and string methods. */
    @Test
    void llama2StyleWithRaiseException() {
        String template = """
                {% if messages[0]['role'] == 'system' %}
                {% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}
                {% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}
                {% for message in loop_messages %}
                {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
                {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
                {% endif %}
                {% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}
                {% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}
                {% endfor %}""";
        ChatTemplate t = new ChatTemplate(template);
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST] Hi. </s><s>[INST] Bye [/INST]",
                t.render(CONVERSATION, true, "<s>", "</s>"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(
                List.of(new ChatTemplate.Message("assistant", "x")), true, "<s>", "</s>"));
        assertTrue(e.getMessage().contains("roles must alternate"), e.getMessage());
    }

    @Test
    void brokenTemplateIsReported() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{{ m.content ");
        assertThrows(IllegalArgumentException.class, () -> t.render(CONVERSATION, true, "", ""));
    }
}
