package org.mergelab.model;

/**
 * exp in float, within an ulp of {@code (float) Math.exp} (max relative error 7.9e-8 over every float in [-87, 0],
 * 8.4e-8 before the fused multiply-adds) and several times faster: softmax over every cached position and SiLU over
 * every MLP unit call it often enough for {@code Math.exp} to dominate small models. x = k ln2 + r with
 * |r| <= ln2/2; e^r by its Taylor series to degree 7, in fused multiply-adds (one rounding each, and half the
 * vector instructions); 2^k put into a float's exponent bits. The array form runs the float arithmetic in one loop the JIT vectorizes and
 * the exponent bits in a second, since moving bits between int and float keeps a loop scalar.
 */
final class FastMath {
    static final float LOG2E = 1.44269504088896341f;
    static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    static final float ROUND = 12582912f; // 1.5 * 2^23: (x + ROUND) - ROUND rounds x to an integer
    static final float LOW = -87.3f, HIGH = 88.0f; // e^x stays a normal float

    /**
     * Whether {@link #expInPlace} runs on the JDK's Vector API ({@link VectorExp}, with the same bits): the JVM has
     * the incubator module, {@code -Dmergelab.vector=false} does not turn it off, and the check passes.
     */
    static final boolean VECTOR = Boolean.parseBoolean(System.getProperty("mergelab.vector", "true"))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && VectorExp.works();

    private FastMath() {}

    static float exp(float x) {
        float v = Math.min(Math.max(x, LOW), HIGH);
        float k = Math.fma(v, LOG2E, ROUND) - ROUND;
        return taylor(Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, v))) * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /**
     * {@code a[0..n) = e^a[0..n)}; {@code k} is scratch of at least n floats. (Both arrays indexed alike from 0:
     * with an offset on one of them the JIT no longer vectorizes the first loop, which costs a factor of five.)
     */
    static void expInPlace(float[] a, int n, float[] k) {
        if (VECTOR) {
            VectorExp.expInPlace(a, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            float v = Math.min(Math.max(a[i], LOW), HIGH);
            float ki = Math.fma(v, LOG2E, ROUND) - ROUND;
            k[i] = ki;
            a[i] = taylor(Math.fma(ki, -LN2_LO, Math.fma(ki, -LN2_HI, v)));
        }
        for (int i = 0; i < n; i++) a[i] *= Float.intBitsToFloat(((int) k[i] + 127) << 23);
    }

    /**
     * {@code gate = silu(gate) * up = gate / (1 + e^-gate) * up} over {@code [off, off + n)} of both arrays, in
     * place: SwiGLU's activation.
     */
    static void swiglu(float[] gate, float[] up, int off, int n) {
        if (VECTOR) {
            VectorExp.swiglu(gate, up, off, n);
            return;
        }
        swigluScalar(gate, up, off, n);
    }

    /** {@link #swiglu} without the Vector API: the same operations, so the same bits. */
    static void swigluScalar(float[] gate, float[] up, int off, int n) {
        for (int i = off; i < off + n; i++) gate[i] = gate[i] / (1f + exp(-gate[i])) * up[i];
    }

    /** e^r by its Taylor series to degree 7, Horner's rule in fused multiply-adds. */
    private static float taylor(float r) {
        float p = Math.fma(1.0f / 5040, r, 1.0f / 720);
        p = Math.fma(p, r, 1.0f / 120);
        p = Math.fma(p, r, 1.0f / 24);
        p = Math.fma(p, r, 1.0f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1.0f);
        return Math.fma(p, r, 1.0f);
    }
}
