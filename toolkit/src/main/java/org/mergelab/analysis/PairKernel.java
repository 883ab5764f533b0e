package org.mergelab.analysis;

import org.mergelab.io.DType;

/**
 * The inner loop of every pairwise comparison: Σab, Σa², Σb², Σ(b−a)² and the count of opposite signs over float32
 * data, accumulated in double. Products of two floats are exact in double, so only the additions round.
 *
 * <p>The loop runs four independent sets of accumulators (the additions of one set do not wait on another's), and
 * checks each block's sums once: NaN or infinity in a block sends just that block through the slow loop, which
 * leaves the non-finite pairs out and counts them. Where the JVM has the Vector API ({@code --add-modules
 * jdk.incubator.vector}, as bin/mergelab, bin/bench, the notebook kernel and the tests start it) the fast loop is
 * {@link VectorKernel}'s, three times faster; {@code -Dmergelab.vector=false} turns it off.
 */
final class PairKernel {
    /** Elements per finiteness check: small enough that a slow-path rerun costs little. */
    static final int BLOCK = 2048;

    /** Whether the fast loop is the Vector API's. */
    static final boolean VECTOR = vectorAvailable();

    private PairKernel() {}

    private static boolean vectorAvailable() {
        if (!Boolean.parseBoolean(System.getProperty("mergelab.vector", "true"))) return false;
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) return false;
        try {
            Sums s = new Sums();
            return VectorKernel.f32(new float[] {1, 2, 3}, new float[] {1, 2, 3}, 3, s) && s.dot == 14;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    /** Which loop runs: for benchmark reports. */
    static String describe() {
        return VECTOR ? VectorKernel.describe() : "scalar Java (start the JVM with --add-modules jdk.incubator.vector"
                + " for the Vector API kernel)";
    }

    /** Reusable per-thread buffers for {@link #block}. */
    static final class Buffers {
        final float[] x = new float[BLOCK];
        final float[] y = new float[BLOCK];
        final short[] hx = new short[BLOCK];
        final short[] hy = new short[BLOCK];
        final TensorSource.Scratch scratch = new TensorSource.Scratch();
    }

    /**
     * Adds the sums over elements {@code [at, at + n)} of two sources ({@code n <= BLOCK}). Two bf16 tensors are
     * summed straight from their stored bits; anything else is widened to float32 first.
     */
    static void block(TensorSource a, TensorSource b, long at, int n, Buffers buf, Sums s) {
        boolean done;
        if (a.dtype() == DType.BF16 && b.dtype() == DType.BF16) {
            if (VECTOR) {
                int i = Math.toIntExact(at);
                done = VectorKernel.bf16(a.bytes(), i, b.bytes(), i, n, s);
            } else {
                a.readHalves(at, buf.hx, n);
                b.readHalves(at, buf.hy, n);
                done = fastBf16(buf.hx, buf.hy, n, s);
            }
            if (done) return;
            a.read(at, buf.x, n, buf.scratch);
            b.read(at, buf.y, n, buf.scratch);
        } else {
            a.read(at, buf.x, n, buf.scratch);
            b.read(at, buf.y, n, buf.scratch);
            if (VECTOR ? VectorKernel.f32(buf.x, buf.y, n, s) : fast(buf.x, buf.y, 0, n, s)) return;
        }
        slow(buf.x, buf.y, 0, n, s);
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
