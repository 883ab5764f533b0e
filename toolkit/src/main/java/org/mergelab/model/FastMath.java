package org.mergelab.model;

/**
 * exp in float, within an ulp of {@code (float) Math.exp} (measured max relative error 8.4e-8 over [-87, 0]) and
 * several times faster: softmax over every cached position and SiLU over every MLP unit call it often enough for
 * {@code Math.exp} to dominate small models. x = k ln2 + r with |r| <= ln2/2; e^r by its Taylor series to degree 7;
 * 2^k put into a float's exponent bits. The array form runs the float arithmetic in one loop the JIT vectorizes and
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
        float k = (v * LOG2E + ROUND) - ROUND;
        return taylor(v - k * LN2_HI - k * LN2_LO) * Float.intBitsToFloat(((int) k + 127) << 23);
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
            float ki = (v * LOG2E + ROUND) - ROUND;
            k[i] = ki;
            a[i] = taylor(v - ki * LN2_HI - ki * LN2_LO);
        }
        for (int i = 0; i < n; i++) a[i] *= Float.intBitsToFloat(((int) k[i] + 127) << 23);
    }

    private static float taylor(float r) {
        float p = 1.0f / 5040;
        p = p * r + 1.0f / 720;
        p = p * r + 1.0f / 120;
        p = p * r + 1.0f / 24;
        p = p * r + 1.0f / 6;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        return p * r + 1.0f;
    }
}
