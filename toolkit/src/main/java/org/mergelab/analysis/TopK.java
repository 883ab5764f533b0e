package org.mergelab.analysis;

/**
 * The k largest magnitudes of a float array, found without sorting or copying it: a radix select over the bits of
 * |x| (for non-negative floats, bit patterns order as the values do), twelve bits at a time. What it returns, the
 * threshold and how many elements above it, is exactly what a sort would give, so sums over "the top k" agree with
 * NumPy's {@code np.sort(np.abs(x))[::-1][:k]} whatever the ties.
 */
final class TopK {
    /** The k-th largest magnitude's bit pattern, and how many elements are strictly larger. */
    record Threshold(int k, int bits, int above) {
        /** Elements equal to the threshold that belong to the top k (the first ones, in index order). */
        int ties() {
            return k - above;
        }

        float value() {
            return Float.intBitsToFloat(bits);
        }

        /** Selects nothing: k = 0. */
        static final Threshold NONE = new Threshold(0, Integer.MAX_VALUE, 0);
    }

    private TopK() {}

    static int magnitudeBits(float v) {
        return Float.floatToRawIntBits(v) & 0x7fffffff;
    }

    /**
     * The threshold for the {@code k} largest |x[i]|, i &lt; n ({@code 0 <= k <= n}). The array must hold no NaN.
     */
    static Threshold select(float[] x, int n, int k) {
        if (k <= 0) return Threshold.NONE;
        if (k > n) throw new IllegalArgumentException("k = " + k + " > n = " + n);
        // Three passes narrow the k-th largest pattern down: bits 30..20, 19..10, 9..0.
        int prefix = 0;
        int prefixMask = 0;
        int remaining = k;
        int[] shifts = {20, 10, 0};
        int[] widths = {11, 10, 10};
        for (int level = 0; level < 3; level++) {
            int shift = shifts[level];
            int bins = 1 << widths[level];
            int[] count = new int[bins];
            for (int i = 0; i < n; i++) {
                int b = magnitudeBits(x[i]);
                if ((b & prefixMask) == prefix) count[(b >>> shift) & (bins - 1)]++;
            }
            int bin = bins - 1;
            while (count[bin] < remaining) {
                remaining -= count[bin];
                bin--;
            }
            prefix |= bin << shift;
            prefixMask |= (bins - 1) << shift;
        }
        return new Threshold(k, prefix, k - remaining);
    }

    /** k for "the top {@code fraction}": at least one element of a non-empty tensor, as mergekit's magnitude pruning. */
    static int count(double fraction, int n) {
        if (n == 0 || fraction <= 0) return 0;
        if (fraction >= 1) return n;
        return Math.max(1, (int) (fraction * n));
    }
}
