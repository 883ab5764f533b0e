package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.TensorSpec;

/** The summing loops (scalar and Vector API), the chunked scan, and the top-k selection, against plain loops. */
class PairKernelTest {
    /** The definition, one element at a time in double. */
    static double[] direct(float[] x, float[] y, int n) {
        double dot = 0, aa = 0, bb = 0, dd = 0, flips = 0;
        for (int i = 0; i < n; i++) {
            double a = x[i], b = y[i];
            dot += a * b;
            aa += a * a;
            bb += b * b;
            dd += (b - a) * (b - a);
            if (a * b < 0) flips++;
        }
        return new double[] {dot, aa, bb, dd, flips};
    }

    static void assertSums(double[] expected, PairKernel.Sums s, String what) {
        assertEquals(expected[0], s.dot, 1e-12 * Math.abs(expected[1] + expected[2]), what + " dot");
        assertEquals(expected[1], s.aa, 1e-12 * expected[1], what + " aa");
        assertEquals(expected[2], s.bb, 1e-12 * expected[2], what + " bb");
        assertEquals(expected[3], s.dd, 1e-12 * expected[3], what + " dd");
        assertEquals((long) expected[4], s.flips, what + " flips");
    }

    static float[][] data(int n, long seed, boolean bf16) {
        Random r = new Random(seed);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 0.02);
            y[i] = x[i] + (float) (r.nextGaussian() * 0.005);
            if (i % 97 == 0) x[i] = 0;
            if (i % 89 == 0) y[i] = -0f;
            if (bf16) {
                x[i] = Half.roundToBf16(x[i]);
                y[i] = Half.roundToBf16(y[i]);
            }
        }
        return new float[][] {x, y};
    }

    static ByteBuffer f32Bytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i++) b.putFloat(i * 4, v[i]);
        return b;
    }

    static ByteBuffer bf16Bytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.length; i++) b.putShort(i * 2, Half.floatToBf16(v[i]));
        return b;
    }

    @Test
    void everyLoopGivesTheDefinitionsSums() {
        for (int n : new int[] {0, 1, 3, 15, 16, 17, 33, 2047, 2048}) {
            float[][] f = data(n, n, false);
            double[] expected = direct(f[0], f[1], n);
            PairKernel.Sums scalar = new PairKernel.Sums();
            assertTrue(PairKernel.fast(f[0], f[1], 0, n, scalar));
            assertSums(expected, scalar, "scalar f32, n=" + n);
            if (PairKernel.VECTOR) {
                PairKernel.Sums vector = new PairKernel.Sums();
                assertTrue(VectorKernel.f32(f32Bytes(concat(new float[3], f[0])), 3, f32Bytes(f[1]), 0, n, vector));
                assertSums(expected, vector, lanes() + " f32, n=" + n);
            }
            float[][] h = data(n, n + 1000, true);
            expected = direct(h[0], h[1], n);
            short[] hx = new short[n], hy = new short[n];
            for (int i = 0; i < n; i++) {
                hx[i] = Half.floatToBf16(h[0][i]);
                hy[i] = Half.floatToBf16(h[1][i]);
            }
            PairKernel.Sums scalarBf16 = new PairKernel.Sums();
            assertTrue(PairKernel.fastBf16(hx, hy, n, scalarBf16));
            assertSums(expected, scalarBf16, "scalar bf16, n=" + n);
            if (PairKernel.VECTOR) {
                PairKernel.Sums vector = new PairKernel.Sums();
                // An offset start inside the buffer, as chunks of a tensor have.
                ByteBuffer bx = bf16Bytes(concat(new float[5], h[0])), by = bf16Bytes(concat(new float[5], h[1]));
                assertTrue(VectorKernel.bf16(bx, 5, by, 5, n, vector));
                assertSums(expected, vector, lanes() + " bf16, n=" + n);
            }
        }
    }

    /** Which Vector API loop this JVM runs (the build runs these tests once with each). */
    static String lanes() {
        return "Vector API, " + VectorKernel.D.vectorBitSize() + "-bit doubles,";
    }

    static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aBlockWithNaNIsRefusedByTheFastLoops() {
        float[][] f = data(40, 7, true);
        f[0][33] = Float.NaN;
        assertFalse(PairKernel.fast(f[0], f[1], 0, 40, new PairKernel.Sums()));
        if (PairKernel.VECTOR) {
            assertFalse(VectorKernel.f32(f32Bytes(f[0]), 0, f32Bytes(f[1]), 0, 40, new PairKernel.Sums()));
            // A whole run with a bad block in it: that block's finite pairs still count, the NaN is counted apart.
            PairKernel.Sums run = new PairKernel.Sums();
            VectorKernel.chunk(DType.BF16, bf16Bytes(f[0]), 0, bf16Bytes(f[1]), 0, 40, run);
            assertEquals(1, run.nonFinite);
            assertEquals(1, run.nonFiniteA);
            assertFalse(VectorKernel.bf16(bf16Bytes(f[0]), 0, bf16Bytes(f[1]), 0, 40, new PairKernel.Sums()));
        }
        TensorPairStats s = TensorPairStats.of(f[0], f[1], 40);
        assertEquals(1, s.nonFinite());
        f[0][33] = 0;
        double[] expected = direct(f[0], f[1], 40);
        assertEquals(expected[1], s.sumSqA(), 1e-15);
        assertEquals(39, s.finite());
    }

    @Test
    void chunksOfLargeTensorsAddUpToTheWholeTensor(@TempDir Path dir) throws IOException {
        // Larger than two work chunks and not a multiple of a block: three chunks, a partial last block. Every stored
        // dtype, and a pair of two dtypes (a bf16 fine-tune of a float32 base), which widens both to float32.
        int n = 2 * PairScan.CHUNK + 4099;
        DType[][] pairs = {{DType.BF16, DType.BF16}, {DType.F32, DType.F32}, {DType.F16, DType.F16},
            {DType.F64, DType.F64}, {DType.F32, DType.BF16}};
        for (DType[] dtypes : pairs) {
            float[][] f = data(n, 3, dtypes[0] == DType.BF16);
            String name = "model.layers.0.mlp.down_proj.weight";
            Path a = dir.resolve("a" + dtypes[0] + dtypes[1] + ".safetensors");
            Path b = dir.resolve("b" + dtypes[0] + dtypes[1] + ".safetensors");
            for (int k = 0; k < 2; k++) {
                try (SafetensorsWriter w = SafetensorsWriter.create(k == 0 ? a : b,
                        List.of(new TensorSpec(name, dtypes[k], new long[] {n})))) {
                    w.write(name, f[k]);
                    w.finish();
                }
            }
            for (boolean vector : PairKernel.VECTOR ? new boolean[] {false, true} : new boolean[] {false}) {
                TensorPairStats s;
                double[] e;
                try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
                    // The sums are over the values as stored (rounded to fp16 or bf16), as the reader gives them.
                    e = direct(ca.read(name).data(), cb.read(name).data(), n);
                    s = PairScan.run(ca, List.of(cb), List.of(name), List.of(new int[] {0}), vector)[0][0];
                }
                String what = dtypes[0] + " against " + dtypes[1] + (vector ? " vector" : " scalar");
                // Two million terms summed in different orders: both sums are good to about 1e-12.
                assertEquals(e[0] / Math.sqrt(e[1]) / Math.sqrt(e[2]), s.cosine(), 1e-11, what);
                assertEquals(Math.sqrt(e[3]), s.l2(), 1e-11 * Math.sqrt(e[3]), what);
                assertEquals((long) e[4], s.signFlips(), what);
                assertEquals(n, s.numel());
            }
        }
    }

    @Test
    void topKFindsWhatASortFinds() {
        Random r = new Random(5);
        for (int n : new int[] {1, 2, 10, 1000, 5000}) {
            float[] x = new float[n];
            // Few distinct magnitudes: plenty of ties at every threshold, and both signs.
            for (int i = 0; i < n; i++) x[i] = (r.nextInt(40) - 20) * (i % 7 == 0 ? 0.001f : 0.25f);
            float[] sorted = new float[n];
            for (int i = 0; i < n; i++) sorted[i] = Math.abs(x[i]);
            Arrays.sort(sorted);
            for (int k : new int[] {0, 1, n / 10, n / 2, n}) {
                TopK.Threshold t = TopK.select(x, n, k);
                if (k == 0) {
                    assertEquals(0, t.k());
                    continue;
                }
                float kth = sorted[n - k];
                assertEquals(kth, t.value(), "k=" + k + " n=" + n);
                int above = 0;
                for (float v : sorted) if (v > kth) above++;
                assertEquals(above, t.above());
            }
        }
        assertEquals(1, TopK.count(0.01, 50), "at least one element, as mergekit's magnitude pruning");
        assertEquals(2, TopK.count(0.2, 14), "floor(0.2 * 14)");
        assertEquals(14, TopK.count(1, 14));
        assertEquals(0, TopK.count(0, 14));
    }
}
