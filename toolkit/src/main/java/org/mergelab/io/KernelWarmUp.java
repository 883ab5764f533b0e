package org.mergelab.io;

/**
 * Repeats a vector kernel's warm-up round until the JIT has compiled it, as its speed shows. The Vector API runs a
 * hundred times slower than scalar code until C2 compiles the loop that uses it, and how many rounds that takes
 * depends on the JVM's thresholds and on how busy its compiler is; a fixed count either stops too early (the first
 * real tensor then crawls) or goes on long after (while the work it was meant to speed up waits). A compiled round
 * on a small buffer takes well under a microsecond; one that still runs the Java fallback, tens of microseconds.
 *
 * <pre>{@code
 * KernelWarmUp w = new KernelWarmUp();
 * while (w.more()) {
 *     long t = System.nanoTime();
 *     ...one round...
 *     w.took(System.nanoTime() - t);
 * }
 * }</pre>
 */
public final class KernelWarmUp {
    /** A round faster than this ran compiled code (a round is sized to take a few hundred nanoseconds compiled). */
    static final long FAST_NANOS = 2_000;
    /** Consecutive fast rounds that count as compiled: a pause can make a fast round look slow, never the reverse. */
    static final int FAST_ROUNDS = 16;
    /** The longest a warm-up goes on; the kernels stay in use if it ends here, and compile later. */
    static final long LIMIT_NANOS = 3_000_000_000L;

    private final long deadline = System.nanoTime() + LIMIT_NANOS;
    private int fastInARow;
    private int rounds;

    /** Whether another round is needed. */
    public boolean more() {
        return fastInARow < FAST_ROUNDS && System.nanoTime() < deadline;
    }

    /** Reports how long the round just run took. */
    public void took(long nanos) {
        rounds++;
        fastInARow = nanos < FAST_NANOS ? fastInARow + 1 : 0;
    }

    /** Whether the rounds ended fast, rather than at the time limit. */
    public boolean compiled() {
        return fastInARow >= FAST_ROUNDS;
    }

    /** Rounds run so far. */
    public int rounds() {
        return rounds;
    }
}
