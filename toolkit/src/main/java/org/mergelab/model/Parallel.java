package org.mergelab.model;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * Splits loops over all cores: one pool of daemon threads for every model in the JVM, and the calling thread does a
 * share of the work. Work too small to pay for a hand-off runs inline.
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("mergelab.threads",
            Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
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
     * Runs {@code body} over [0, n) in at most {@link #THREADS} contiguous chunks whose bounds are multiples of
     * {@code align}; inline when {@code work} (a rough count of multiply-adds) is below what a hand-off costs.
     */
    static void range(int n, int align, long work, Range body) {
        int chunks = (int) Math.min(THREADS, Math.max(1, work / 200_000));
        chunks = Math.min(chunks, Math.max(1, n / Math.max(1, align)));
        if (chunks <= 1 || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        int per = (n + chunks - 1) / chunks;
        per = (per + align - 1) / align * align;
        List<ForkJoinTask<?>> forked = new ArrayList<>(chunks);
        for (int from = per; from < n; from += per) {
            int f = from, t = Math.min(n, from + per);
            forked.add(POOL.submit(() -> body.run(f, t)));
        }
        RuntimeException failure = null;
        try {
            body.run(0, Math.min(n, per));
        } catch (RuntimeException e) {
            failure = e;
        }
        for (ForkJoinTask<?> f : forked) {
            try {
                f.join();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            }
        }
        if (failure != null) throw failure;
    }

    /** Runs {@code tasks} bodies, one index each, spread over the pool (for uneven work such as attention heads). */
    static void each(int tasks, long work, Range body) {
        range(tasks, 1, work, (from, to) -> {
            for (int i = from; i < to; i++) body.run(i, i + 1);
        });
    }
}
