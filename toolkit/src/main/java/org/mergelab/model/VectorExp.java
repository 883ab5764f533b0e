package org.mergelab.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FastMath#expInPlace} eight lanes at a time, with the scalar version's operations in the scalar version's
 * order, so every value keeps its bits. The power of two is taken from the rounding sum's own bits
 * ({@code v·log2e + 1.5·2^23} holds the integer k in its low mantissa bits), which keeps the whole computation in
 * one loop of vector registers. Loaded only where the JVM has the Vector API ({@link FastMath#VECTOR}).
 */
final class VectorExp {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    /** The bits of 1.5·2^23 less the float exponent bias: subtracted from the rounding sum's bits, k + 127. */
    private static final int ROUND_BITS_LESS_BIAS = Float.floatToRawIntBits(FastMath.ROUND) - 127;

    private VectorExp() {}

    static void expInPlace(float[] a, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector v = FloatVector.fromArray(F, a, i).max(FastMath.LOW).min(FastMath.HIGH);
            FloatVector t = v.mul(FastMath.LOG2E).add(FastMath.ROUND);
            FloatVector k = t.sub(FastMath.ROUND);
            FloatVector r = v.sub(k.mul(FastMath.LN2_HI)).sub(k.mul(FastMath.LN2_LO));
            FloatVector p = FloatVector.broadcast(F, 1.0f / 5040);
            p = p.mul(r).add(1.0f / 720);
            p = p.mul(r).add(1.0f / 120);
            p = p.mul(r).add(1.0f / 24);
            p = p.mul(r).add(1.0f / 6);
            p = p.mul(r).add(0.5f);
            p = p.mul(r).add(1.0f);
            p = p.mul(r).add(1.0f);
            IntVector twoToK = t.reinterpretAsInts().sub(ROUND_BITS_LESS_BIAS).lanewise(VectorOperators.LSHL, 23);
            p.mul(twoToK.reinterpretAsFloats()).intoArray(a, i);
        }
        for (; i < n; i++) a[i] = FastMath.exp(a[i]);
    }

    /** Loads the class and checks it against the scalar exp; any failure keeps the scalar loops. */
    static boolean works() {
        try {
            float[] x = new float[256], scalar = new float[256];
            for (int i = 0; i < x.length; i++) x[i] = i < 8 ? new float[] {-1000f, -87.3f, -87f, 0f, 1e-7f, 88f, 88.5f,
                    Float.NEGATIVE_INFINITY}[i] : (i - 200) * 0.731f;
            for (int i = 0; i < x.length; i++) scalar[i] = FastMath.exp(x[i]);
            expInPlace(x, x.length);
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToIntBits(x[i]) != Float.floatToIntBits(scalar[i])) return false;
            }
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }
}
