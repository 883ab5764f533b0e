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
}
