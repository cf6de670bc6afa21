package io.splitstream.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/** The gateway's parts, built from configuration at startup (the Quarkus shell over the plain Java classes). */
@Singleton
public class Gateway {
    private static final Logger LOG = Logger.getLogger(Gateway.class);

    private final ModelInfo model;
    private final GatewayConfig config;
    private final MeshClient client;
    private final InstancePool pool;
    private final GenerationService service;
    private final OpenAiRequests openAi;

    public Gateway(@ConfigProperty(name = "splitstream.model") String modelPath,
            @ConfigProperty(name = "splitstream.prefill.instances") Optional<String> prefill,
            @ConfigProperty(name = "splitstream.decode.instances") Optional<String> decode,
            @ConfigProperty(name = "splitstream.mode", defaultValue = "split") String mode,
            @ConfigProperty(name = "splitstream.max-prompt-tokens", defaultValue = "0") int maxPromptTokens,
            @ConfigProperty(name = "splitstream.max-output-tokens", defaultValue = "2048") int maxOutputTokens,
            @ConfigProperty(name = "splitstream.default-max-tokens", defaultValue = "128") int defaultMaxTokens,
            @ConfigProperty(name = "splitstream.status-interval", defaultValue = "200ms") Duration statusInterval,
            @ConfigProperty(name = "splitstream.kv-encoding", defaultValue = "f32") String kvEncoding,
            @ConfigProperty(name = "splitstream.chat-template") Optional<String> chatTemplateFile,
            MeterRegistry registry, OpenTelemetry otel) {
        ModelInfo m = ModelInfo.load(Path.of(modelPath));
        if (chatTemplateFile.isPresent()) {
            try {
                m = m.withChatTemplate(Files.readString(Path.of(chatTemplateFile.get())));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read splitstream.chat-template " + chatTemplateFile.get(), e);
            }
        }
        this.model = m;
        this.config = new GatewayConfig(
                GatewayConfig.instances("splitstream.prefill.instances", prefill.orElse("")),
                GatewayConfig.instances("splitstream.decode.instances", decode.orElse("")),
                GatewayConfig.Mode.parse(mode), maxPromptTokens, maxOutputTokens, defaultMaxTokens, statusInterval,
                GatewayConfig.kvEncoding(kvEncoding));
        this.client = new GrpcMeshClient(otel);
        this.pool = new InstancePool(config, client);
        this.service = new GenerationService(new RequestValidator(model, config), pool, client, config,
                new GatewayMetrics(registry), new GatewayTracing(otel));
        this.openAi = new OpenAiRequests(model);
    }

    void onStart(@Observes StartupEvent event) {
        LOG.infof("model %s (context %d, vocabulary %d, chat template %s); mode %s; prefill %s; decode %s",
                model.name(), model.contextLength(), model.tokenizer().vocabularySize(),
                model.chatTemplate().isPresent() ? "yes" : "none", config.mode(), config.prefillInstances(),
                config.decodeInstances());
        if (config.decodeInstances().isEmpty()) {
            LOG.warn("splitstream.decode.instances is empty: every generation will fail with UNAVAILABLE");
        }
        pool.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        close();
    }

    @PreDestroy
    void close() {
        pool.close();
        client.close();
    }

    public ModelInfo model() {
        return model;
    }

    public GatewayConfig config() {
        return config;
    }

    public InstancePool pool() {
        return pool;
    }

    public GenerationService service() {
        return service;
    }

    public OpenAiRequests openAi() {
        return openAi;
    }
}
