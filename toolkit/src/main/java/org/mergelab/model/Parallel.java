package org.mergelab.model;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits loops over all cores: one set of daemon helper threads for every model in the JVM, and the calling thread
 * works too. A loop is cut into a few chunks per thread that threads claim as they come free, so that a core busy
 * with another process delays its chunk, not the whole loop. Work too small to pay for a hand-off runs inline.
 * <p>
 * A forward pass hands out a loop every few tens of microseconds (each layer's products, its attention), and waking
 * a parked thread costs more than that: a ForkJoinPool took 42-47 us per hand-off on the 2-core VM this was written
 * on, so that the products of a small model ran faster on one thread. Helpers here stay awake, spinning, for a
 * short while after each loop ({@link #SPIN_NANOS}), so the next loop of the same pass finds them running, and
 * park after that. A loop never waits for a helper that has not started on it: once its chunks are all claimed, it
 * waits only for the helpers that claimed some.
 * <p>
 * One loop at a time has the helpers: a second caller (another sequence on another thread), or a loop started
 * inside a loop's body, runs inline.
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("mergelab.threads",
            Runtime.getRuntime().availableProcessors()));
    /** Chunks per thread: enough to even out a slow thread, few enough to keep each chunk long. */
    private static final int CHUNKS_PER_THREAD = 4;
    /** How long an idle helper spins for the next loop before it parks: longer than the gaps within a pass. */
    private static final long SPIN_NANOS = 200_000;
    /** Multiply-adds below which a loop runs inline: what a hand-off to spinning helpers costs, about a microsecond. */
    static final long MIN_WORK_PER_THREAD = 20_000;
    private static final Helper[] HELPERS = new Helper[THREADS - 1];
    private static final AtomicBoolean BUSY = new AtomicBoolean();

    static {
        for (int i = 0; i < HELPERS.length; i++) HELPERS[i] = new Helper(i);
    }

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
        int threads = (int) Math.min(THREADS, Math.max(1, work / MIN_WORK_PER_THREAD));
        int chunks = Math.min(threads * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, align)));
        if (threads <= 1 || chunks <= 1 || !BUSY.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        try {
            int per = (n + chunks - 1) / chunks;
            int size = (per + align - 1) / align * align;
            Loop loop = new Loop(body, n, size, (n + size - 1) / size);
            int helpers = Math.min(threads, loop.count) - 1;
            for (int i = 0; i < helpers; i++) HELPERS[i].give(loop);
            try {
                loop.claimAll();
            } catch (RuntimeException | Error e) {
                loop.fail(e);
            }
            loop.close();
            // (so that an idle helper does not keep the loop's arrays, and through them a model, from the collector)
            for (int i = 0; i < helpers; i++) HELPERS[i].given = null;
            if (loop.failure != null) {
                if (loop.failure instanceof RuntimeException r) throw r;
                throw (Error) loop.failure;
            }
        } finally {
            BUSY.set(false);
        }
    }

    /** One loop's chunks, and the helpers working on it. */
    private static final class Loop {
        private static final int CLOSED = 1 << 30;
        final Range body;
        final int n, size, count;
        final AtomicInteger next = new AtomicInteger();
        /** Helpers inside {@link #claimAll}, plus {@link #CLOSED} once no helper may join. */
        final AtomicInteger state = new AtomicInteger();
        volatile Throwable failure;

        Loop(Range body, int n, int size, int count) {
            this.body = body;
            this.n = n;
            this.size = size;
            this.count = count;
        }

        void claimAll() {
            for (int c; (c = next.getAndIncrement()) < count; ) body.run(c * size, Math.min(n, (c + 1) * size));
        }

        void fail(Throwable e) {
            if (failure == null) failure = e;
            next.set(count);
        }

        /** A helper's share: nothing if the loop has already closed. */
        void help() {
            for (int s; ((s = state.get()) & CLOSED) == 0; ) {
                if (state.compareAndSet(s, s + 1)) {
                    try {
                        claimAll();
                    } catch (RuntimeException | Error e) {
                        fail(e);
                    } finally {
                        state.decrementAndGet();
                    }
                    return;
                }
            }
        }

        /** Shuts out late helpers and waits for those still on their last chunk. */
        void close() {
            int s = state.getAndAdd(CLOSED);
            while ((s & ~CLOSED) != 0) {
                Thread.onSpinWait();
                s = state.get();
            }
        }
    }

    /** A daemon thread that runs the loops it is given, spinning between them for a while, then parked. */
    private static final class Helper extends Thread {
        private volatile Loop given;
        private volatile boolean parked;

        Helper(int index) {
            super("mergelab-model-" + index);
            setDaemon(true);
            start();
        }

        void give(Loop loop) {
            given = loop;
            if (parked) LockSupport.unpark(this);
        }

        @Override
        public void run() {
            Loop done = null;
            long idleSince = System.nanoTime();
            while (true) {
                Loop loop = given;
                if (loop != done) {
                    done = loop;
                    if (loop != null) loop.help();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (given == done) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
