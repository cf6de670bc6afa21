package io.splitstream.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitstream.cli.Mesh;
import io.splitstream.engine.gguf.GgufFile;
import io.splitstream.engine.testing.Json;
import io.splitstream.engine.tokenizer.Tokenizer;
import io.splitstream.engine.tokenizer.Vocabulary;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.TokenIds;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An OpenAI SDK's streaming chat request against the gateway of a mesh on the demo model: SSE framing, the prompt
 * rendered from the model's ChatML template, and text equal to the gRPC API's for the same greedy request.
 */
class OpenAiMeshTest {
    static final Path DEMO = MeshFixture.HOME.resolve("models/splitstream-demo.gguf");

    @Test
    @SuppressWarnings("unchecked")
    void streamingChatCompletionEqualsGrpc() throws Exception {
        try (MeshFixture f = new MeshFixture(DEMO, Mesh.Mode.SPLIT, 1, 1, Map.of(), null)) {
            // The exact body shape the openai Python SDK sends for client.chat.completions.create(..., stream=True).
            String body = """
                    {"messages":[{"role":"system","content":"You are a scribe."},{"role":"user","content":"Who made the heaven and the earth?"}],\
                    "model":"splitstream-demo","max_tokens":24,"seed":1,"stream":true,"stream_options":{"include_usage":true},"temperature":0}""";
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://" + f.mesh.gateway().httpAddress() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            String[] events = r.body().split("\n\n");
            assertEquals("data: [DONE]", events[events.length - 1].strip());
            StringBuilder text = new StringBuilder();
            String finish = null;
            Map<String, Object> usage = null;
            for (int i = 0; i < events.length - 1; i++) {
                assertTrue(events[i].startsWith("data: "), events[i]);
                Map<String, Object> chunk = (Map<String, Object>) Json.parse(events[i].substring(6));
                assertEquals("chat.completion.chunk", chunk.get("object"));
                List<Map<String, Object>> choices = (List<Map<String, Object>>) chunk.get("choices");
                if (!choices.isEmpty()) {
                    Map<String, Object> delta = (Map<String, Object>) choices.getFirst().get("delta");
                    if (delta.get("content") != null) {
                        text.append(delta.get("content"));
                    }
                    if (choices.getFirst().get("finish_reason") != null) {
                        finish = (String) choices.getFirst().get("finish_reason");
                    }
                }
                if (chunk.get("usage") != null) {
                    usage = (Map<String, Object>) chunk.get("usage");
                }
            }
            assertTrue(finish != null, "a finish reason on the last choice chunk");
            assertTrue(usage != null && ((Number) usage.get("completion_tokens")).intValue() > 0, String.valueOf(usage));

            String rendered = "<|im_start|>system\nYou are a scribe.<|im_end|>\n<|im_start|>user\nWho made the heaven and the earth?"
                    + "<|im_end|>\n<|im_start|>assistant\n";
            int[] tokens;
            try (GgufFile g = GgufFile.open(DEMO)) {
                Tokenizer t = Tokenizer.create(Vocabulary.fromMetadata(g.metadata()));
                tokens = t.encode(rendered, true, true);
            }
            assertEquals(((Number) usage.get("prompt_tokens")).intValue(), tokens.length, "the ChatML rendering was used");
            MeshFixture.Result grpc = f.generate(GenerateRequest.newBuilder()
                    .setPromptTokens(TokenIds.newBuilder().addAllIds(Arrays.stream(tokens).boxed().toList()))
                    .setMaxTokens(24).setSampling(SamplingParameters.newBuilder().setTemperature(0)).build());
            assertEquals(grpc.text(), text.toString());
            assertTrue(!text.isEmpty());
        }
    }
}
