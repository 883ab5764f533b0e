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
}
