package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.TensorSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaskVectorScanTest {
    /**
     * The magnitude histogram, counted per cell of bit patterns and split where a cell straddles a bin's lower bound,
     * puts every element where the definition does (the largest b with |δ| >= 10^(−8 + (b − 1)/10)): checked on the
     * floats at, just below and just above every bound, as a whole scan computes it.
     */
    @Test
    void histogramBinsEveryBoundaryFloatAsTheDefinitionDoes(@TempDir Path dir) throws IOException {
        List<Float> values = new ArrayList<>(List.of(0f, -0f, Float.MIN_VALUE, 1e-30f, 1e30f, -3e38f));
        for (int b = 1; b < TaskVectorScan.HIST_BINS; b++) {
            float bound = (float) TaskVectorScan.LOWER[b];
            for (float v : new float[] {bound, Math.nextDown(bound), Math.nextUp(bound)}) {
                values.add(v);
                values.add(-v);
            }
        }
        Random r = new Random(11);
        for (int i = 0; i < 5000; i++) values.add((float) (r.nextGaussian() * Math.pow(10, -9 + 10 * r.nextDouble())));
        float[] tuned = new float[values.size()];
        for (int i = 0; i < tuned.length; i++) tuned[i] = values.get(i);
        long[] expected = new long[TaskVectorScan.HIST_BINS];
        for (float v : tuned) {
            int b = 0;
            while (b + 1 < TaskVectorScan.HIST_BINS && Math.abs((double) v) >= TaskVectorScan.LOWER[b + 1]) b++;
            expected[b]++;
        }
        String name = "model.layers.0.mlp.up_proj.weight";
        Path base = dir.resolve("base.safetensors"), fine = dir.resolve("tuned.safetensors");
        for (Path p : List.of(base, fine)) {
            try (SafetensorsWriter w = SafetensorsWriter.create(p,
                    List.of(new TensorSpec(name, DType.F32, new long[] {tuned.length})))) {
                w.write(name, p == base ? new float[tuned.length] : tuned);
                w.finish();
            }
        }
        try (Checkpoint cb = Checkpoint.open(base); Checkpoint ct = Checkpoint.open(fine)) {
            TaskVectorScan.TensorStats t = TaskVectorScan.run(cb, List.of(ct), List.of(name),
                    TaskVectors.Options.defaults()).get(0);
            assertArrayEquals(expected, t.models[0].histogram);
        }
    }

    /**
     * The moments and counts, scalar and Vector API alike, equal the definitions computed one element at a time in
     * double: lengths around the vector width, zeros of both signs, magnitudes exactly at thresholds.
     */
    @Test
    void momentsAndCountsMatchTheDefinitionsInBothLoops() {
        Random r = new Random(13);
        double[] thresholds = {1e-5, (float) 1e-4, 1e-3, 0.05};
        int[] q = TaskVectorScan.atOrBelowBits(thresholds);
        for (int n : new int[] {0, 1, 7, 8, 9, 31, 1000, 4099}) {
            float[] d = new float[n];
            for (int i = 0; i < n; i++) {
                d[i] = switch (i % 6) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    case 2 -> (float) 1e-4 * (r.nextBoolean() ? 1 : -1);
                    default -> (float) (r.nextGaussian() * 0.02);
                };
            }
            double mean = 0.003;
            double[] e = new double[4];
            long[] ec = new long[5];
            for (float f : d) {
                double v = f;
                e[0] += v * v;
                e[1] += Math.abs(v);
                e[2] += Math.pow(v - mean, 2);
                e[3] += Math.pow(v - mean, 4);
                ec[0] += v == 0 ? 1 : 0;
                for (int k = 0; k < 4; k++) ec[1 + k] += Math.abs(v) <= thresholds[k] ? 1 : 0;
            }
            double[] sums = new double[4];
            long[] counts = new long[5];
            TaskVectorScan.moments(d, 0, n, mean, q, sums, counts);
            assertMoments(e, ec, sums, counts, "scalar, n=" + n);
            if (PairKernel.VECTOR) {
                sums = new double[4];
                counts = new long[5];
                TaskVectorLanes.moments(d, n, mean, q, sums, counts);
                assertMoments(e, ec, sums, counts, PairKernelTest.lanes() + " n=" + n);
            }
        }
    }

    /**
     * δ = tuned − base, in both loops: non-finite differences (NaN or infinite inputs, or a difference that
     * overflows) become 0 and are counted, non-finite base elements stay out of Σ base², and every other δ is the
     * float subtraction's.
     */
    @Test
    void deltaZeroesAndCountsNonFiniteDifferencesInBothLoops() {
        Random r = new Random(17);
        for (int n : new int[] {0, 5, 8, 23, 1000}) {
            float[] base = new float[n], tuned = new float[n];
            for (int i = 0; i < n; i++) {
                base[i] = (float) (r.nextGaussian() * 0.02);
                tuned[i] = base[i] + (float) (r.nextGaussian() * 0.001);
                switch (i % 11) {
                    case 1 -> base[i] = Float.NaN;
                    case 3 -> tuned[i] = Float.POSITIVE_INFINITY;
                    case 5 -> {
                        base[i] = -3e38f;
                        tuned[i] = 3e38f;
                    }
                    case 7 -> tuned[i] = -0f;
                    default -> { }
                }
            }
            float[] expected = new float[n];
            double sumSqBase = 0, sum = 0;
            long nonFinite = 0;
            for (int i = 0; i < n; i++) {
                if (Float.isFinite(base[i])) sumSqBase += (double) base[i] * base[i];
                float v = tuned[i] - base[i];
                if (!Float.isFinite(v)) {
                    v = 0;
                    nonFinite++;
                }
                expected[i] = v;
                sum += v;
            }
            for (boolean vector : PairKernel.VECTOR ? new boolean[] {false, true} : new boolean[] {false}) {
                float[] d = tuned.clone();
                double[] sums = new double[2];
                long got = vector ? TaskVectorLanes.delta(base, d, n, sums) : TaskVectorScan.delta(base, d, 0, n, sums);
                String what = (vector ? "Vector API" : "scalar") + ", n=" + n;
                assertEquals(nonFinite, got, what);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(d[i]), what + " δ" + i);
                }
                assertEquals(sumSqBase, sums[0], 1e-12 * sumSqBase, what + " Σ base²");
                assertEquals(sum, sums[1], 1e-12 * Math.max(1, Math.abs(sum)), what + " Σδ");
            }
        }
    }

    private static void assertMoments(double[] e, long[] ec, double[] sums, long[] counts, String what) {
        for (int k = 0; k < 4; k++) assertEquals(e[k], sums[k], 1e-12 * e[k], what + " sum " + k);
        assertArrayEquals(ec, counts, what + " counts");
    }

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

    /**
     * The one-pass top-k (cells counted beforehand, the boundary cells' elements collected and selected among)
     * gives the thresholds a full selection gives and the sums of the top k magnitudes that sorting gives, ties
     * included; and so does its fallback for boundary bins too full to collect.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void onePassTopKEqualsSortingWithAndWithoutTheFallback(boolean fewValues) {
        Random r = new Random(fewValues ? 3 : 4);
        int n = 40_009;
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = fewValues ? (r.nextInt(21) - 10) * 0.25f : (float) (r.nextGaussian() * 1e-3);
        }
        int[] cells = new int[TaskVectorScan.CELLS];
        for (float v : d) cells[TopK.magnitudeBits(v) >>> TaskVectorScan.CELL_SHIFT]++;
        double[] sorted = new double[n];
        for (int i = 0; i < n; i++) sorted[i] = Math.abs(d[i]);
        Arrays.sort(sorted);
        int[][] cases = {{n / 100, n / 10, n / 5}, {0, n / 10, n}, {1, 1, n / 3}};
        for (int[] ks : cases) {
            for (long room : new long[] {Long.MAX_VALUE, 0}) {
                for (boolean vector : PairKernel.VECTOR ? new boolean[] {false, true} : new boolean[] {false}) {
                    TopK.Threshold[] th = new TopK.Threshold[ks.length];
                    double[] sums = TaskVectorScan.top(d, n, ks, cells, th, new TaskVectorScan.Buffers(1), room,
                            vector);
                    TopK.Threshold[] full = TopK.select(d, n, ks);
                    for (int j = 0; j < ks.length; j++) {
                        String at = Arrays.toString(ks) + " k = " + ks[j] + (room == 0 ? " (fallback)" : "")
                                + (vector ? " (" + PairKernelTest.lanes() + ")" : "");
                        assertEquals(full[j], th[j], at);
                        double abs = 0, sq = 0;
                        for (int i = n - ks[j]; i < n; i++) {
                            abs += sorted[i];
                            sq += sorted[i] * sorted[i];
                        }
                        assertEquals(abs, sums[2 * j], 1e-12 * Math.max(1, abs), at);
                        assertEquals(sq, sums[2 * j + 1], 1e-12 * Math.max(1, sq), at);
                    }
                }
            }
        }
    }

    /**
     * DARE's draws, scalar and Vector API alike, keep exactly the elements whose SplitMix64 draw on {@code key + i} is
     * below the cutoff (all of them at density 1, none at 0), and sum |δ| and δ² over those: lengths around the
     * vector width, counters that wrap past 2^64, tails that start mid-vector.
     */
    @Test
    void dareKeepsTheElementsWhoseDrawIsBelowTheCutoffInBothLoops() {
        Random r = new Random(17);
        for (int n : new int[] {0, 1, 7, 8, 9, 17, 1000, 4099}) {
            float[] d = new float[n];
            for (int i = 0; i < n; i++) d[i] = (float) (r.nextGaussian() * 0.02);
            for (double density : new double[] {0, 0.1, 0.5, 0.9, 1}) {
                long cutoff = TaskVectorScan.dareCutoff(density);
                // Keys that put the edge draws (the largest two, and the cutoff and its neighbours) on element 5.
                long[] keys = {0, 12345, -3, r.nextLong(), unmix(-1) - 5, unmix(-2) - 5, unmix(cutoff) - 5,
                    unmix(cutoff - 1) - 5, unmix(cutoff - 2) - 5, unmix(cutoff + 1) - 5};
                for (long key : keys) {
                    long kept = 0;
                    double abs = 0, sq = 0;
                    for (int i = 0; i < n; i++) {
                        long draw = TaskVectorScan.mix(key + i);
                        if (density >= 1 || Long.compareUnsigned(draw, cutoff) < 0) {
                            kept++;
                            abs += Math.abs((double) d[i]);
                            sq += (double) d[i] * d[i];
                        }
                    }
                    String where = "n=" + n + ", density " + density + ", key " + key;
                    double[] sums = new double[2];
                    assertEquals(kept, TaskVectorScan.dare(d, 0, n, key, cutoff, density >= 1, sums), where);
                    assertEquals(abs, sums[0], 1e-12 * abs, where);
                    assertEquals(sq, sums[1], 1e-12 * sq, where);
                    if (PairKernel.VECTOR) {
                        sums = new double[2];
                        assertEquals(kept, TaskVectorLanes.dare(d, n, key, cutoff, density >= 1, sums),
                                PairKernelTest.lanes() + " " + where);
                        assertEquals(abs, sums[0], 1e-12 * abs, PairKernelTest.lanes() + " " + where);
                        assertEquals(sq, sums[1], 1e-12 * sq, PairKernelTest.lanes() + " " + where);
                    }
                }
            }
        }
    }

    /** The counter whose draw is {@code draw}: SplitMix64's finaliser undone step by step. */
    private static long unmix(long draw) {
        long z = draw ^ (draw >>> 31) ^ (draw >>> 62);
        z *= inverse(0x94D049BB133111EBL);
        z ^= (z >>> 27) ^ (z >>> 54);
        z *= inverse(0xBF58476D1CE4E5B9L);
        z ^= (z >>> 30) ^ (z >>> 60);
        assertEquals(draw, TaskVectorScan.mix(z));
        return z;
    }

    /** The inverse of an odd number modulo 2^64, by Newton's iteration (each step doubles the correct bits). */
    private static long inverse(long odd) {
        long x = odd;
        for (int i = 0; i < 5; i++) x *= 2 - odd * x;
        return x;
    }

    /** DARE's branch-free draw test is the unsigned comparison, for every density's (even) cutoff and edge draws. */
    @Test
    void branchFreeDrawTestIsTheUnsignedComparison() {
        Random r = new Random(11);
        for (double density : new double[] {1e-9, 0.1, 0.2, 0.5, 0.9, 0.999999}) {
            long cutoff = TaskVectorScan.dareCutoff(density);
            assertEquals(0, cutoff & 1, "cutoffs are even");
            long[] edges = {0, 1, cutoff - 2, cutoff - 1, cutoff, cutoff + 1, -1, Long.MIN_VALUE, Long.MAX_VALUE};
            for (long draw : edges) {
                assertEquals(Long.compareUnsigned(draw, cutoff) < 0 ? 1 : 0, TaskVectorScan.below(draw, cutoff),
                        "draw " + Long.toUnsignedString(draw) + ", density " + density);
            }
            for (int i = 0; i < 100_000; i++) {
                long draw = r.nextLong();
                assertEquals(Long.compareUnsigned(draw, cutoff) < 0 ? 1 : 0, TaskVectorScan.below(draw, cutoff));
            }
        }
    }
}
