package io.splitstream.engine.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of engine-owned platform threads for data-parallel kernels (no common ForkJoinPool).
 * {@link #parallelFor} splits an index range into contiguous pieces, a few per thread, that the threads
 * (the calling thread among them) take in turn, so a thread slowed by something else on its core takes
 * fewer. Hand-off is a generation counter that workers spin on briefly and then park on, so a call costs
 * no allocation beyond the task and no Future.
 *
 * <p>Calls are serialized: concurrent callers take turns. A call made from inside a running task (a
 * worker thread, or the caller thread while it executes its own chunk) runs inline on that thread.
 */
public final class ComputePool implements AutoCloseable {

    private static final long SPIN_NANOS = 200_000L;
    /** Pieces per thread: enough to even out a thread that runs slower, few enough to cost nothing. */
    private static final int PIECES_PER_THREAD = 4;

    private final int threads;
    private final Worker[] workers;
    private final Object callLock = new Object();

    /** The current job; workers spin (then park) until this reference changes. */
    private volatile Job job;
    private volatile boolean closed;
    private Thread activeCaller;

    /** One parallelFor call: immutable description plus its own completion counter and failure slot. */
    private static final class Job {
        final IntRangeTask task;
        final int count;
        final int grain;
        /** Grains in [0, count), the last one possibly short. */
        final int units;
        final int pieces;
        /** Threads that take part, the caller included. */
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        volatile Throwable failure;

        Job(IntRangeTask task, int count, int grain, int threads) {
            this.task = task;
            this.count = count;
            this.grain = grain;
            this.units = (count + grain - 1) / grain;
            this.pieces = Math.min(units, threads * PIECES_PER_THREAD);
            this.chunks = Math.min(threads, pieces);
            this.remaining = new AtomicInteger(chunks - 1);
        }

        /** Runs pieces until none is left. */
        void runPieces() {
            for (int i; (i = next.getAndIncrement()) < pieces; ) {
                int from = (int) ((long) units * i / pieces) * grain;
                int to = Math.min(count, (int) ((long) units * (i + 1) / pieces) * grain);
                task.run(from, to);
            }
        }
    }

    public ComputePool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            Thread t = new Thread(workers[i], "splitstream-compute-" + (i + 1));
            t.setDaemon(true);
            workers[i].thread = t;
        }
        for (Worker w : workers) {
            w.thread.start();
        }
    }

    /** Available processors. */
    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** Number of threads that share the work, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, count)} split into contiguous pieces, returning when all are done.
     * An exception thrown by any piece is rethrown here.
     */
    public void parallelFor(int count, IntRangeTask task) {
        parallelFor(count, 1, task);
    }

    /** As {@link #parallelFor(int, IntRangeTask)}, with every boundary between pieces a multiple of {@code grain}. */
    public void parallelFor(int count, int grain, IntRangeTask task) {
        if (count < 0) {
            throw new IllegalArgumentException("count < 0: " + count);
        }
        if (grain < 1) {
            throw new IllegalArgumentException("grain < 1: " + grain);
        }
        if (count == 0) {
            return;
        }
        if (threads == 1 || count <= grain || isWorkerThread() || Thread.currentThread() == activeCaller) {
            task.run(0, count);
            return;
        }
        if (closed) {
            throw new IllegalStateException("ComputePool is closed");
        }
        synchronized (callLock) {
            Job j = new Job(task, count, grain, threads);
            this.activeCaller = Thread.currentThread();
            try {
                job = j; // volatile write publishes the job
                for (int i = 0; i < j.chunks - 1; i++) {
                    Worker w = workers[i];
                    if (w.sleeping) {
                        LockSupport.unpark(w.thread);
                    }
                }
                Throwable own = null;
                try {
                    j.runPieces();
                } catch (Throwable t) {
                    own = t;
                }
                int spins = 0;
                while (j.remaining.get() != 0) {
                    if (++spins < 20_000) {
                        Thread.onSpinWait();
                    } else {
                        Thread.yield();
                    }
                }
                Throwable t = own != null ? own : j.failure;
                if (t != null) {
                    if (t instanceof RuntimeException re) {
                        throw re;
                    }
                    if (t instanceof Error e) {
                        throw e;
                    }
                    throw new RuntimeException(t);
                }
            } finally {
                this.activeCaller = null;
            }
        }
    }

    private boolean isWorkerThread() {
        Thread current = Thread.currentThread();
        for (Worker w : workers) {
            if (w.thread == current) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Worker implements Runnable {
        final int index;
        Thread thread;
        volatile boolean sleeping;

        Worker(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            Job seen = null; // job is null until the first call, so no call can be missed
            while (true) {
                Job j = job;
                if (j == seen) {
                    long start = System.nanoTime();
                    while ((j = job) == seen && !closed) {
                        if (System.nanoTime() - start < SPIN_NANOS) {
                            Thread.onSpinWait();
                        } else {
                            sleeping = true;
                            if ((j = job) == seen && !closed) {
                                LockSupport.park(this);
                            }
                            sleeping = false;
                        }
                    }
                    if (j == seen) {
                        return; // closed
                    }
                }
                seen = j;
                if (index < j.chunks) {
                    try {
                        j.runPieces();
                    } catch (Throwable t) {
                        j.failure = t;
                    }
                    j.remaining.decrementAndGet();
                }
            }
        }
    }
}
