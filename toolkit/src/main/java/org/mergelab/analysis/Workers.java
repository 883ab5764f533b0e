package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Items 0 .. n-1 shared out over a few daemon threads, each taking the next item as it finishes one and keeping its
 * own scratch state (buffers reused from item to item). A failure in any item is rethrown as it was.
 */
final class Workers {
    interface Item<S> {
        void run(S state, int item);
    }

    private Workers() {}

    static <S> void run(int threads, int items, String name, Supplier<S> state, Item<S> work) {
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, name);
            th.setDaemon(true);
            return th;
        });
        AtomicInteger next = new AtomicInteger();
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int k = 0; k < threads; k++) {
                workers.add(pool.submit(() -> {
                    S s = state.get();
                    int i;
                    while ((i = next.getAndIncrement()) < items) work.run(s, i);
                    return null;
                }));
            }
            for (Future<?> f : workers) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name + " interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error er) throw er;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
