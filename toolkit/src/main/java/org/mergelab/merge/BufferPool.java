package org.mergelab.merge;

/**
 * Per-thread float buffers reused from tensor to tensor. Fresh memory is slow to obtain (the kernel zeroes and maps
 * it page by page), and a merge touches every tensor of several models, so each worker keeps its largest buffers.
 * Buffers are at least as long as requested and hold stale data beyond what the current tensor writes.
 */
final class BufferPool {
    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[8][0]);

    private BufferPool() {}

    /** This thread's buffer number {@code slot}, grown to at least {@code n} elements. */
    static float[] get(int slot, int n) {
        float[][] slots = SLOTS.get();
        if (slot >= slots.length) {
            float[][] grown = new float[Math.max(slot + 1, slots.length * 2)][];
            System.arraycopy(slots, 0, grown, 0, slots.length);
            for (int i = slots.length; i < grown.length; i++) grown[i] = new float[0];
            SLOTS.set(grown);
            slots = grown;
        }
        if (slots[slot].length < n) slots[slot] = new float[n];
        return slots[slot];
    }
}
