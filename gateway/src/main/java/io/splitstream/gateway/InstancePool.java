package io.splitstream.gateway;

import io.grpc.Deadline;
import io.grpc.Status;
import io.smallrye.mutiny.Uni;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/** The configured instances and a poller that keeps their Status fresh. */
public final class InstancePool implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(InstancePool.class);

    private final List<Instance> prefill;
    private final List<Instance> decode;
    private final MeshClient client;
    private final Duration interval;
    private final Duration statusTimeout;
    private ScheduledExecutorService scheduler;

    public InstancePool(GatewayConfig config, MeshClient client) {
        this.prefill = config.prefillInstances().stream().map(a -> new Instance(Instance.Role.PREFILL, a)).toList();
        this.decode = config.decodeInstances().stream().map(a -> new Instance(Instance.Role.DECODE, a)).toList();
        this.client = client;
        this.interval = config.statusInterval();
        // generous: the first call also connects, and a loaded machine answers late; an instance that misses it is unhealthy
        this.statusTimeout = Duration.ofMillis(Math.max(3000, interval.toMillis() * 10));
    }

    public List<Instance> prefill() {
        return prefill;
    }

    public List<Instance> decode() {
        return decode;
    }

    public List<Instance> all() {
        return Stream.concat(prefill.stream(), decode.stream()).toList();
    }

    /** Starts polling every instance's Status at the configured interval. */
    public synchronized void start() {
        if (scheduler != null) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "splitstream-status-poller");
            t.setDaemon(true);
            return t;
        });
        // each instance is polled on its own, so one slow instance does not delay the others' status
        scheduler.scheduleWithFixedDelay(() -> {
            for (Instance i : all()) {
                if (i.beginPoll()) {
                    poll(i).subscribe().with(x -> i.endPoll(), t -> i.endPoll());
                }
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Polls every instance once; completes when all answered or failed (never fails itself). */
    public Uni<Void> refresh() {
        List<Uni<Void>> polls = new ArrayList<>();
        for (Instance i : all()) {
            polls.add(poll(i));
        }
        return polls.isEmpty() ? Uni.createFrom().voidItem() : Uni.join().all(polls).andCollectFailures().replaceWithVoid();
    }

    private Uni<Void> poll(Instance i) {
        Deadline deadline = Deadline.after(statusTimeout.toMillis(), TimeUnit.MILLISECONDS);
        return Uni.createFrom().deferred(() -> client.status(i, deadline))
                .onItem().invoke(s -> {
                    boolean was = i.healthy();
                    i.statusSucceeded(s);
                    if (was != i.healthy()) {
                        LOG.infof("%s is %s", i.describe(), i.healthy() ? "healthy" : "not ready");
                    }
                })
                .onFailure().invoke(t -> {
                    boolean was = i.healthy();
                    Status s = Status.fromThrowable(t);
                    String detail = s.getDescription() == null ? "" : ": " + s.getDescription();
                    if (s.getCause() != null && s.getCause().getMessage() != null) {
                        detail += " (" + s.getCause().getMessage() + ")";
                    }
                    i.statusFailed(s.getCode() + detail);
                    if (was) {
                        LOG.warnf("%s is unhealthy: %s", i.describe(), i.problem());
                    }
                })
                .onFailure().recoverWithNull().replaceWithVoid();
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
    }
}
