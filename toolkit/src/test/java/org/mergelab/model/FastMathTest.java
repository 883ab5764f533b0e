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
    void theVectorSwigluGivesTheScalarBitsAtAnyOffset() {
        java.util.Random r = new java.util.Random(5);
        float[] gate = new float[400], up = new float[400];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) (r.nextGaussian() * (i < 200 ? 3 : 60)); // beyond exp's clamps too
            up[i] = (float) r.nextGaussian();
        }
        gate[7] = -0f;
        gate[8] = Float.NaN;
        for (int off : new int[] {0, 1, 7, 13}) {
            for (int n : new int[] {1, 8, 9, 250, 387}) {
                float[] v = gate.clone(), s = gate.clone();
                VectorExp.swiglu(v, up, off, n);
                FastMath.swigluScalar(s, up, off, n);
                for (int i = 0; i < gate.length; i++) {
                    assertEquals(Float.floatToRawIntBits(s[i]), Float.floatToRawIntBits(v[i]),
                            "offset " + off + ", " + n + " elements, element " + i);
                }
                float x = gate[off], y = x / (1f + (float) Math.exp(-x)) * up[off];
                if (!Float.isNaN(x)) assertEquals(y, v[off], 1e-6f * Math.max(1f, Math.abs(y)), "silu(x) * up");
            }
        }
    }
}
