package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TopKTest {
    /**
     * Every threshold of a multi-k selection is what sorting the magnitudes gives: the k-th largest, and how many are
     * strictly larger, on data with many exact ties (values drawn from a small set) and on Gaussian data.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void severalKAtOnceEqualSorting(boolean fewValues) {
        SplittableRandom r = new SplittableRandom(fewValues ? 1 : 2);
        int n = 50_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = fewValues ? (r.nextInt(41) - 20) * 0.125f : (float) (r.nextGaussian() * 1e-3);
        }
        float[] sorted = new float[n];
        for (int i = 0; i < n; i++) sorted[i] = Math.abs(x[i]);
        Arrays.sort(sorted);
        int[] ks = {0, 1, n / 100, n / 10, n / 10, n / 3, n - 1, n};
        TopK.Threshold[] th = TopK.select(x, n, ks);
        for (int j = 0; j < ks.length; j++) {
            int k = ks[j];
            if (k == 0) {
                assertEquals(TopK.Threshold.NONE, th[j]);
                continue;
            }
            float kth = sorted[n - k];
            int above = 0;
            for (float v : sorted) if (v > kth) above++;
            assertEquals(kth, th[j].value(), "k = " + k);
            assertEquals(above, th[j].above(), "k = " + k);
            assertEquals(th[j], TopK.select(x, n, k), "one k at a time gives the same, k = " + k);
        }
    }
}
