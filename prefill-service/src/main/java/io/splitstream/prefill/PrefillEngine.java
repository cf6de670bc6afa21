package io.splitstream.prefill;

import io.opentelemetry.api.OpenTelemetry;
import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Model;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.tensor.ComputePool;
import io.splitstream.proto.internal.v1.InstanceStatus;
import java.io.IOException;
import java.nio.file.Path;

/** A loaded prefill instance: model, compute pool, transformer, KV cache, KV pusher and scheduler (plain Java). */
public final class PrefillEngine implements AutoCloseable {
    private final Model model;
    private final ComputePool pool;
    private final KvCache cache;
    private final KvPusher pusher;
    private final PrefillScheduler scheduler;

    private PrefillEngine(Model model, ComputePool pool, KvCache cache, KvPusher pusher, PrefillScheduler scheduler) {
        this.model = model;
        this.pool = pool;
        this.cache = cache;
        this.pusher = pusher;
        this.scheduler = scheduler;
    }

    /** Loads the model and starts the engine thread; prompts and KV pushes are traced through {@code otel}. */
    public static PrefillEngine start(Path modelPath, PrefillSettings settings, OpenTelemetry otel) throws IOException {
        Model model = Model.load(modelPath);
        ComputePool pool = null;
        GrpcKvPusher pusher = null;
        try {
            pool = new ComputePool(settings.threads());
            KvCache cache = model.newKvCache(KvPrecision.F32, settings.kvTokens());
            pusher = new GrpcKvPusher(settings.kvPushTimeout(), otel);
            PrefillScheduler scheduler = new PrefillScheduler(new Transformer(model, pool), cache, pusher, settings,
                    new PrefillTracing(otel));
            scheduler.start();
            return new PrefillEngine(model, pool, cache, pusher, scheduler);
        } catch (RuntimeException e) {
            if (pusher != null) {
                pusher.close();
            }
            if (pool != null) {
                pool.close();
            }
            model.close();
            throw e;
        }
    }

    public Model model() {
        return model;
    }

    public PrefillScheduler scheduler() {
        return scheduler;
    }

    public InstanceStatus status() {
        return InstanceStatus.newBuilder()
                .setReady(true)
                .setQueuedPromptTokens(scheduler.queuedPromptTokens())
                .setRunningSequences(scheduler.runningJobs())
                .setWaitingSequences(scheduler.waitingJobs())
                .setKvBlocksFree(cache.freeBlocks())
                .setKvBlocksTotal(cache.totalBlocks())
                .setKvBlockTokens(cache.blockTokens())
                .setModel(modelName(model))
                .setContextLength(model.config().contextLength())
                .build();
    }

    /** The model file's name, as the gateway and decode instances name it. */
    static String modelName(Model model) {
        return model.path().getFileName().toString();
    }

    @Override
    public void close() {
        scheduler.close();
        pusher.close();
        pool.close();
        model.close();
    }
}
