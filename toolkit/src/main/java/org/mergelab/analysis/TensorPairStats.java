package org.mergelab.analysis;

/**
 * Sums over two equally shaped tensors a and b, accumulated in double: Σab, Σa², Σb², Σ(b−a)². Every divergence
 * figure derives from these, and they add up over tensors, so a layer's figures come from its tensors' sums.
 */
public record TensorPairStats(long numel, double dot, double sumSqA, double sumSqB, double sumSqDiff,
                              long nonFinite) {

    public static final TensorPairStats ZERO = new TensorPairStats(0, 0, 0, 0, 0, 0);

    /** Computes the sums over {@code a[0..n)} and {@code b[0..n)}. */
    public static TensorPairStats of(float[] a, float[] b, int n) {
        double dot0 = 0, dot1 = 0, aa0 = 0, aa1 = 0, bb0 = 0, bb1 = 0, dd0 = 0, dd1 = 0;
        int i = 0;
        for (; i + 1 < n; i += 2) {
            double x0 = a[i], y0 = b[i], x1 = a[i + 1], y1 = b[i + 1];
            dot0 += x0 * y0;
            dot1 += x1 * y1;
            aa0 += x0 * x0;
            aa1 += x1 * x1;
            bb0 += y0 * y0;
            bb1 += y1 * y1;
            double d0 = y0 - x0, d1 = y1 - x1;
            dd0 += d0 * d0;
            dd1 += d1 * d1;
        }
        for (; i < n; i++) {
            double x = a[i], y = b[i], d = y - x;
            dot0 += x * y;
            aa0 += x * x;
            bb0 += y * y;
            dd0 += d * d;
        }
        double dot = dot0 + dot1, aa = aa0 + aa1, bb = bb0 + bb1, dd = dd0 + dd1;
        long bad = 0;
        if (!Double.isFinite(dot + aa + bb + dd)) {
            for (int j = 0; j < n; j++) {
                if (!Float.isFinite(a[j]) || !Float.isFinite(b[j])) bad++;
            }
        }
        return new TensorPairStats(n, dot, aa, bb, dd, bad);
    }

    public TensorPairStats plus(TensorPairStats o) {
        return new TensorPairStats(numel + o.numel, dot + o.dot, sumSqA + o.sumSqA, sumSqB + o.sumSqB,
                sumSqDiff + o.sumSqDiff, nonFinite + o.nonFinite);
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

    /** ‖b − a‖ / ‖a‖; NaN when a is zero. */
    public double relChange() {
        return sumSqA == 0 ? Double.NaN : l2() / normA();
    }
}
