package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KernelWarmUpTest {
    @Test
    void roundsGoOnUntilEnoughRunFastInARow() {
        KernelWarmUp w = new KernelWarmUp();
        for (int i = 0; i < 100; i++) {
            assertTrue(w.more());
            w.took(50_000);
        }
        for (int i = 0; i < KernelWarmUp.FAST_ROUNDS - 1; i++) w.took(300);
        w.took(KernelWarmUp.FAST_NANOS * 10); // a pause: the count of fast rounds starts again
        assertTrue(w.more());
        for (int i = 0; i < KernelWarmUp.FAST_ROUNDS - 1; i++) w.took(300);
        assertTrue(w.more());
        assertFalse(w.compiled());
        w.took(300);
        assertFalse(w.more());
        assertTrue(w.compiled());
        assertEquals(100 + 2 * KernelWarmUp.FAST_ROUNDS, w.rounds());
    }

    @Test
    void theCodecsWarmUpEndsWithCompiledKernels() {
        // Loading Conversions warms the vector codecs up until their rounds run fast; after that a 16K-element
        // decode takes microseconds, not the milliseconds of the Java fallback.
        if (!Conversions.VECTOR) return;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(1 << 15).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[1 << 14];
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long t = System.nanoTime();
            VectorConversions.bf16ToFloats(b, 0, f, 0, f.length);
            best = Math.min(best, System.nanoTime() - t);
        }
        assertTrue(best < 200_000, "best 16K-element decode took " + best + " ns");
    }
}
