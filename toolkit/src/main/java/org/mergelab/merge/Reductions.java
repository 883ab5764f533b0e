package org.mergelab.merge;

/** Reductions over float32 data, accumulated in double with several independent sums so the loop vectorises. */
final class Reductions {
    private Reductions() {}

    /**
     * ‖a‖², ‖b‖² and ⟨a, b⟩ in one pass: four independent double accumulators per sum keep the floating-point
     * pipeline busy (a single chain waits on each addition's latency).
     */
    static double[] gram(float[] a, float[] b, int n) {
        double aa0 = 0, aa1 = 0, aa2 = 0, aa3 = 0, bb0 = 0, bb1 = 0, bb2 = 0, bb3 = 0, ab0 = 0, ab1 = 0, ab2 = 0, ab3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            double x0 = a[i], x1 = a[i + 1], x2 = a[i + 2], x3 = a[i + 3];
            double y0 = b[i], y1 = b[i + 1], y2 = b[i + 2], y3 = b[i + 3];
            aa0 += x0 * x0;
            aa1 += x1 * x1;
            aa2 += x2 * x2;
            aa3 += x3 * x3;
            bb0 += y0 * y0;
            bb1 += y1 * y1;
            bb2 += y2 * y2;
            bb3 += y3 * y3;
            ab0 += x0 * y0;
            ab1 += x1 * y1;
            ab2 += x2 * y2;
            ab3 += x3 * y3;
        }
        for (; i < n; i++) {
            aa0 += (double) a[i] * a[i];
            bb0 += (double) b[i] * b[i];
            ab0 += (double) a[i] * b[i];
        }
        return new double[] {(aa0 + aa1) + (aa2 + aa3), (bb0 + bb1) + (bb2 + bb3), (ab0 + ab1) + (ab2 + ab3)};
    }

    static double sumSquares(float[] x, int n) {
        return dot(x, x, n);
    }

    static double dot(float[] x, float[] y, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += (double) x[i] * y[i];
            s1 += (double) x[i + 1] * y[i + 1];
            s2 += (double) x[i + 2] * y[i + 2];
            s3 += (double) x[i + 3] * y[i + 3];
        }
        for (; i < n; i++) s0 += (double) x[i] * y[i];
        return (s0 + s1) + (s2 + s3);
    }
}
