package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitstream.proto.v1.GenerateRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiRequestsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final OpenAiRequests plain = new OpenAiRequests(TestModel.model());

    private static JsonNode json(String s) {
        try {
            return MAPPER.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    private OpenAiException bad(String body, boolean chat) {
        return assertThrows(OpenAiException.class, () -> {
            if (chat) {
                plain.chat(json(body));
            } else {
                plain.completion(json(body));
            }
        });
    }

    @Test
    void completionParametersMap() {
        OpenAiRequests.Call c = plain.completion(json("""
                {"model":"x","prompt":"Once","max_tokens":12,"temperature":0.5,"top_p":0.9,"seed":7,"stop":"\\n",
                 "presence_penalty":0.1,"frequency_penalty":0.2,"n":1,"stream":true,"stream_options":{"include_usage":true},
                 "top_k":-1,"min_p":0.1,"repetition_penalty":1.1,"ignore_eos":true}"""));
        GenerateRequest r = c.request();
        assertEquals("Once", r.getPrompt());
        assertEquals(12, r.getMaxTokens());
        assertEquals(0.5f, r.getSampling().getTemperature());
        assertEquals(0.9f, r.getSampling().getTopP());
        assertEquals(7L, r.getSampling().getSeed());
        assertEquals(0.1f, r.getSampling().getPresencePenalty());
        assertEquals(0.2f, r.getSampling().getFrequencyPenalty());
        assertEquals(0, r.getSampling().getTopK());
        assertTrue(r.getSampling().hasTopK());
        assertEquals(0.1f, r.getSampling().getMinP());
        assertEquals(1.1f, r.getSampling().getRepetitionPenalty());
        assertEquals(List.of("\n"), r.getStopList());
        assertTrue(r.getIgnoreEos());
        assertTrue(c.stream());
        assertTrue(c.includeUsage());
        assertFalse(c.chat());
    }

    @Test
    void unsetParametersStayUnset() {
        GenerateRequest r = plain.completion(json("{\"prompt\":[\"Hi\"],\"max_completion_tokens\":3,\"stop\":[\"a\",\"b\"]}")).request();
        assertEquals("Hi", r.getPrompt());
        assertEquals(3, r.getMaxTokens());
        assertFalse(r.getSampling().hasTemperature());
        assertFalse(r.getSampling().hasSeed());
        assertEquals(List.of("a", "b"), r.getStopList());
        assertEquals(List.of(1, 2, 3), plain.completion(json("{\"prompt\":[1,2,3]}")).request().getPromptTokens().getIdsList());
        assertEquals(List.of(4), plain.completion(json("{\"prompt\":[[4]]}")).request().getPromptTokens().getIdsList());
        assertFalse(plain.completion(json("{\"prompt\":\"x\",\"stream\":false}")).stream());
    }

    @Test
    void badRequestsNameTheParameter() {
        assertEquals("n", bad("{\"prompt\":\"x\",\"n\":2}", false).param());
        assertEquals("prompt", bad("{}", false).param());
        assertEquals("prompt", bad("{\"prompt\":[\"a\",\"b\"]}", false).param());
        assertEquals("max_tokens", bad("{\"prompt\":\"x\",\"max_tokens\":0}", false).param());
        assertEquals("max_tokens", bad("{\"prompt\":\"x\",\"max_tokens\":\"5\"}", false).param());
        assertEquals("temperature", bad("{\"prompt\":\"x\",\"temperature\":\"hot\"}", false).param());
        assertEquals("stop", bad("{\"prompt\":\"x\",\"stop\":[1]}", false).param());
        assertEquals("logprobs", bad("{\"prompt\":\"x\",\"logprobs\":5}", false).param());
        assertEquals("stream", bad("{\"prompt\":\"x\",\"stream\":\"yes\"}", false).param());
        assertEquals(400, bad("[]", false).httpStatus());
        assertEquals("messages", bad("{\"messages\":[]}", true).param());
        assertEquals("messages[0].role", bad("{\"messages\":[{\"content\":\"x\"}]}", true).param());
    }

    @Test
    void chatWithoutTemplateIsAClearBadRequest() {
        OpenAiException e = bad("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true);
        assertEquals(400, e.httpStatus());
        assertTrue(e.getMessage().contains("has no chat template"), e.getMessage());
    }

    @Test
    void chatIsRenderedWithTheTemplateAndTokenized() {
        ModelInfo model = TestModel.model().withChatTemplate(CHATML);
        OpenAiRequests chat = new OpenAiRequests(model);
        OpenAiRequests.Call c = chat.chat(json("""
                {"messages":[{"role":"system","content":"Be brief."},
                             {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                 "max_tokens":5,"stream":true}"""));
        assertTrue(c.chat());
        String expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n";
        int[] ids = c.request().getPromptTokens().getIdsList().stream().mapToInt(Integer::intValue).toArray();
        assertArrayEquals(model.tokenizer().encode(expected, true, true), ids);
        assertEquals(model.tokenizer().bosId(), ids[0]);
    }

    @Test
    void speculationExtensionTakesAModeStringOrAnObject() {
        GenerateRequest r = plain.completion(json("""
                {"prompt":"Once","speculation":"recycling"}""")).request();
        assertEquals("recycling", r.getSpeculation().getMode());
        assertEquals(0, r.getSpeculation().getMaxTreeNodes());
        r = plain.completion(json("""
                {"prompt":"Once","speculation":{"mode":"Hybrid","max_tree_nodes":24}}""")).request();
        assertEquals("Hybrid", r.getSpeculation().getMode());
        assertEquals(24, r.getSpeculation().getMaxTreeNodes());
        assertFalse(plain.completion(json("{\"prompt\":\"Once\"}")).request().hasSpeculation());
        OpenAiException e = bad("""
                {"prompt":"Once","speculation":"warp"}""", false);
        assertEquals(400, e.httpStatus());
        assertEquals("speculation.mode", e.param());
        assertTrue(e.getMessage().contains("off, auto, recycling, retrieval, hybrid, rag"), e.getMessage());
        assertEquals("speculation.max_tree_nodes", bad("""
                {"prompt":"Once","speculation":{"mode":"hybrid","max_tree_nodes":0}}""", false).param());
        assertEquals("speculation", bad("""
                {"prompt":"Once","speculation":5}""", false).param());
        assertEquals("speculation.depth", bad("""
                {"prompt":"Once","speculation":{"depth":3}}""", false).param());
    }
}
