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
        return select(x, n, new int[] {k})[0];
    }

    /**
     * The thresholds for several k at once, in three passes over {@code x} however many there are: each pass narrows
     * every k's pattern by one group of bits (30..20, 19..10, 9..0), counting into one histogram per distinct prefix.
     * A task-vector table asks for the top 1 %, 10 % and TIES's density of every tensor, so this reads each tensor
     * three times instead of nine.
     */
    static Threshold[] select(float[] x, int n, int[] ks) {
        return select(x, n, ks, 0, 0);
    }

    /**
     * As {@link #select(float[], int, int[])} from pass {@code firstLevel} on, when every element is known to share
     * {@code prefix0}, the bits the earlier passes would have found.
     */
    private static Threshold[] select(float[] x, int n, int[] ks, int firstLevel, int prefix0) {
        int m = ks.length;
        Threshold[] out = new Threshold[m];
        int[] prefix = new int[m], remaining = new int[m];
        boolean[] open = new boolean[m];
        for (int j = 0; j < m; j++) {
            if (ks[j] > n) throw new IllegalArgumentException("k = " + ks[j] + " > n = " + n);
            open[j] = ks[j] > 0;
            remaining[j] = ks[j];
            prefix[j] = prefix0;
            if (!open[j]) out[j] = Threshold.NONE;
        }
        int[] shifts = {COARSE_SHIFT, 10, 0};
        int[] widths = {11, 10, 10};
        int prefixMask = 0;
        for (int level = 0; level < firstLevel; level++) prefixMask |= ((1 << widths[level]) - 1) << shifts[level];
        for (int level = firstLevel; level < 3; level++) {
            int shift = shifts[level];
            int bins = 1 << widths[level];
            // The distinct prefixes the open selections have reached (at most m), each with its own histogram.
            int[] distinct = new int[m];
            int[] slot = new int[m];
            int d = 0;
            for (int j = 0; j < m; j++) {
                if (!open[j]) continue;
                int at = 0;
                while (at < d && distinct[at] != prefix[j]) at++;
                if (at == d) distinct[d++] = prefix[j];
                slot[j] = at;
            }
            if (d == 0) break;
            int[][] count = histograms(x, n, prefixMask, java.util.Arrays.copyOf(distinct, d), shift, bins);
            for (int j = 0; j < m; j++) {
                if (!open[j]) continue;
                int[] c = count[slot[j]];
                int bin = bins - 1;
                while (c[bin] < remaining[j]) {
                    remaining[j] -= c[bin];
                    bin--;
                }
                prefix[j] |= bin << shift;
            }
            prefixMask |= (bins - 1) << shift;
        }
        for (int j = 0; j < m; j++) {
            if (open[j]) out[j] = new Threshold(ks[j], prefix[j], ks[j] - remaining[j]);
        }
        return out;
    }

    /**
     * For each prefix, how many |x[i]| have that prefix under {@code mask}, by their next {@code bins}-wide group of bits.
     * Neighbouring elements of a task vector mostly fall in the same bin, so a single array would make each increment
     * wait for the previous one; four interleaved copies, added up at the end, keep four increments in flight.
     */
    private static int[][] histograms(float[] x, int n, int mask, int[] prefixes, int shift, int bins) {
        int d = prefixes.length;
        int[][] out = new int[d][];
        int lanes = 4;
        int[] c = new int[d * lanes * bins];
        int b0 = bins - 1;
        if (d == 1 && mask == 0) {
            int i = 0;
            for (; i + 3 < n; i += 4) {
                c[(magnitudeBits(x[i]) >>> shift) & b0]++;
                c[bins + ((magnitudeBits(x[i + 1]) >>> shift) & b0)]++;
                c[2 * bins + ((magnitudeBits(x[i + 2]) >>> shift) & b0)]++;
                c[3 * bins + ((magnitudeBits(x[i + 3]) >>> shift) & b0)]++;
            }
            for (; i < n; i++) c[(magnitudeBits(x[i]) >>> shift) & b0]++;
        } else if (d == 1) {
            int p0 = prefixes[0];
            for (int i = 0; i < n; i++) {
                int b = magnitudeBits(x[i]);
                if ((b & mask) == p0) c[(i & 3) * bins + ((b >>> shift) & b0)]++;
            }
        } else {
            for (int i = 0; i < n; i++) {
                int b = magnitudeBits(x[i]);
                int p = b & mask;
                int lane = (i & 3) * bins;
                for (int s = 0; s < d; s++) {
                    if (p == prefixes[s]) {
                        c[(s * lanes) * bins + lane + ((b >>> shift) & b0)]++;
                        break;
                    }
                }
            }
        }
        for (int s = 0; s < d; s++) {
            int[] h = new int[bins];
            for (int l = 0; l < lanes; l++) {
                int from = (s * lanes + l) * bins;
                for (int k = 0; k < bins; k++) h[k] += c[from + k];
            }
            out[s] = h;
        }
        return out;
    }

    /** Bits below the coarse bins: a coarse bin is a magnitude's sign-free exponent and top three mantissa bits. */
    static final int COARSE_SHIFT = 20;

    /**
     * Where the k-th largest magnitude lies, for a caller whose own pass counted the magnitudes at a resolution at
     * least as fine as the coarse bins: its coarse bin, and how many elements lie above the part of it the caller
     * collected (the elements {@link #refine} is given).
     */
    record Coarse(int k, int bin, int above) {
        /** The full threshold, from the magnitudes of the elements in this bin ({@code inBin[0..m)}, as floats). */
        Threshold refine(float[] inBin, int m) {
            Threshold t = select(inBin, m, new int[] {k - above}, 1, bin << COARSE_SHIFT)[0];
            return new Threshold(k, t.bits(), above + t.above());
        }
    }

    /** k for "the top {@code fraction}": at least one element of a non-empty tensor, as mergekit's magnitude pruning. */
    static int count(double fraction, int n) {
        if (n == 0 || fraction <= 0) return 0;
        if (fraction >= 1) return n;
        return Math.max(1, (int) (fraction * n));
    }
}
