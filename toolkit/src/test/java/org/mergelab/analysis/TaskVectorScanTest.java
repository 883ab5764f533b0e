package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class TaskVectorScanTest {
    /** The branch-free count {@code Σ (m − q) >>> 31} equals counting {@code |δ| <= t} in double, edge values included. */
    @Test
    void thresholdCountsByBitPatternEqualTheComparisonInDouble() {
        Random r = new Random(7);
        float[] d = new float[10_000];
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (i % 5) {
                case 0 -> (float) (r.nextGaussian() * 1e-3);
                case 1 -> (float) 1e-4 * (r.nextBoolean() ? 1 : -1); // exactly at a threshold's float
                case 2 -> Math.nextUp((float) 1e-5);
                case 3 -> i % 10 == 3 ? 0f : -0f;
                default -> (float) (r.nextGaussian() * 1e30);
            };
        }
        double[] thresholds = {-1, 0, 1e-5, (float) 1e-4, 1e-4, Math.nextDown((double) (float) 1e-3), 1e-3, 3e38,
                Double.POSITIVE_INFINITY, Double.NaN};
        int[] q = TaskVectorScan.atOrBelowBits(thresholds);
        for (int k = 0; k < thresholds.length; k++) {
            long expected = 0, got = 0;
            for (float v : d) {
                expected += Math.abs((double) v) <= thresholds[k] ? 1 : 0;
                got += (TopK.magnitudeBits(v) - q[k]) >>> 31;
            }
            assertEquals(expected, got, "threshold " + thresholds[k]);
        }
    }
}
