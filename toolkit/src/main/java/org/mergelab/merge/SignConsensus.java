package org.mergelab.merge;

/**
 * TIES' sign election: at every position the sign of the sum of the (weighted) task vectors wins, a zero sum
 * counting as positive; a model's entry takes part only where its own sign agrees, so zeros never vote and never
 * count in the divisor. mergekit 0.1.5's {@code get_mask(method="sum")}; its "count" variant is unreachable from a
 * recipe and is not offered.
 */
final class SignConsensus {
    private SignConsensus() {}

    /** Where the majority sign is positive ({@code Σ_k x_k >= 0}, the sum in the working dtype). */
    static boolean[] positiveMajority(float[][] x, int n, Precision p) {
        float[] sum = ModelSum.of(x, n, p);
        boolean[] positive = new boolean[n];
        for (int i = 0; i < n; i++) positive[i] = sum[i] >= 0;
        return positive;
    }

    /** Whether an entry's sign matches the elected one (0 and NaN never do). */
    static boolean agrees(float v, boolean positive) {
        return positive ? v > 0 : v < 0;
    }
}
