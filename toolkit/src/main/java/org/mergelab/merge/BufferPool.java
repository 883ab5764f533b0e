package org.mergelab.merge;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Per-thread float and int buffers reused from tensor to tensor. Fresh memory is slow to obtain (the kernel zeroes
 * and maps it page by page), and a merge touches every tensor of several models, so each worker keeps its largest
 * buffers. Buffers are at least as long as requested and hold stale data beyond what the current tensor writes.
 */
final class BufferPool {
    private static final ThreadLocal<float[][]> FLOATS = ThreadLocal.withInitial(() -> new float[8][0]);
    private static final ThreadLocal<int[][]> INTS = ThreadLocal.withInitial(() -> new int[8][0]);

    private BufferPool() {}

    /** This thread's buffer number {@code slot}, grown to at least {@code n} elements. */
    static float[] get(int slot, int n) {
        float[][] slots = slots(FLOATS, slot, float[][]::new, new float[0]);
        if (slots[slot].length < n) slots[slot] = new float[n];
        return slots[slot];
    }

    /** This thread's int buffer number {@code slot} (a set apart from the float buffers), grown to {@code n}. */
    static int[] ints(int slot, int n) {
        int[][] slots = slots(INTS, slot, int[][]::new, new int[0]);
        if (slots[slot].length < n) slots[slot] = new int[n];
        return slots[slot];
    }

    /** This thread's slots of one kind, with room for {@code slot}. */
    private static <A> A[] slots(ThreadLocal<A[]> local, int slot, IntFunction<A[]> make, A empty) {
        A[] slots = local.get();
        if (slot < slots.length) return slots;
        A[] grown = make.apply(Math.max(slot + 1, slots.length * 2));
        System.arraycopy(slots, 0, grown, 0, slots.length);
        Arrays.fill(grown, slots.length, grown.length, empty);
        local.set(grown);
        return grown;
    }
}
