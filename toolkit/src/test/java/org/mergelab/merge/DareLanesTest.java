package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mergelab.io.Half;

/**
 * DareLanes' fused bfloat16 kernels against the general loops they stand in for, bit for bit, on blocks built to
 * reach every branch: exact zeros (dropped entries), values that cancel to a zero total (where the elected sign is
 * decided by {@code >= 0}), weights summing to zero (divisor 1), NaN; and, for the byte-reading loops, lengths that
 * leave a scalar tail.
 */
class DareLanesTest {
    static final int N = 1000 + 7;

    /** bf16 values: a quarter zero, a few exact negatives of the model before (cancellations), one NaN. */
    static float[][] models(int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] v = new float[k][N];
        for (int m = 0; m < k; m++) {
            for (int i = 0; i < N; i++) {
                int kind = r.nextInt(8);
                float x = Half.roundToBf16((float) r.nextGaussian() * 0.01f);
                v[m][i] = kind < 2 ? 0f : kind == 2 && m > 0 ? -v[m - 1][i] : x;
            }
        }
        v[0][N / 2] = Float.NaN;
        return v;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void fusedNormalizedCombineEqualsTheGeneralLoops(int k) {
        assertTrue(VectorSupport.ENABLED, "the tests run with the Vector API");
        float[][] v = models(k, 11 + k);
        float[] w = {0.3f, -0.3f, 0.25f, 0.2f};
        if (k == 2) w[1] = -w[0]; // agreeing weights that sum to exactly zero: the divisor becomes 1
        float[] base = models(1, 99)[0];
        float[] general = new float[N + 5], fused = new float[N + 5];
        float[] a = new float[N], b = new float[N], c = new float[N];
        int done = DareLanes.combine(v, w, k, base, general, 5, N, true, 1f, true, false, 1f, true, a, b, c);
        // both leave the scalar tail to the engine's loop (StreamingMergeTest covers it)
        assertEquals(done, DareLanes.combineNormalizedBf16(v, w, k, base, fused, 5, N, a, b));
        assertEquals(N - N % 8, done);
        int zeroTotals = 0;
        for (int i = 0; i < done; i++) {
            assertEquals(Float.floatToRawIntBits(general[5 + i]), Float.floatToRawIntBits(fused[5 + i]),
                    k + " models, element " + i);
            float total = 0f;
            for (int m = 0; m < k; m++) total += v[m][i];
            if (total == 0 && v[0][i] != 0) zeroTotals++;
        }
        if (k > 1) assertTrue(zeroTotals > 10, "blocks reach the zero-total branch: " + zeroTotals);
    }

    @ParameterizedTest
    @ValueSource(ints = {N, 16, 15, 24, 1})
    void bytesKernelsEqualDecodingFirst(int n) {
        float[] x = models(1, 5)[0], base = models(1, 6)[0];
        ByteBuffer bytes = ByteBuffer.allocateDirect(2 * (N + 3)).order(ByteOrder.LITTLE_ENDIAN);
        int at = 3; // the block starts inside the tensor, not at its first element
        for (int i = 0; i < N; i++) bytes.putShort(2 * (at + i), Half.floatToBf16(x[i]));
        float[] u = new float[N];
        RandomStreams.fill(0x1234_5678_9abc_def0L, at, u, N);
        for (float ratio : new float[] {1f, 1.7f}) {
            float[] viaFloats = x.clone(), viaBytes = new float[N];
            DareLanes.weighted(base, viaFloats, n, u, true, 0.4f, ratio != 1f, ratio, 0.6f, true);
            for (int i = n - n % 8; i < n; i++) { // the general loop's scalar tail, as the engine finishes it
                float delta = Half.roundToBf16(x[i] - base[i]);
                delta = Half.roundToBf16((u[i] < 0.4f ? delta : delta * 0f) * ratio);
                viaFloats[i] = Half.roundToBf16(delta * 0.6f);
            }
            int[] keep = new int[(N + 31) / 32];
            DareLanes.keepBits(u, n, 0.4f, keep, 0);
            DareLanes.weightedBf16(bytes, at, base, viaBytes, n, keep, at, ratio, 0.6f);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(viaFloats[i]), Float.floatToRawIntBits(viaBytes[i]),
                        "weighted, ratio " + ratio + ", element " + i);
            }
            // The whole tensor's bits, as the first pass keeps them: this block's start at word 2, read with keepAt 0
            // from a block that starts at element 64.
            ByteBuffer later = ByteBuffer.allocateDirect(2 * (N + 64)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < N; i++) later.putShort(2 * (64 + i), Half.floatToBf16(x[i]));
            int[] whole = new int[2 + (N + 31) / 32];
            java.util.Arrays.fill(whole, -1);
            DareLanes.keepBits(u, n, 0.4f, whole, 2);
            float[] viaWhole = new float[N];
            DareLanes.weightedBf16(later, 64, base, viaWhole, n, whole, 0, ratio, 0.6f);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(viaFloats[i]), Float.floatToRawIntBits(viaWhole[i]),
                        "weighted from the whole tensor's bits, ratio " + ratio + ", element " + i);
            }
        }
        float[] d1 = new float[N], k1 = new float[N], d2 = new float[N], k2 = new float[N];
        int done = DareLanes.magnitudes(base, x, n, u, 0.4f, true, d1, k1);
        for (int i = done; i < n; i++) {
            float delta = Half.roundToBf16(x[i] - base[i]);
            d1[i] = Math.abs(delta);
            k1[i] = Math.abs(u[i] < 0.4f ? delta : delta * 0f);
        }
        DareLanes.magnitudesBf16(bytes, at, base, n, u, 0.4f, d2, k2);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(d1[i]), Float.floatToRawIntBits(d2[i]), "|δ| " + i);
            assertEquals(Float.floatToRawIntBits(k1[i]), Float.floatToRawIntBits(k2[i]), "|mask·δ| " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {N, 100, 33, 32, 31, 1})
    void keepBitsAreTheDrawsBelowTheDensity(int n) {
        float[] u = new float[N];
        RandomStreams.fill(0x0fed_cba9_8765_4321L, 5, u, N);
        u[0] = 0.4f; // equal to the density: dropped, as u < p
        u[Math.min(1, n - 1)] = Math.nextDown(0.4f);
        int[] keep = new int[3 + (N + 31) / 32];
        java.util.Arrays.fill(keep, -1); // stale bits from an earlier tensor
        DareLanes.keepBits(u, n, 0.4f, keep, 3);
        for (int i = 0; i < n; i++) {
            boolean bit = (keep[3 + i / 32] >>> (i % 32) & 1) != 0;
            assertEquals(u[i] < 0.4f, bit, "element " + i);
        }
        assertEquals(-1, keep[2], "a word before the block");
    }
}
