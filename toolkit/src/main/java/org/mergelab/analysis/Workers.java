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
 * own scratch state (buffers reused from item to item). A failure in any item is rethrown as it was, once the other
 * threads have finished the item they were on; no item starts after a failure or after the caller is interrupted.
 *
 * <p>Workers are never interrupted: they read checkpoints through shared {@code FileChannel}s, and a channel whose
 * reading thread is interrupted closes, for every later reader of that checkpoint too.
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
        Throwable failure = null;
        boolean interrupted = false;
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int k = 0; k < threads; k++) {
                workers.add(pool.submit(() -> {
                    S s = state.get();
                    int i;
                    try {
                        while ((i = next.getAndIncrement()) < items) work.run(s, i);
                    } catch (RuntimeException | Error e) {
                        next.set(items);
                        throw e;
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                while (true) {
                    try {
                        f.get();
                        break;
                    } catch (InterruptedException e) {
                        // Stop handing out items, then wait for the ones under way.
                        interrupted = true;
                        next.set(items);
                    } catch (ExecutionException e) {
                        if (failure == null) failure = e.getCause();
                        break;
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
        // Futures that are already done return without looking at the interrupt: a caller interrupted just before
        // it waited on them must still hear of it.
        if (interrupted || Thread.currentThread().isInterrupted()) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name + " interrupted", failure);
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error er) throw er;
        if (failure != null) throw new IllegalStateException(failure);
    }
}
