package org.mergelab.model;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits loops over all cores: one pool of daemon threads for every model in the JVM, and the calling thread works
 * too. A loop is cut into a few chunks per thread that threads claim as they come free, so that a core busy with
 * another process delays its chunk, not the whole loop. Work too small to pay for a hand-off runs inline.
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("mergelab.threads",
            Runtime.getRuntime().availableProcessors()));
    /** Chunks per thread: enough to even out a slow thread, few enough to keep each chunk long. */
    private static final int CHUNKS_PER_THREAD = 4;
    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, THREADS - 1), pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setDaemon(true);
        t.setName("mergelab-model-" + t.getPoolIndex());
        return t;
    }, null, false);

    /** A body over the index range [from, to). */
    interface Range {
        void run(int from, int to);
    }

    private Parallel() {}

    /**
     * Runs {@code body} over [0, n) in chunks whose bounds are multiples of {@code align}; inline when {@code work}
     * (a rough count of multiply-adds) is below what a hand-off costs.
     */
    static void range(int n, int align, long work, Range body) {
        int threads = (int) Math.min(THREADS, Math.max(1, work / 100_000));
        int chunks = Math.min(threads * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, align)));
        if (threads <= 1 || chunks <= 1 || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        int per = (n + chunks - 1) / chunks;
        int size = (per + align - 1) / align * align;
        int count = (n + size - 1) / size;
        AtomicInteger next = new AtomicInteger();
        Runnable claim = () -> {
            for (int c; (c = next.getAndIncrement()) < count; ) body.run(c * size, Math.min(n, (c + 1) * size));
        };
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(threads, count) - 1];
        for (int i = 0; i < helpers.length; i++) helpers[i] = POOL.submit(claim);
        RuntimeException failure = null;
        try {
            claim.run();
        } catch (RuntimeException e) {
            failure = e;
            next.set(count);
        }
        for (ForkJoinTask<?> h : helpers) {
            try {
                h.join();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            }
        }
        if (failure != null) throw failure;
    }
}
