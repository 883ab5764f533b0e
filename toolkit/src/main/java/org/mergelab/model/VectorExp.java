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
    private static final FloatVector LOG2E = FloatVector.broadcast(F, FastMath.LOG2E);
    private static final FloatVector ROUND = FloatVector.broadcast(F, FastMath.ROUND);
    private static final FloatVector MINUS_LN2_HI = FloatVector.broadcast(F, -FastMath.LN2_HI);
    private static final FloatVector MINUS_LN2_LO = FloatVector.broadcast(F, -FastMath.LN2_LO);
    private static final FloatVector C7 = FloatVector.broadcast(F, 1.0f / 5040), C6 = FloatVector.broadcast(F, 1.0f / 720);
    private static final FloatVector C5 = FloatVector.broadcast(F, 1.0f / 120), C4 = FloatVector.broadcast(F, 1.0f / 24);
    private static final FloatVector C3 = FloatVector.broadcast(F, 1.0f / 6), C2 = FloatVector.broadcast(F, 0.5f);
    private static final FloatVector ONE = FloatVector.broadcast(F, 1.0f);

    private VectorExp() {}

    /**
     * {@link FastMath#exp} of every lane: the same operations, so the same bits. Small enough that C2 inlines it
     * wherever it is hot (a vector crossing a call that is not inlined is boxed: the Vector API's slow path).
     */
    static FloatVector exp(FloatVector x) {
        return expClamped(x.max(FastMath.LOW).min(FastMath.HIGH));
    }

    /**
     * {@link #exp} of lanes at most 0 (a softmax's {@code x - max}), or NaN: the same bits without the upper clamp,
     * which cannot change them (one operation of fifteen fewer, in the loop a prefill spends most of its attention in).
     */
    static FloatVector expOfNonPositive(FloatVector x) {
        return expClamped(x.max(FastMath.LOW));
    }

    /** e^v for v already clamped to FastMath's range. */
    private static FloatVector expClamped(FloatVector v) {
        FloatVector t = v.fma(LOG2E, ROUND);
        FloatVector k = t.sub(FastMath.ROUND);
        FloatVector r = k.fma(MINUS_LN2_LO, k.fma(MINUS_LN2_HI, v));
        FloatVector p = C7.fma(r, C6).fma(r, C5).fma(r, C4).fma(r, C3).fma(r, C2).fma(r, ONE).fma(r, ONE);
        IntVector twoToK = t.reinterpretAsInts().sub(ROUND_BITS_LESS_BIAS).lanewise(VectorOperators.LSHL, 23);
        return p.mul(twoToK.reinterpretAsFloats());
    }

    static void expInPlace(float[] a, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) exp(FloatVector.fromArray(F, a, i)).intoArray(a, i);
        for (; i < n; i++) a[i] = FastMath.exp(a[i]);
    }

    /**
     * {@link FastMath#swiglu} eight lanes at a time, over {@code [off, off + n)} of both arrays: one pass, and an
     * offset costs a vector loop nothing (it stops the JIT from vectorizing the scalar loops).
     */
    static void swiglu(float[] gate, float[] up, int off, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector g = FloatVector.fromArray(F, gate, off + i);
            FloatVector e = exp(g.neg());
            g.div(e.add(1f)).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) gate[off + i] = gate[off + i] / (1f + FastMath.exp(-gate[off + i])) * up[off + i];
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
            float[] g = x.clone(), u = new float[g.length], gs = g.clone();
            for (int i = 0; i < u.length; i++) u[i] = (i % 13) * 0.29f - 1.7f;
            swiglu(g, u, 3, 250);
            FastMath.swigluScalar(gs, u, 3, 250);
            if (!java.util.Arrays.equals(g, gs)) return false;
            return true;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }
}
