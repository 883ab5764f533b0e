package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The loop splitter's hand-off: every index exactly once, whoever runs it; a loop returns only when all of its
 * chunks are done; failures reach the caller; nested and concurrent loops run inline rather than wait.
 */
class ParallelTest {
    private static final long LOTS = 1L << 40; // work enough for every thread

    @Test
    void everyIndexRunsExactlyOnceAndIsDoneWhenTheLoopReturns() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        // Many short loops back to back: helpers join some while spinning, miss others, and wake from parking.
        for (int round = 0; round < 20_000; round++) {
            int n = 1 + round % 97, align = 1 + round % 5;
            AtomicIntegerArray seen = new AtomicIntegerArray(n);
            Parallel.range(n, align, LOTS, (from, to) -> {
                assertEquals(0, from % align, "chunk start " + from + " on a multiple of " + align);
                threads.add(Thread.currentThread().getName());
                for (int i = from; i < to; i++) seen.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "round " + round + ", index " + i + " of " + n);
            if (round == 10_000) sleep(5); // long enough for the helpers to park
        }
        if (Parallel.THREADS > 1) {
            assertTrue(threads.stream().anyMatch(t -> t.startsWith("mergelab-model-")), "helpers took part: " + threads);
        }
    }

    @Test
    void smallWorkRunsInlineInOneChunk() {
        Thread caller = Thread.currentThread();
        int[] calls = new int[1];
        Parallel.range(1000, 1, Parallel.MIN_WORK_PER_THREAD - 1, (from, to) -> {
            assertSame(caller, Thread.currentThread());
            assertEquals(0, from);
            assertEquals(1000, to);
            calls[0]++;
        });
        assertEquals(1, calls[0]);
    }

    @Test
    void aFailureInAnyChunkReachesTheCallerAndTheNextLoopStillRuns() {
        for (int bad = 0; bad < 64; bad += 7) {
            int at = bad;
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.range(64, 1, LOTS,
                    (from, to) -> {
                        if (from <= at && at < to) throw new IllegalStateException("chunk with " + at);
                    }));
            assertEquals("chunk with " + at, e.getMessage());
            AtomicIntegerArray seen = new AtomicIntegerArray(64);
            Parallel.range(64, 1, LOTS, (from, to) -> {
                for (int i = from; i < to; i++) seen.incrementAndGet(i);
            });
            for (int i = 0; i < 64; i++) assertEquals(1, seen.get(i));
        }
    }

    @Test
    void nestedAndConcurrentLoopsRunInlineInsteadOfWaiting() throws Exception {
        int outer = 16, inner = 50;
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] f = new Future<?>[4];
            AtomicIntegerArray[] seen = new AtomicIntegerArray[f.length];
            for (int k = 0; k < f.length; k++) {
                AtomicIntegerArray s = seen[k] = new AtomicIntegerArray(outer * inner);
                f[k] = callers.submit(() -> {
                    for (int rep = 0; rep < 500; rep++) {
                        Parallel.range(outer, 1, LOTS, (a, b) -> {
                            for (int o = a; o < b; o++) {
                                int base = o * inner;
                                Parallel.range(inner, 1, LOTS, (c, d) -> {
                                    for (int i = c; i < d; i++) s.incrementAndGet(base + i);
                                });
                            }
                        });
                    }
                });
            }
            for (Future<?> x : f) x.get();
            for (AtomicIntegerArray s : seen) {
                for (int i = 0; i < s.length(); i++) assertEquals(500, s.get(i), "index " + i);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
