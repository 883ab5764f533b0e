package org.mergelab.merge;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of SLERP and of torch's reductions on eight-lane float vectors, torch's own lane width (its AVX2
 * kernels), so each lane adds in the same order as torch's and the results keep its bits: the same IEEE operations
 * as the scalar loops, eight at a time. Loaded only where the JVM has the Vector API ({@link VectorSupport#ENABLED}).
 */
final class VectorLanes {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    private VectorLanes() {}

    /** {@code acc[j] += x[off + d + j]²} for each vector of eight, over {@code full} elements (a multiple of 8). */
    static void sumSquares(float[] acc, float[] x, int off, int full) {
        FloatVector a = FloatVector.fromArray(F8, acc, 0);
        for (int d = 0; d < full; d += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, off + d);
            a = a.add(v.mul(v));
        }
        a.intoArray(acc, 0);
    }

    /** {@code accA[j] += a[d + j]²} and {@code accB[j] += b[d + j]²}: two norms in one pass, two chains at once. */
    static void sumSquares(float[] accA, float[] a, float[] accB, float[] b, int full) {
        FloatVector sa = FloatVector.fromArray(F8, accA, 0), sb = FloatVector.fromArray(F8, accB, 0);
        for (int d = 0; d < full; d += 8) {
            FloatVector x = FloatVector.fromArray(F8, a, d), y = FloatVector.fromArray(F8, b, d);
            sa = sa.add(x.mul(x));
            sb = sb.add(y.mul(y));
        }
        sa.intoArray(accA, 0);
        sb.intoArray(accB, 0);
    }

    /** {@code acc[0..32) += x[at..at+32)} for {@code rows} consecutive rows: rows of torch's cascade sum. */
    static void addRows(float[] acc, float[] x, int at, int rows) {
        FloatVector s0 = FloatVector.fromArray(F8, acc, 0), s1 = FloatVector.fromArray(F8, acc, 8),
                s2 = FloatVector.fromArray(F8, acc, 16), s3 = FloatVector.fromArray(F8, acc, 24);
        for (int r = 0; r < rows; r++, at += 32) {
            s0 = s0.add(FloatVector.fromArray(F8, x, at));
            s1 = s1.add(FloatVector.fromArray(F8, x, at + 8));
            s2 = s2.add(FloatVector.fromArray(F8, x, at + 16));
            s3 = s3.add(FloatVector.fromArray(F8, x, at + 24));
        }
        s0.intoArray(acc, 0);
        s1.intoArray(acc, 8);
        s2.intoArray(acc, 16);
        s3.intoArray(acc, 24);
    }

    /** {@link #addRows} of the products {@code (a[i] / na) · (b[i] / nb)}, never stored. */
    static void addProductRows(float[] acc, float[] a, float[] b, int at, float na, float nb, int rows) {
        FloatVector s0 = FloatVector.fromArray(F8, acc, 0), s1 = FloatVector.fromArray(F8, acc, 8),
                s2 = FloatVector.fromArray(F8, acc, 16), s3 = FloatVector.fromArray(F8, acc, 24);
        for (int r = 0; r < rows; r++, at += 32) {
            s0 = s0.add(FloatVector.fromArray(F8, a, at).div(na).mul(FloatVector.fromArray(F8, b, at).div(nb)));
            s1 = s1.add(FloatVector.fromArray(F8, a, at + 8).div(na).mul(FloatVector.fromArray(F8, b, at + 8).div(nb)));
            s2 = s2.add(FloatVector.fromArray(F8, a, at + 16).div(na).mul(FloatVector.fromArray(F8, b, at + 16).div(nb)));
            s3 = s3.add(FloatVector.fromArray(F8, a, at + 24).div(na).mul(FloatVector.fromArray(F8, b, at + 24).div(nb)));
        }
        s0.intoArray(acc, 0);
        s1.intoArray(acc, 8);
        s2.intoArray(acc, 16);
        s3.intoArray(acc, 24);
    }

    /** {@code out[off + i] = ca·a[i] + cb·b[i]} (two products, then their sum: no fused multiply-add). */
    static void interpolate(float ca, float[] a, float cb, float[] b, float[] out, int off, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector x = FloatVector.fromArray(F8, a, i).mul(ca);
            FloatVector y = FloatVector.fromArray(F8, b, i).mul(cb);
            x.add(y).intoArray(out, off + i);
        }
        for (; i < n; i++) out[off + i] = ca * a[i] + cb * b[i];
    }

    /** Loads the class once, checks it against scalar arithmetic and warms it up; any failure keeps scalar loops. */
    static final class Check {
        static boolean works() {
            try {
                float[] a = new float[64], b = new float[64], out = new float[64], acc = new float[32];
                for (int i = 0; i < 64; i++) {
                    a[i] = i * 0.1f - 3f;
                    b[i] = 1f / (i + 1);
                }
                addProductRows(acc, a, b, 0, 3f, 7f, 2);
                for (int j = 0; j < 32; j++) {
                    if (acc[j] != (a[j] / 3f) * (b[j] / 7f) + (a[32 + j] / 3f) * (b[32 + j] / 7f)) return false;
                }
                for (int round = 0; round < 20_000; round++) {
                    sumSquares(acc, a, 0, 64);
                    sumSquares(acc, a, out, b, 64);
                    addRows(acc, b, 0, 2);
                    addProductRows(acc, a, b, 0, 3f, 7f, 2);
                    interpolate(0.3f, a, 0.7f, b, out, 0, 64);
                }
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }
    }
}
