package org.mergelab.analysis;

/**
 * Sums over two equally shaped tensors a and b, accumulated in double: Σab, Σa², Σb², Σ(b−a)² and the number of
 * elements whose signs are opposite (a·b &lt; 0). Every divergence figure derives from these, and they add up over
 * tensors, so a layer's figures come from its tensors' sums.
 *
 * <p>Element pairs where a or b is NaN or infinite are left out of every sum and counted instead: {@code nonFinite}
 * pairs in all, {@code nonFiniteA} and {@code nonFiniteB} non-finite elements in each tensor. A tensor with a NaN
 * therefore gets figures over its finite elements plus a count that says so, and never turns a layer's roll-up into
 * NaN.
 */
public record TensorPairStats(long numel, double dot, double sumSqA, double sumSqB, double sumSqDiff,
                              long nonFinite, long signFlips, long nonFiniteA, long nonFiniteB) {

    public static final TensorPairStats ZERO = new TensorPairStats(0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** Computes the sums over {@code a[0..n)} and {@code b[0..n)}. */
    public static TensorPairStats of(float[] a, float[] b, int n) {
        PairKernel.Sums s = new PairKernel.Sums();
        PairKernel.accumulate(a, b, 0, n, s);
        return s.toStats(n);
    }

    public TensorPairStats plus(TensorPairStats o) {
        return new TensorPairStats(numel + o.numel, dot + o.dot, sumSqA + o.sumSqA, sumSqB + o.sumSqB,
                sumSqDiff + o.sumSqDiff, nonFinite + o.nonFinite, signFlips + o.signFlips, nonFiniteA + o.nonFiniteA,
                nonFiniteB + o.nonFiniteB);
    }

    /** Element pairs that entered the sums (both finite). */
    public long finite() {
        return numel - nonFinite;
    }

    public double normA() {
        return Math.sqrt(sumSqA);
    }

    public double normB() {
        return Math.sqrt(sumSqB);
    }

    /** ‖b − a‖. */
    public double l2() {
        return Math.sqrt(sumSqDiff);
    }

    /** ⟨a, b⟩ / (‖a‖‖b‖); NaN when either tensor is zero. */
    public double cosine() {
        double denom = normA() * normB();
        return denom == 0 ? Double.NaN : Math.max(-1, Math.min(1, dot / denom));
    }

    /** The angle between a and b in degrees, acos of {@link #cosine()}; NaN when either tensor is zero. */
    public double angleDegrees() {
        return Math.toDegrees(Math.acos(cosine()));
    }

    /** ‖b − a‖ / ‖a‖; NaN when a is zero. */
    public double relChange() {
        return sumSqA == 0 ? Double.NaN : l2() / normA();
    }

    /** ‖b‖ / ‖a‖; NaN when a is zero. */
    public double normRatio() {
        return sumSqA == 0 ? Double.NaN : normB() / normA();
    }

    /** The fraction of (finite) elements whose sign differs: a·b &lt; 0 (a zero has no sign to flip). */
    public double signFlipFraction() {
        long f = finite();
        return f == 0 ? Double.NaN : (double) signFlips / f;
    }
}
