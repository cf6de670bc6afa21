package io.splitstream.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitstream.proto.v1.GenerateRequest;
import io.splitstream.proto.v1.Mode;
import io.splitstream.proto.v1.SamplingParameters;
import io.splitstream.proto.v1.TokenIds;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
    private final ModelInfo model = TestModel.model();
    private final RequestValidator validator = new RequestValidator(model,
            TestModel.config(GatewayConfig.Mode.SPLIT, List.of(), List.of("d:1")));

    private static GenerateRequest.Builder tokens(int... ids) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int id : ids) {
            b.addIds(id);
        }
        return GenerateRequest.newBuilder().setPromptTokens(b);
    }

    private String invalid(GenerateRequest r) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> validator.validate(r));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        return e.getStatus().getDescription();
    }

    @Test
    void textPromptIsTokenizedWithBos() {
        ValidatedRequest v = validator.validate(GenerateRequest.newBuilder().setPrompt("Once upon a time").build());
        assertArrayEquals(model.tokenizer().encode("Once upon a time", true, false), v.promptTokens());
        assertEquals(model.tokenizer().bosId(), v.promptTokens()[0]);
        assertEquals(128, v.maxTokens());
        assertFalse(v.clamped());
        assertEquals(GatewayConfig.Mode.SPLIT, v.mode());
        assertFalse(v.requestId().isEmpty());
    }

    @Test
    void promptIsRequired() {
        assertTrue(invalid(GenerateRequest.getDefaultInstance()).contains("prompt or prompt_tokens"));
        assertTrue(invalid(tokens().build()).contains("empty"));
    }

    @Test
    void tokensMustBeInTheVocabulary() {
        int vocab = model.tokenizer().vocabularySize();
        assertTrue(invalid(tokens(1, vocab).build()).contains("prompt_tokens[1] = " + vocab));
        assertTrue(invalid(tokens(1, -1).build()).contains("4294967295"));
        assertEquals(2, validator.validate(tokens(1, vocab - 1).build()).promptTokens().length);
    }

    @Test
    void promptLongerThanTheLimitIsRefused() {
        int ctx = model.contextLength();
        int[] full = IntStream.range(0, ctx).map(i -> 5).toArray();
        assertTrue(invalid(tokens(full).build()).contains("more than the " + (ctx - 1) + " allowed"));
        int[] fits = IntStream.range(0, ctx - 1).map(i -> 5).toArray();
        ValidatedRequest v = validator.validate(tokens(fits).build());
        assertEquals(1, v.maxTokens());
        assertTrue(v.clamped());

        RequestValidator strict = new RequestValidator(model, new GatewayConfig(List.of(), List.of("d:1"),
                GatewayConfig.Mode.SPLIT, 8, 2048, 128, Duration.ofMillis(200), GatewayConfig.kvEncoding("q8")));
        assertEquals(8, strict.maxPromptTokens());
        assertThrows(StatusRuntimeException.class, () -> strict.validate(tokens(1, 2, 3, 4, 5, 6, 7, 8, 9).build()));
    }

    @Test
    void maxTokensIsLimitedAndClampedToTheContext() {
        assertTrue(invalid(tokens(1, 2).setMaxTokens(2049).build()).contains("max_tokens 2049 exceeds the limit of 2048"));
        int ctx = model.contextLength();
        ValidatedRequest v = validator.validate(tokens(1, 2, 3).setMaxTokens(Math.min(2048, ctx)).build());
        assertEquals(Math.min(2048, ctx - 3), v.maxTokens());
        assertEquals(ctx - 3 < Math.min(2048, ctx), v.clamped());
        assertEquals(7, validator.validate(tokens(1).setMaxTokens(7).build()).maxTokens());
    }

    @Test
    void stopStringsAndLogprobs() {
        assertTrue(invalid(tokens(1).addAllStop(List.of("a", "b", "c", "d", "e")).build()).contains("at most 4"));
        assertTrue(invalid(tokens(1).addAllStop(List.of("a", "")).build()).contains("stop[1] is empty"));
        assertTrue(invalid(tokens(1).setLogprobs(21).build()).contains("logprobs 21"));
        assertTrue(invalid(tokens(1).setLogprobs(5).build()).contains("not supported yet"));
        ValidatedRequest v = validator.validate(tokens(1).addAllStop(List.of("a", "b", "c", "d")).build());
        assertEquals(List.of("a", "b", "c", "d"), v.stop());
    }

    @Test
    void samplingRangesComeFromProtocol() {
        String m = invalid(tokens(1).setSampling(SamplingParameters.newBuilder().setTemperature(-1f)).build());
        assertTrue(m.toLowerCase().contains("temperature"), m);
        m = invalid(tokens(1).setSampling(SamplingParameters.newBuilder().setTopP(0f)).build());
        assertTrue(m.toLowerCase().contains("top"), m);
        validator.validate(tokens(1).setSampling(SamplingParameters.newBuilder().setTemperature(0f).setSeed(-1L)).build());
    }

    @Test
    void modeFollowsTheRequestElseTheConfig() {
        assertEquals(GatewayConfig.Mode.COLOCATED,
                validator.validate(tokens(1).setMode(Mode.MODE_COLOCATED).build()).mode());
        assertEquals(GatewayConfig.Mode.SPLIT, validator.validate(tokens(1).setMode(Mode.MODE_SPLIT).build()).mode());
        assertTrue(invalid(tokens(1).setModeValue(7).build()).contains("unknown mode"));
        assertEquals("mine", validator.validate(tokens(1).setRequestId("mine").build()).requestId());
    }

    @Test
    void configParsing() {
        assertEquals(List.of("a:1", "b:2"), GatewayConfig.instances("k", " a:1, ,b:2 "));
        assertEquals(List.of(), GatewayConfig.instances("k", ""));
        assertThrows(IllegalArgumentException.class, () -> GatewayConfig.instances("k", "a"));
        assertThrows(IllegalArgumentException.class, () -> GatewayConfig.instances("k", "a:x"));
        assertThrows(IllegalArgumentException.class, () -> GatewayConfig.Mode.parse("mixed"));
        assertEquals(GatewayConfig.Mode.COLOCATED, GatewayConfig.Mode.parse("Colocated"));
        assertThrows(IllegalArgumentException.class, () -> GatewayConfig.kvEncoding("q4"));
    }

    @Test
    void speculationIsCheckedAndPassedOn() {
        var asked = io.splitstream.proto.v1.SpeculationParameters.newBuilder().setMode("hybrid").setMaxTreeNodes(32).build();
        assertEquals(asked, validator.validate(tokens(1, 2).setSpeculation(asked).build()).speculation());
        assertEquals("", validator.validate(tokens(1, 2).build()).speculation().getMode(), "unset: the decode default");
        assertTrue(invalid(tokens(1).setSpeculation(asked.toBuilder().setMode("turbo")).build())
                .contains("speculation mode must be one of off, auto, recycling, retrieval, hybrid, rag, got 'turbo'"));
        assertTrue(invalid(tokens(1).setSpeculation(asked.toBuilder().setMaxTreeNodes(257)).build())
                .contains("max_tree_nodes must be in 1..256"));
    }
}
