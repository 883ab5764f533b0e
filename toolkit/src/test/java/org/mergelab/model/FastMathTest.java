package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The float exp behind softmax and SiLU: its vector form keeps the scalar bits, and both stay within an ulp. */
class FastMathTest {
    @Test
    void theVectorFormIsInUseUnderTheTestJvm() {
        // Surefire starts the JVM with the Vector API module, as bin/mergelab and the notebook kernel do.
        assertTrue(FastMath.VECTOR);
    }

    @Test
    void theArrayFormGivesTheScalarBitsAndStaysWithinAnUlpOfMathExp() {
        int n = 100_003; // not a multiple of the vector width: the scalar tail runs too
        float[] x = new float[n], k = new float[n];
        for (int i = 0; i < n; i++) x[i] = -95f + 190f * i / n; // both clamps, the whole normal range, zero
        float[] e = x.clone();
        FastMath.expInPlace(e, n, k);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(FastMath.exp(x[i])), Float.floatToRawIntBits(e[i]), "e^" + x[i]);
            float clamped = Math.min(Math.max(x[i], -87.3f), 88.0f);
            double exact = Math.exp(clamped);
            worst = Math.max(worst, Math.abs(e[i] - exact) / exact);
        }
        assertTrue(worst < 1.2e-7, "max relative error " + worst);
    }

    @Test
    void theVectorSoftmaxGivesTheScalarBits() {
        java.util.Random r = new java.util.Random(3);
        for (int len = 1; len <= 300; len++) {
            for (int kind = 0; kind < 3; kind++) {
                float[] v = new float[len];
                for (int i = 0; i < len; i++) v[i] = (float) (r.nextGaussian() * (kind == 0 ? 3 : 40));
                if (kind == 2) {
                    // Masked-out positions and signed zeros, as attention rows can hold.
                    v[r.nextInt(len)] = Float.NEGATIVE_INFINITY;
                    v[r.nextInt(len)] = 0f;
                    v[r.nextInt(len)] = -0f;
                }
                float[] w = v.clone();
                VectorExp.softmax(v, len, 0.35355338f);
                Attention.softmaxScalar(w, len, 0.35355338f, new float[len]);
                for (int i = 0; i < len; i++) {
                    assertEquals(Float.floatToRawIntBits(w[i]), Float.floatToRawIntBits(v[i]),
                            "row of " + len + " (kind " + kind + "), element " + i);
                }
            }
        }
        float[] nan = {1f, Float.NaN, 2f, 3f, 4f, 5f, 6f, 7f, 8f};
        float[] nan2 = nan.clone();
        VectorExp.softmax(nan, nan.length, 1f);
        Attention.softmaxScalar(nan2, nan2.length, 1f, new float[nan2.length]);
        for (int i = 0; i < nan.length; i++) assertTrue(Float.isNaN(nan[i]) && Float.isNaN(nan2[i]), "NaN row, " + i);
    }
}
