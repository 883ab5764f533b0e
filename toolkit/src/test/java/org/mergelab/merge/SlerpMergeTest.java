package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SLERP against values worked out by hand from out = sin((1-t)θ)/sin θ · a + sin(tθ)/sin θ · b. */
class SlerpMergeTest {
    private static final float TOL = 1e-6f;

    private static float[] slerp(float t, float[] a, float[] b) {
        return SlerpMerge.slerp(t, a, b, a.length);
    }

    @Test
    void orthogonalUnitVectorsAtHalfGiveCos45() {
        // θ = π/2, sin θ = 1, coefficients sin(π/4) = cos 45° = √2/2 each.
        float c = (float) (Math.sqrt(2) / 2);
        assertArrayEquals(new float[] {c, c}, slerp(0.5f, new float[] {1, 0}, new float[] {0, 1}), TOL);
        // t = 1/3: (sin(π/3), sin(π/6)) = (√3/2, 1/2); the result stays on the unit circle.
        assertArrayEquals(new float[] {(float) (Math.sqrt(3) / 2), 0.5f},
                slerp(1f / 3, new float[] {1, 0}, new float[] {0, 1}), TOL);
        // Scale does not change the angle: a = (3, 0), b = (0, 2) at t = 0.5 -> (3·√2/2, 2·√2/2).
        assertArrayEquals(new float[] {3 * c, 2 * c}, slerp(0.5f, new float[] {3, 0}, new float[] {0, 2}), TOL);
    }

    @Test
    void generalAngle() {
        // a = (1, 0), b = (-1, 1): cos θ = -1/√2, θ = 3π/4, sin θ = √2/2. At t = 0.5 both coefficients are
        // sin(3π/8)/(√2/2) = 0.92387953/0.70710678 = 1.30656296, so out = 1.30656296·(0, 1).
        double k = Math.sin(3 * Math.PI / 8) / (Math.sqrt(2) / 2);
        assertArrayEquals(new float[] {0f, (float) k}, slerp(0.5f, new float[] {1, 0}, new float[] {-1, 1}), 1e-6f);
        SlerpMerge.Coefficients co = SlerpMerge.coefficients(0.5f, new float[] {1, 0}, new float[] {-1, 1}, 2);
        assertFalse(co.linear());
        assertEquals(-Math.sqrt(0.5), co.cosine(), 1e-6);
        assertEquals(k, co.ofA(), 1e-6);
        assertEquals(k, co.ofB(), 1e-6);
    }

    @Test
    void endpointsReturnTheInputs() {
        float[] a = {0.3f, -1.2f, 2.5f, 0.01f};
        float[] b = {-0.7f, 0.4f, 1.1f, -2.0f};
        assertArrayEquals(a, slerp(0f, a, b), 1e-6f);
        assertArrayEquals(b, slerp(1f, a, b), 1e-6f);
    }

    @Test
    void nearlyColinearFallsBackToLerp() {
        // b = 2a: cos θ = 1 > 0.9995, so out = (1-t)a + t·2a = (1+t)a, not a rotation.
        float[] a = {1, 2, 3};
        float[] b = {2, 4, 6};
        assertArrayEquals(new float[] {1.25f, 2.5f, 3.75f}, slerp(0.25f, a, b), TOL);
        assertTrue(SlerpMerge.coefficients(0.25f, a, b, 3).linear());
        // Just inside the threshold: a = (1, 0), b = (1, 0.02): cos θ = 1/√1.0004 = 0.99980 > 0.9995 -> lerp:
        // t = 0.5 -> (1, 0.01).
        assertArrayEquals(new float[] {1f, 0.01f}, slerp(0.5f, new float[] {1, 0}, new float[] {1, 0.02f}), TOL);
        assertTrue(SlerpMerge.coefficients(0.5f, new float[] {1, 0}, new float[] {1, 0.02f}, 2).linear());
        // Just outside: b = (1, 0.04): cos θ = 1/√1.0016 = 0.99920 < 0.9995 -> a true slerp, whose midpoint has the
        // norm of the inputs' arc, not of their chord: |out| > |(a+b)/2|.
        SlerpMerge.Coefficients c = SlerpMerge.coefficients(0.5f, new float[] {1, 0}, new float[] {1, 0.04f}, 2);
        assertFalse(c.linear());
        double theta = Math.acos(1 / Math.sqrt(1.0016));
        assertEquals(Math.sin(theta / 2) / Math.sin(theta), c.ofA(), 1e-4);
    }

    @Test
    void oppositeVectorsAreColinearToo() {
        // b = -a: cos θ = -1, |cos θ| > 0.9995 -> lerp: (1-t)a - t·a = (1-2t)a; zero at t = 0.5.
        float[] a = {1, -2, 0.5f};
        float[] b = {-1, 2, -0.5f};
        assertArrayEquals(new float[] {0, 0, 0}, slerp(0.5f, a, b), TOL);
        assertArrayEquals(new float[] {0.5f, -1f, 0.25f}, slerp(0.25f, a, b), TOL);
        assertTrue(SlerpMerge.coefficients(0.5f, a, b, 3).linear());
    }

    @Test
    void zeroBaseIsNotNormalised() {
        // |a| = 0 <= eps: a is divided by 1, so cos θ = 0, θ = π/2, and out = 0·... + sin(tπ/2)·b.
        float[] a = {0, 0, 0};
        float[] b = {0, 3, -4};
        float s = (float) Math.sin(0.3 * Math.PI / 2); // 0.45399
        assertArrayEquals(new float[] {0, 3 * s, -4 * s}, slerp(0.3f, a, b), TOL);
        // A tiny but non-zero base (|a| = 1e-9 <= eps = 1e-8) is not normalised either: cos θ = 1e-9·1 ≈ 0, so even
        // though a and b point the same way this is a quarter-circle slerp, not the colinear lerp:
        // t = 0.5 -> sin(π/4)·a + sin(π/4)·b ≈ (0.70711, 0) rather than (a + b)/2 ≈ (0.5, 0).
        SlerpMerge.Coefficients tiny = SlerpMerge.coefficients(0.5f, new float[] {1e-9f, 0}, new float[] {1, 0}, 2);
        assertFalse(tiny.linear());
        assertEquals(0, tiny.cosine(), 1e-8);
        assertArrayEquals(new float[] {(float) Math.sqrt(0.5), 0},
                slerp(0.5f, new float[] {1e-9f, 0}, new float[] {1, 0}), TOL);
        // Just above eps, the base is normalised and the pair is colinear: lerp.
        assertTrue(SlerpMerge.coefficients(0.5f, new float[] {1e-7f, 0}, new float[] {1, 0}, 2).linear());
        // Both zero: everything stays zero (no NaN from 0/0).
        assertArrayEquals(new float[] {0, 0}, slerp(0.5f, new float[2], new float[2]), 0f);
    }

    @Test
    void negativeComponents() {
        // a = (-1, 0), b = (0, -1): orthogonal again, t = 0.5 -> (-√2/2, -√2/2).
        float c = (float) (Math.sqrt(2) / 2);
        assertArrayEquals(new float[] {-c, -c}, slerp(0.5f, new float[] {-1, 0}, new float[] {0, -1}), TOL);
    }

    @Test
    void mergeUsesTheBaseIndexAndOnlyTheFirstNumelElements() {
        // The base is input 1 here: slerp from b (base) towards a at t = 0.25 = (cos 22.5°, sin 22.5°) in (base, other).
        float[] other = {1, 0, 99};
        float[] base = {0, 1, 99};
        TensorInputs in = new TensorInputs("w", new long[] {2}, List.of(other, base), List.of("x", "base"), 1,
                Map.of("t", 0.25), List.of(Map.of(), Map.of()));
        float[] out = new SlerpMerge().merge(in);
        double cos = Math.cos(Math.PI / 8), sin = Math.sin(Math.PI / 8);
        assertEquals(sin, out[0], 1e-6);
        assertEquals(cos, out[1], 1e-6);
        assertSame(base, in.base());
    }

    @Test
    void bf16InputsStreamedFromTheirBytesEqualTheWholeMerge() throws java.io.IOException {
        // Three chunks, the last neither a multiple of 16 nor of a 32-element cascade row.
        int n = 2 * TensorStream.CHUNK + 1_003;
        float[] a = TorchReductionsTest.vector(11, n), b = TorchReductionsTest.vector(12, n);
        for (int i = 0; i < n; i++) b[i] = 0.8f * a[i] + 0.6f * b[i];
        java.nio.ByteBuffer ha = TorchReductionsTest.bf16Bytes(a, 0), hb = TorchReductionsTest.bf16Bytes(b, 0);
        TensorInputs whole = new TensorInputs("w", new long[] {n}, List.of(a, b), List.of("base", "x"), 0,
                Map.of("t", 0.3), List.of(Map.of(), Map.of()));
        float[] expected = new SlerpMerge().merge(whole).clone();

        TensorInputs meta = new TensorInputs("w", new long[] {n}, List.of(new float[0], new float[0]),
                List.of("base", "x"), 0, Map.of("t", 0.3), List.of(Map.of(), Map.of()));
        int[] floatReads = {0};
        TensorStream stream = new TensorStream(meta, n, new TensorStream.Reader() {
            @Override
            public void read(int input, long offset, float[] dst, int len) {
                floatReads[0]++;
                System.arraycopy(input == 0 ? a : b, (int) offset, dst, 0, len);
            }

            @Override
            public java.nio.ByteBuffer bf16(int input) {
                return input == 0 ? ha : hb;
            }
        });
        float[] got = new float[n];
        new SlerpMerge().stream(stream, (chunk, data, len) ->
                System.arraycopy(data, 0, got, chunk * TensorStream.CHUNK, len));
        if (VectorSupport.ENABLED) assertEquals(0, floatReads[0], "the passes read the bf16 bytes, not float pieces");
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(got[i]), "element " + i);
        }
    }
}
