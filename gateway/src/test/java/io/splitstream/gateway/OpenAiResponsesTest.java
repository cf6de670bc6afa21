package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.splitstream.proto.v1.Final;
import io.splitstream.proto.v1.FinishReason;
import io.splitstream.proto.v1.GenerateChunk;
import io.splitstream.proto.v1.Usage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiResponsesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static final GenerateChunk A = GenerateChunk.newBuilder().addTokenIds(5).setText(" Once").build();
    private static final GenerateChunk B = GenerateChunk.newBuilder().addTokenIds(6).setText(" upon")
            .setFinal(Final.newBuilder().setFinishReason(FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(2)))
            .build();

    private static JsonNode data(String frame) throws Exception {
        assertTrue(frame.startsWith("data: ") && frame.endsWith("\n\n"), frame);
        return MAPPER.readTree(frame.substring(6, frame.length() - 2));
    }

    @Test
    void completionStream() throws Exception {
        OpenAiResponses r = new OpenAiResponses("cmpl-1", "m", 100, false, false, 3);
        List<String> frames = new ArrayList<>(r.frames(A));
        frames.addAll(r.frames(B));
        assertEquals(4, frames.size());
        assertEquals("data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":100,\"model\":\"m\",\"choices\":"
                + "[{\"index\":0,\"text\":\" Once\",\"logprobs\":null,\"finish_reason\":null}]}\n\n", frames.get(0));
        assertEquals(" upon", data(frames.get(1)).at("/choices/0/text").asText());
        assertEquals("length", data(frames.get(2)).at("/choices/0/finish_reason").asText());
        assertEquals("", data(frames.get(2)).at("/choices/0/text").asText());
        assertEquals("data: [DONE]\n\n", frames.get(3));
    }

    @Test
    void chatStreamWithUsage() throws Exception {
        OpenAiResponses r = new OpenAiResponses("chatcmpl-1", "m", 100, true, true, 3);
        List<String> frames = new ArrayList<>(r.frames(A));
        frames.addAll(r.frames(B));
        assertEquals(6, frames.size());
        JsonNode first = data(frames.get(0));
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.at("/choices/0/delta/role").asText());
        assertTrue(first.has("usage") && first.get("usage").isNull());
        assertEquals(" Once", data(frames.get(1)).at("/choices/0/delta/content").asText());
        assertTrue(data(frames.get(1)).at("/choices/0/finish_reason").isNull());
        assertEquals(" upon", data(frames.get(2)).at("/choices/0/delta/content").asText());
        JsonNode finish = data(frames.get(3));
        assertEquals("length", finish.at("/choices/0/finish_reason").asText());
        assertEquals(0, finish.at("/choices/0/delta").size());
        JsonNode usage = data(frames.get(4));
        assertEquals(0, usage.get("choices").size());
        assertEquals(3, usage.at("/usage/prompt_tokens").asInt());
        assertEquals(2, usage.at("/usage/completion_tokens").asInt());
        assertEquals(5, usage.at("/usage/total_tokens").asInt());
        assertEquals(OpenAiResponses.DONE, frames.get(5));
    }

    @Test
    void completeResponses() throws Exception {
        OpenAiResponses c = new OpenAiResponses("cmpl-1", "m", 100, false, false, 3);
        c.accumulate(A);
        c.accumulate(B);
        JsonNode j = MAPPER.readTree(c.complete());
        assertEquals("text_completion", j.get("object").asText());
        assertEquals(" Once upon", j.at("/choices/0/text").asText());
        assertEquals("length", j.at("/choices/0/finish_reason").asText());
        assertEquals(5, j.at("/usage/total_tokens").asInt());

        OpenAiResponses chat = new OpenAiResponses("chatcmpl-1", "m", 100, true, false, 3);
        chat.accumulate(A);
        chat.accumulate(GenerateChunk.newBuilder().setFinal(Final.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)).build());
        j = MAPPER.readTree(chat.complete());
        assertEquals("chat.completion", j.get("object").asText());
        assertEquals("assistant", j.at("/choices/0/message/role").asText());
        assertEquals(" Once", j.at("/choices/0/message/content").asText());
        assertEquals("stop", j.at("/choices/0/finish_reason").asText());
        assertEquals(3, j.at("/usage/prompt_tokens").asInt()); // no usage from the instance: counted here
        assertEquals(1, j.at("/usage/completion_tokens").asInt());
    }

    @Test
    void errorMapping() throws Exception {
        assertEquals(400, OpenAiResponses.error(Status.INVALID_ARGUMENT.withDescription("bad").asRuntimeException()).httpStatus());
        assertEquals(429, OpenAiResponses.error(Status.RESOURCE_EXHAUSTED.asRuntimeException()).httpStatus());
        OpenAiResponses.Error e = OpenAiResponses.error(Status.UNAVAILABLE.withDescription("decode instance d:1: down")
                .asRuntimeException());
        assertEquals(503, e.httpStatus());
        JsonNode j = MAPPER.readTree(e.json());
        assertEquals("decode instance d:1: down", j.at("/error/message").asText());
        assertEquals("unavailable", j.at("/error/code").asText());
        assertTrue(j.at("/error/param").isNull());
        assertEquals(500, OpenAiResponses.error(Status.INTERNAL.asRuntimeException()).httpStatus());
        assertEquals(500, OpenAiResponses.error(new RuntimeException("x")).httpStatus());
        OpenAiResponses.Error bad = OpenAiResponses.error(OpenAiException.badRequest("'n' must be 1", "n"));
        j = MAPPER.readTree(bad.json());
        assertEquals(400, bad.httpStatus());
        assertEquals("invalid_request_error", j.at("/error/type").asText());
        assertEquals("n", j.at("/error/param").asText());
        assertEquals("m", MAPPER.readTree(OpenAiResponses.models("m", 1)).at("/data/0/id").asText());
    }

    @Test
    void speculationStatsFromTheFinalAreReported() throws Exception {
        GenerateChunk last = B.toBuilder().setFinal(B.getFinal().toBuilder().setSpeculation(
                io.splitstream.proto.v1.SpeculationStats.newBuilder().setMode("hybrid").setSteps(4).setDrafted(40)
                        .setAccepted(6).setMeanAcceptedPerStep(2.5))).build();
        OpenAiResponses stream = new OpenAiResponses("cmpl-1", "m", 100, false, false, 3);
        List<String> frames = new ArrayList<>(stream.frames(A));
        frames.addAll(stream.frames(last));
        JsonNode s = data(frames.get(2)).get("speculation");
        assertEquals("hybrid", s.get("mode").asText());
        assertEquals(4, s.get("steps").asLong());
        assertEquals(40, s.get("drafted").asLong());
        assertEquals(6, s.get("accepted").asLong());
        assertEquals(2.5, s.get("mean_accepted_per_step").asDouble());
        OpenAiResponses whole = new OpenAiResponses("cmpl-2", "m", 100, true, false, 3);
        whole.accumulate(A);
        whole.accumulate(last);
        assertEquals("hybrid", MAPPER.readTree(whole.complete()).at("/speculation/mode").asText());
    }
}
