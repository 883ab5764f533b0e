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

    /** {@code acc[0..32) += x[at..at+32)}: one row of torch's cascade sum. */
    static void addRow(float[] acc, float[] x, int at) {
        for (int j = 0; j < 32; j += 8) {
            FloatVector.fromArray(F8, acc, j).add(FloatVector.fromArray(F8, x, at + j)).intoArray(acc, j);
        }
    }

    /** {@code out[i] = (a[i] / na) · (b[i] / nb)}. */
    static void normalizedProduct(float[] a, float[] b, float na, float nb, float[] out, int n) {
        normalizedProduct(a, b, 0, na, nb, out, n);
    }

    /** {@code out[i] = (a[start + i] / na) · (b[start + i] / nb)}. */
    static void normalizedProduct(float[] a, float[] b, int start, float na, float nb, float[] out, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector x = FloatVector.fromArray(F8, a, start + i).div(na);
            FloatVector y = FloatVector.fromArray(F8, b, start + i).div(nb);
            x.mul(y).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = (a[start + i] / na) * (b[start + i] / nb);
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
                normalizedProduct(a, b, 3f, 7f, out, 64);
                for (int i = 0; i < 64; i++) if (out[i] != (a[i] / 3f) * (b[i] / 7f)) return false;
                for (int round = 0; round < 20_000; round++) {
                    sumSquares(acc, a, 0, 64);
                    addRow(acc, b, 0);
                    normalizedProduct(a, b, 3f, 7f, out, 64);
                    interpolate(0.3f, a, 0.7f, b, out, 0, 64);
                }
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }
    }
}
