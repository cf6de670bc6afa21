package io.splitstream.engine.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of engine-owned platform threads for data-parallel kernels (no common ForkJoinPool).
 * {@link #parallelFor} splits an index range into contiguous chunks, one per thread; the calling
 * thread runs chunk 0 itself. Hand-off is a generation counter that workers spin on briefly and then
 * park on, so a call costs no allocation beyond the task and no Future.
 *
 * <p>Calls are serialized: concurrent callers take turns. A call made from inside a running task (a
 * worker thread, or the caller thread while it executes its own chunk) runs inline on that thread.
 */
public final class ComputePool implements AutoCloseable {

    private static final long SPIN_NANOS = 200_000L;

    private final int threads;
    private final Worker[] workers;
    private final AtomicInteger remaining = new AtomicInteger();
    private final Object callLock = new Object();

    // Published by the caller before bumping generation (volatile write), read by workers after seeing it.
    private IntRangeTask task;
    private int count;
    private int chunks;
    private volatile Throwable failure;
    private volatile long generation;
    private volatile boolean closed;
    private Thread activeCaller;

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
            t.start();
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
     * Runs {@code task} over {@code [0, count)} split into at most {@link #threads()} contiguous chunks,
     * returning when all chunks are done. An exception thrown by any chunk is rethrown here.
     */
    public void parallelFor(int count, IntRangeTask task) {
        if (count < 0) {
            throw new IllegalArgumentException("count < 0: " + count);
        }
        if (count == 0) {
            return;
        }
        if (threads == 1 || count == 1 || isWorkerThread() || Thread.currentThread() == activeCaller) {
            task.run(0, count);
            return;
        }
        if (closed) {
            throw new IllegalStateException("ComputePool is closed");
        }
        synchronized (callLock) {
            int n = Math.min(threads, count);
            this.task = task;
            this.count = count;
            this.chunks = n;
            this.failure = null;
            this.activeCaller = Thread.currentThread();
            remaining.set(n - 1);
            generation = generation + 1; // volatile write publishes task/count/chunks
            for (int i = 0; i < n - 1; i++) {
                Worker w = workers[i];
                if (w.sleeping) {
                    LockSupport.unpark(w.thread);
                }
            }
            Throwable own = null;
            try {
                runChunk(0);
            } catch (Throwable t) {
                own = t;
            }
            int spins = 0;
            while (remaining.get() != 0) {
                if (++spins < 20_000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            this.activeCaller = null;
            this.task = null;
            Throwable t = own != null ? own : failure;
            if (t != null) {
                if (t instanceof RuntimeException re) {
                    throw re;
                }
                if (t instanceof Error e) {
                    throw e;
                }
                throw new RuntimeException(t);
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

    private void runChunk(int index) {
        int c = count;
        int n = chunks;
        int from = (int) ((long) c * index / n);
        int to = (int) ((long) c * (index + 1) / n);
        if (from < to) {
            task.run(from, to);
        }
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
            long seen = generation;
            while (true) {
                long g = generation;
                if (g == seen) {
                    long start = System.nanoTime();
                    while ((g = generation) == seen && !closed) {
                        if (System.nanoTime() - start < SPIN_NANOS) {
                            Thread.onSpinWait();
                        } else {
                            sleeping = true;
                            if ((g = generation) == seen && !closed) {
                                LockSupport.park(this);
                            }
                            sleeping = false;
                        }
                    }
                    if (closed && g == seen) {
                        return;
                    }
                }
                seen = g;
                if (index < chunks) {
                    try {
                        runChunk(index);
                    } catch (Throwable t) {
                        failure = t;
                    }
                    remaining.decrementAndGet();
                }
            }
        }
    }
}
