package org.mergelab.analysis;

import java.nio.ByteBuffer;
import org.mergelab.io.DType;

/**
 * The inner loop of every pairwise comparison: Σab, Σa², Σb², Σ(b−a)² and the count of opposite signs over float32
 * data, accumulated in double. Products of two floats are exact in double, so only the additions round.
 *
 * <p>The loop runs four independent sets of accumulators (the additions of one set do not wait on another's), and
 * checks each block's sums once: NaN or infinity in a block sends just that block through the slow loop, which
 * leaves the non-finite pairs out and counts them. Where the JVM has the Vector API ({@code --add-modules
 * jdk.incubator.vector}, as bin/bench, the notebook kernel and the tests start it) large scans run
 * {@link VectorKernel}'s loop instead, three times faster with 256-bit vectors and five times with 512-bit ones;
 * {@code -Dmergelab.vector=false} turns it off.
 */
final class PairKernel {
    /** Elements per finiteness check: small enough that a slow-path rerun costs little. */
    static final int BLOCK = 2048;

    /** Whether the JVM has the Vector API and it is not turned off (whether {@link VectorKernel} may be loaded). */
    static final boolean VECTOR = Boolean.parseBoolean(System.getProperty("mergelab.vector", "true"))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /**
     * Below this many element pairs a scan keeps to the scalar loop: the Vector API takes a second or two to start
     * and compile, more than a small model's whole scan takes without it.
     */
    static final long VECTOR_MIN_PAIRS = 1L << 24;

    private PairKernel() {}

    /** Whether a scan of {@code pairs} element pairs should use the Vector API. */
    static boolean vectorFor(long pairs) {
        return VECTOR && pairs >= VECTOR_MIN_PAIRS && VectorCheck.WORKS;
    }

    /** Loads the Vector API kernel on first use and checks it once; a failure leaves the scalar loop in charge. */
    private static final class VectorCheck {
        static final boolean WORKS = check();

        private static boolean check() {
            try {
                Sums s = new Sums();
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putFloat(0, 1).putFloat(4, 2).putFloat(8, 3);
                if (!(VectorKernel.f32(b, 0, b, 0, 3, s) && s.dot == 14)) return false;
                warmUp();
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }

        /**
         * Until the JIT compiles them, Vector API loops run a hundred times slower than the scalar loop. Short
         * calls on a small buffer, until they run fast, get them compiled in a fraction of a second; left to the
         * scan, the first gigabyte would run slowly.
         */
        private static void warmUp() {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 1024; i++) b.putFloat(i * 4, (i % 7) * 0.25f - 0.5f);
            Sums s = new Sums();
            org.mergelab.io.KernelWarmUp w = new org.mergelab.io.KernelWarmUp();
            while (w.more()) {
                long t = System.nanoTime();
                VectorKernel.chunk(DType.BF16, b, 0, b, 1, 64, s);
                VectorKernel.chunk(DType.F32, b, 0, b, 1, 64, s);
                w.took(System.nanoTime() - t);
            }
        }
    }

    /** Which loop a large scan runs: for benchmark reports. */
    static String describe() {
        return vectorFor(Long.MAX_VALUE) ? VectorKernel.describe() : "scalar Java (start the JVM with --add-modules"
                + " jdk.incubator.vector for the Vector API kernel)";
    }

    /** Reusable per-thread buffers for {@link #range}. */
    static final class Buffers {
        final float[] x = new float[BLOCK];
        final float[] y = new float[BLOCK];
        final short[] hx = new short[BLOCK];
        final short[] hy = new short[BLOCK];
        final TensorSource.Scratch scratch = new TensorSource.Scratch();
    }

    /**
     * Adds the sums over {@code n} elements of two chunks of stored bytes (from index 0, dtypes {@code dx} and
     * {@code dy}). With {@code vector}, two bf16 or two float32 chunks go to {@link VectorKernel} in one call;
     * otherwise block by block through the scalar loops, two bf16 chunks straight from their stored bits, anything
     * else widened to float32 first.
     */
    static void range(DType dx, ByteBuffer x, DType dy, ByteBuffer y, int n, boolean vector, Buffers buf, Sums s) {
        if (vector && dx == dy && (dx == DType.BF16 || dx == DType.F32)) {
            VectorKernel.chunk(dx, x, 0, y, 0, n, s);
            return;
        }
        boolean bf16 = dx == DType.BF16 && dy == DType.BF16;
        java.nio.ShortBuffer hx = bf16 ? x.asShortBuffer() : null, hy = bf16 ? y.asShortBuffer() : null;
        for (int k = 0; k < n; k += BLOCK) {
            int m = Math.min(BLOCK, n - k);
            if (bf16) {
                hx.get(k, buf.hx, 0, m);
                hy.get(k, buf.hy, 0, m);
                if (fastBf16(buf.hx, buf.hy, m, s)) continue;
            }
            TensorSource.toFloats(dx, x, k, buf.x, m, buf.scratch);
            TensorSource.toFloats(dy, y, k, buf.y, m, buf.scratch);
            if (bf16 || !fast(buf.x, buf.y, 0, m, s)) slow(buf.x, buf.y, 0, m, s);
        }
    }

    /** Running sums for one pair of tensors (or one chunk of them). */
    static final class Sums {
        double dot, aa, bb, dd;
        long flips, nonFinite, nonFiniteA, nonFiniteB;

        void add(Sums o) {
            dot += o.dot;
            aa += o.aa;
            bb += o.bb;
            dd += o.dd;
            flips += o.flips;
            nonFinite += o.nonFinite;
            nonFiniteA += o.nonFiniteA;
            nonFiniteB += o.nonFiniteB;
        }

        TensorPairStats toStats(long numel) {
            return new TensorPairStats(numel, dot, aa, bb, dd, nonFinite, flips, nonFiniteA, nonFiniteB);
        }
    }

    /** Adds the sums over {@code x[from..to)} and {@code y[from..to)} to {@code s}. */
    static void accumulate(float[] x, float[] y, int from, int to, Sums s) {
        for (int b = from; b < to; b += BLOCK) {
            int e = Math.min(to, b + BLOCK);
            if (!fast(x, y, b, e, s)) slow(x, y, b, e, s);
        }
    }

    /** Returns false (adding nothing) when the block holds a NaN or infinity. */
    static boolean fast(float[] x, float[] y, int from, int to, Sums s) {
        double dot0 = 0, dot1 = 0, dot2 = 0, dot3 = 0;
        double aa0 = 0, aa1 = 0, aa2 = 0, aa3 = 0;
        double bb0 = 0, bb1 = 0, bb2 = 0, bb3 = 0;
        double dd0 = 0, dd1 = 0, dd2 = 0, dd3 = 0;
        int flips = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            double y0 = y[i], y1 = y[i + 1], y2 = y[i + 2], y3 = y[i + 3];
            double p0 = x0 * y0, p1 = x1 * y1, p2 = x2 * y2, p3 = x3 * y3;
            dot0 += p0;
            dot1 += p1;
            dot2 += p2;
            dot3 += p3;
            flips += (p0 < 0 ? 1 : 0) + (p1 < 0 ? 1 : 0) + (p2 < 0 ? 1 : 0) + (p3 < 0 ? 1 : 0);
            aa0 = Math.fma(x0, x0, aa0);
            aa1 = Math.fma(x1, x1, aa1);
            aa2 = Math.fma(x2, x2, aa2);
            aa3 = Math.fma(x3, x3, aa3);
            bb0 = Math.fma(y0, y0, bb0);
            bb1 = Math.fma(y1, y1, bb1);
            bb2 = Math.fma(y2, y2, bb2);
            bb3 = Math.fma(y3, y3, bb3);
            double d0 = y0 - x0, d1 = y1 - x1, d2 = y2 - x2, d3 = y3 - x3;
            dd0 = Math.fma(d0, d0, dd0);
            dd1 = Math.fma(d1, d1, dd1);
            dd2 = Math.fma(d2, d2, dd2);
            dd3 = Math.fma(d3, d3, dd3);
        }
        for (; i < to; i++) {
            double xi = x[i], yi = y[i], p = xi * yi, d = yi - xi;
            dot0 += p;
            flips += p < 0 ? 1 : 0;
            aa0 = Math.fma(xi, xi, aa0);
            bb0 = Math.fma(yi, yi, bb0);
            dd0 = Math.fma(d, d, dd0);
        }
        double dot = (dot0 + dot1) + (dot2 + dot3);
        double aa = (aa0 + aa1) + (aa2 + aa3);
        double bb = (bb0 + bb1) + (bb2 + bb3);
        double dd = (dd0 + dd1) + (dd2 + dd3);
        if (!Double.isFinite(dot + aa + bb + dd)) return false;
        s.dot += dot;
        s.aa += aa;
        s.bb += bb;
        s.dd += dd;
        s.flips += flips;
        return true;
    }

    /** The scalar loop over two bf16 blocks, widening each element from its stored bits as it goes. */
    static boolean fastBf16(short[] x, short[] y, int n, Sums s) {
        double dot0 = 0, dot1 = 0, dot2 = 0, dot3 = 0;
        double aa0 = 0, aa1 = 0, aa2 = 0, aa3 = 0;
        double bb0 = 0, bb1 = 0, bb2 = 0, bb3 = 0;
        double dd0 = 0, dd1 = 0, dd2 = 0, dd3 = 0;
        int flips = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            double x0 = bf16(x[i]), x1 = bf16(x[i + 1]), x2 = bf16(x[i + 2]), x3 = bf16(x[i + 3]);
            double y0 = bf16(y[i]), y1 = bf16(y[i + 1]), y2 = bf16(y[i + 2]), y3 = bf16(y[i + 3]);
            double p0 = x0 * y0, p1 = x1 * y1, p2 = x2 * y2, p3 = x3 * y3;
            dot0 += p0;
            dot1 += p1;
            dot2 += p2;
            dot3 += p3;
            flips += (p0 < 0 ? 1 : 0) + (p1 < 0 ? 1 : 0) + (p2 < 0 ? 1 : 0) + (p3 < 0 ? 1 : 0);
            aa0 = Math.fma(x0, x0, aa0);
            aa1 = Math.fma(x1, x1, aa1);
            aa2 = Math.fma(x2, x2, aa2);
            aa3 = Math.fma(x3, x3, aa3);
            bb0 = Math.fma(y0, y0, bb0);
            bb1 = Math.fma(y1, y1, bb1);
            bb2 = Math.fma(y2, y2, bb2);
            bb3 = Math.fma(y3, y3, bb3);
            double d0 = y0 - x0, d1 = y1 - x1, d2 = y2 - x2, d3 = y3 - x3;
            dd0 = Math.fma(d0, d0, dd0);
            dd1 = Math.fma(d1, d1, dd1);
            dd2 = Math.fma(d2, d2, dd2);
            dd3 = Math.fma(d3, d3, dd3);
        }
        Sums tail = new Sums();
        for (; i < n; i++) addScalar(bf16(x[i]), bf16(y[i]), tail);
        double dot = (dot0 + dot1) + (dot2 + dot3) + tail.dot;
        double aa = (aa0 + aa1) + (aa2 + aa3) + tail.aa;
        double bb = (bb0 + bb1) + (bb2 + bb3) + tail.bb;
        double dd = (dd0 + dd1) + (dd2 + dd3) + tail.dd;
        if (!Double.isFinite(dot + aa + bb + dd)) return false;
        s.dot += dot;
        s.aa += aa;
        s.bb += bb;
        s.dd += dd;
        s.flips += flips + tail.flips;
        return true;
    }

    private static float bf16(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** Element {@code i} of a little-endian bf16 buffer. */
    static float bf16At(ByteBuffer b, int i) {
        return Float.intBitsToFloat(b.getShort(i << 1) << 16);
    }

    /** The slow loop straight from stored bytes (BF16 or F32), for a block the Vector API kernel refused. */
    static void slow(DType dtype, ByteBuffer x, int xAt, ByteBuffer y, int yAt, int n, Sums s) {
        float[] fx = new float[n], fy = new float[n];
        for (int i = 0; i < n; i++) {
            fx[i] = dtype == DType.BF16 ? bf16At(x, xAt + i) : x.getFloat((xAt + i) << 2);
            fy[i] = dtype == DType.BF16 ? bf16At(y, yAt + i) : y.getFloat((yAt + i) << 2);
        }
        slow(fx, fy, 0, n, s);
    }

    /** One finite pair into the sums (for loop tails). */
    static void addScalar(float x, float y, Sums s) {
        double xi = x, yi = y, p = xi * yi, d = yi - xi;
        s.dot += p;
        if (p < 0) s.flips++;
        s.aa += xi * xi;
        s.bb += yi * yi;
        s.dd += d * d;
    }

    private static void slow(float[] x, float[] y, int from, int to, Sums s) {
        for (int i = from; i < to; i++) {
            boolean fa = Float.isFinite(x[i]), fb = Float.isFinite(y[i]);
            if (!fa) s.nonFiniteA++;
            if (!fb) s.nonFiniteB++;
            if (!fa || !fb) {
                s.nonFinite++;
                continue;
            }
            double xi = x[i], yi = y[i], p = xi * yi, d = yi - xi;
            s.dot += p;
            if (p < 0) s.flips++;
            s.aa += xi * xi;
            s.bb += yi * yi;
            s.dd += d * d;
        }
    }
}
