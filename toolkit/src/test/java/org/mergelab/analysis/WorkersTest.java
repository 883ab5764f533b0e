package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The analyses' thread pool: failures surface as thrown, and never at the cost of a checkpoint's open channels. */
class WorkersTest {
    @Test
    void aFailureStopsNewItemsAndLeavesReadersToFinish(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("weights.bin");
        Files.write(file, new byte[1 << 16]);
        try (FileChannel channel = FileChannel.open(file)) {
            CountDownLatch bothStarted = new CountDownLatch(2), failing = new CountDownLatch(1);
            AtomicInteger reads = new AtomicInteger();
            AtomicBoolean readerInterrupted = new AtomicBoolean(), thirdRan = new AtomicBoolean();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Workers.run(2, 3,
                    "workers-test", () -> ByteBuffer.allocateDirect(1 << 16), (buf, item) -> {
                        if (item == 2) {
                            thirdRan.set(true);
                            return;
                        }
                        bothStarted.countDown();
                        await(bothStarted);
                        if (item == 0) {
                            failing.countDown();
                            throw new IllegalArgumentException("tensor 0 is corrupt");
                        }
                        // Item 1 reads the shared channel while item 0's failure is being handled.
                        await(failing);
                        for (int k = 0; k < 2000; k++) {
                            buf.clear();
                            read(channel, buf);
                            reads.incrementAndGet();
                        }
                        readerInterrupted.set(Thread.currentThread().isInterrupted());
                    }));
            assertEquals("tensor 0 is corrupt", e.getMessage(), "the item's own exception, unwrapped");
            assertEquals(2000, reads.get(), "the item under way ran to its end before the failure was rethrown");
            assertFalse(readerInterrupted.get(), "no worker is interrupted");
            assertTrue(channel.isOpen(), "a read interrupted mid-way would have closed the shared channel");
            assertFalse(thirdRan.get(), "no item starts after a failure");
        }
    }

    @Test
    void anInterruptedCallerWaitsForTheItemsUnderWayWithoutInterruptingThem() throws Exception {
        CountDownLatch started = new CountDownLatch(2), release = new CountDownLatch(1);
        AtomicInteger finished = new AtomicInteger();
        AtomicBoolean workerInterrupted = new AtomicBoolean();
        Throwable[] thrown = new Throwable[1];
        boolean[] flagKept = new boolean[1];
        Thread caller = new Thread(() -> {
            try {
                Workers.run(2, 2, "workers-test", () -> null, (state, item) -> {
                    started.countDown();
                    await(release);
                    workerInterrupted.compareAndSet(false, Thread.currentThread().isInterrupted());
                    finished.incrementAndGet();
                });
            } catch (Throwable t) {
                thrown[0] = t;
                flagKept[0] = Thread.currentThread().isInterrupted();
            }
        });
        caller.start();
        await(started);
        caller.interrupt();
        release.countDown();
        caller.join();
        assertTrue(thrown[0] instanceof IllegalStateException && thrown[0].getMessage().contains("interrupted"),
                String.valueOf(thrown[0]));
        assertTrue(flagKept[0], "the caller's interrupt flag is set again");
        assertEquals(2, finished.get(), "the items under way ran to their end");
        assertFalse(workerInterrupted.get(), "no worker is interrupted");
    }

    @Test
    void everyItemRunsOnceWithItsThreadsState() {
        int items = 1000;
        AtomicInteger[] runs = new AtomicInteger[items];
        for (int i = 0; i < items; i++) runs[i] = new AtomicInteger();
        AtomicInteger states = new AtomicInteger();
        Workers.run(3, items, "workers-test", () -> new int[] {states.incrementAndGet()}, (state, item) -> {
            runs[item].incrementAndGet();
            assertTrue(state[0] >= 1 && state[0] <= 3);
        });
        for (int i = 0; i < items; i++) assertEquals(1, runs[i].get(), "item " + i);
        assertEquals(3, states.get(), "one state per thread");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void read(FileChannel channel, ByteBuffer buf) {
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, buf.position()) < 0) break;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
