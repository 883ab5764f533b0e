package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;

/**
 * Exhaustive checks of the 16-bit conversions against an independent decoding written from the IEEE 754 / bfloat16
 * definitions (value = (-1)^s * 2^(e - bias) * 1.m, subnormals m * 2^(1 - bias - mantissaBits)), and against
 * round-to-nearest-even at every midpoint between neighbouring representable values.
 */
class HalfTest {
    private static final int FP16_MAX_FINITE = 0x7BFF; // 65504
    private static final int BF16_MAX_FINITE = 0x7F7F; // (2 - 2^-7) * 2^127

    /** IEEE binary16: 5 exponent bits (bias 15), 10 mantissa bits. */
    private static float fp16Reference(int h) {
        int s = (h >>> 15) & 1, e = (h >>> 10) & 0x1F, m = h & 0x3FF;
        float v;
        if (e == 0x1F) {
            v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (e == 0) {
            v = Math.scalb((float) m, -24); // m/1024 * 2^-14
        } else {
            v = Math.scalb((float) (1024 + m), e - 15 - 10);
        }
        return s == 1 ? -v : v;
    }

    /** bfloat16: 8 exponent bits (bias 127), 7 mantissa bits. */
    private static float bf16Reference(int h) {
        int s = (h >>> 15) & 1, e = (h >>> 7) & 0xFF, m = h & 0x7F;
        float v;
        if (e == 0xFF) {
            v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (e == 0) {
            v = Math.scalb((float) m, -133); // m/128 * 2^-126
        } else {
            v = Math.scalb((float) (128 + m), e - 127 - 7);
        }
        return s == 1 ? -v : v;
    }

    private static boolean isFp16NaN(int h) {
        return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    }

    private static boolean isBf16NaN(int h) {
        return (h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0;
    }

    @Test
    void fp16DecodeMatchesDefinitionForAllPatterns() {
        for (int h = 0; h < 0x10000; h++) {
            float got = Half.fp16ToFloat((short) h);
            float want = fp16Reference(h);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got), "fp16 NaN pattern must decode to NaN");
                assertEquals(h >>> 15, Float.floatToRawIntBits(got) >>> 31, "NaN sign");
            } else if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want)) {
                fail(String.format("fp16 0x%04x decodes to %s, expected %s", h, got, want));
            }
        }
    }

    @Test
    void bf16DecodeMatchesDefinitionForAllPatterns() {
        for (int h = 0; h < 0x10000; h++) {
            float got = Half.bf16ToFloat((short) h);
            float want = bf16Reference(h);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got));
                assertEquals(h >>> 15, Float.floatToRawIntBits(got) >>> 31, "NaN sign");
            } else if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want)) {
                fail(String.format("bf16 0x%04x decodes to %s, expected %s", h, got, want));
            }
        }
    }

    @Test
    void fp16RoundTripIsExactAndNaNStaysNaN() {
        for (int h = 0; h < 0x10000; h++) {
            int back = Half.floatToFp16(Half.fp16ToFloat((short) h)) & 0xFFFF;
            if (isFp16NaN(h)) {
                if (!isFp16NaN(back)) fail(String.format("fp16 NaN 0x%04x came back as 0x%04x", h, back));
                assertEquals(h & 0x8000, back & 0x8000, "NaN keeps its sign");
            } else if (back != h) {
                fail(String.format("fp16 0x%04x came back as 0x%04x", h, back));
            }
        }
    }

    @Test
    void bf16RoundTripIsExactAndNaNStaysNaN() {
        for (int h = 0; h < 0x10000; h++) {
            int back = Half.floatToBf16(Half.bf16ToFloat((short) h)) & 0xFFFF;
            if (isBf16NaN(h)) {
                if (!isBf16NaN(back)) fail(String.format("bf16 NaN 0x%04x came back as 0x%04x", h, back));
                assertEquals(h & 0x8000, back & 0x8000, "NaN keeps its sign");
            } else if (back != h) {
                fail(String.format("bf16 0x%04x came back as 0x%04x", h, back));
            }
        }
    }

    /**
     * For every pair of neighbouring finite values (a, b) (positive; the negative side by symmetry): the exact midpoint
     * goes to whichever has the even mantissa, anything a float ulp above goes to b, a float ulp below to a.
     */
    private interface Codec {
        float decode(int h);

        int encode(float f);
    }

    private static void checkMidpoints(Codec c, int maxFinite, String what) {
        for (int h = 0; h < maxFinite; h++) {
            float a = c.decode(h), b = c.decode(h + 1);
            double exactMid = ((double) a + (double) b) / 2;
            float mid = (float) exactMid;
            assertEquals(exactMid, mid, 0.0, "midpoint must be exact in float32");
            int even = (h & 1) == 0 ? h : h + 1;
            check(c.encode(mid), even, what, mid);
            check(c.encode(-mid), even | 0x8000, what, -mid);
            check(c.encode(Math.nextUp(mid)), h + 1, what, Math.nextUp(mid));
            check(c.encode(Math.nextDown(mid)), h, what, Math.nextDown(mid));
            check(c.encode(-Math.nextUp(mid)), (h + 1) | 0x8000, what, -Math.nextUp(mid));
            check(c.encode(-Math.nextDown(mid)), h | 0x8000, what, -Math.nextDown(mid));
        }
    }

    private static void check(int got, int want, String what, float x) {
        if ((got & 0xFFFF) != want) {
            fail(String.format("%s(%s = 0x%08x) gave 0x%04x, expected 0x%04x", what, x, Float.floatToRawIntBits(x),
                    got & 0xFFFF, want));
        }
    }

    @Test
    void fp16RoundsToNearestEvenAtEveryMidpoint() {
        checkMidpoints(new Codec() {
            public float decode(int h) { return fp16Reference(h); }

            public int encode(float f) { return Half.floatToFp16(f); }
        }, FP16_MAX_FINITE, "floatToFp16");
    }

    @Test
    void bf16RoundsToNearestEvenAtEveryMidpoint() {
        checkMidpoints(new Codec() {
            public float decode(int h) { return bf16Reference(h); }

            public int encode(float f) { return Half.floatToBf16(f); }
        }, BF16_MAX_FINITE, "floatToBf16");
    }

    @Test
    void fp16OverflowsToInfinityFrom65520() {
        // Largest half is 65504 = (2 - 2^-10) * 2^15; the next step would be 65536, so the midpoint is 65520.
        // 0x7BFF has an odd mantissa, so the tie goes "up" to the even pattern 0x7C00, which is infinity.
        assertEquals(65504f, Half.fp16ToFloat((short) FP16_MAX_FINITE));
        assertEquals(0x7C00, Half.floatToFp16(65520f) & 0xFFFF);
        assertEquals(0xFC00, Half.floatToFp16(-65520f) & 0xFFFF);
        assertEquals(0x7BFF, Half.floatToFp16(Math.nextDown(65520f)) & 0xFFFF);
        assertEquals(0xFBFF, Half.floatToFp16(-Math.nextDown(65520f)) & 0xFFFF);
        assertEquals(0x7BFF, Half.floatToFp16(65519f) & 0xFFFF);
        assertEquals(0x7C00, Half.floatToFp16(Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0x7C00, Half.floatToFp16(Float.POSITIVE_INFINITY) & 0xFFFF);
        assertEquals(0xFC00, Half.floatToFp16(Float.NEGATIVE_INFINITY) & 0xFFFF);
        assertEquals(Float.POSITIVE_INFINITY, Half.roundToFp16(1e6f));
    }

    @Test
    void bf16OverflowFollowsTheSameTieRule() {
        // Largest bf16 0x7F7F = 0x7F7F0000 as float; the midpoint towards 2^128 is 0x7F7F8000, a tie with an odd
        // mantissa, so it becomes infinity; one float ulp below stays finite.
        float mid = Float.intBitsToFloat(0x7F7F8000);
        assertEquals(0x7F80, Half.floatToBf16(mid) & 0xFFFF);
        assertEquals(0x7F7F, Half.floatToBf16(Math.nextDown(mid)) & 0xFFFF);
        assertEquals(0x7F80, Half.floatToBf16(Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0xFF80, Half.floatToBf16(Float.NEGATIVE_INFINITY) & 0xFFFF);
    }

    @Test
    void subnormalsAndSignedZeros() {
        // fp16 smallest subnormal is 2^-24; half of it, 2^-25, is a tie between 0 (even) and 0x0001 -> 0.
        assertEquals(0x0001, Half.floatToFp16(0x1p-24f) & 0xFFFF);
        assertEquals(0x0000, Half.floatToFp16(0x1p-25f) & 0xFFFF);
        assertEquals(0x0001, Half.floatToFp16(Math.nextUp(0x1p-25f)) & 0xFFFF);
        assertEquals(0x8000, Half.floatToFp16(-0x1p-25f) & 0xFFFF, "rounds to negative zero");
        assertEquals(0x8000, Half.floatToFp16(-Float.MIN_VALUE) & 0xFFFF);
        // 1.5 * 2^-24 is a tie between 0x0001 and 0x0002 -> 0x0002 (even); 2.5 * 2^-24 -> 0x0002 as well.
        assertEquals(0x0002, Half.floatToFp16(1.5f * 0x1p-24f) & 0xFFFF);
        assertEquals(0x0002, Half.floatToFp16(2.5f * 0x1p-24f) & 0xFFFF);
        // Largest subnormal 1023 * 2^-24; the tie with the smallest normal 2^-14 (0x0400) goes to 0x0400.
        assertEquals(1023 * 0x1p-24f, Half.fp16ToFloat((short) 0x03FF));
        assertEquals(0x0400, Half.floatToFp16(1023.5f * 0x1p-24f) & 0xFFFF);
        assertEquals(0x1p-14f, Half.fp16ToFloat((short) 0x0400));
        // Signed zeros survive both ways, in both formats.
        assertEquals(0x0000, Half.floatToFp16(0f) & 0xFFFF);
        assertEquals(0x8000, Half.floatToFp16(-0f) & 0xFFFF);
        assertEquals(0x80000000, Float.floatToRawIntBits(Half.fp16ToFloat((short) 0x8000)));
        assertEquals(0x0000, Half.floatToBf16(0f) & 0xFFFF);
        assertEquals(0x8000, Half.floatToBf16(-0f) & 0xFFFF);
        assertEquals(0x80000000, Float.floatToRawIntBits(Half.bf16ToFloat((short) 0x8000)));
        // bf16 subnormals: smallest is 2^-133; float subnormals below half of it round to zero.
        assertEquals(0x0001, Half.floatToBf16(0x1p-133f) & 0xFFFF);
        assertEquals(0x0000, Half.floatToBf16(0x1p-134f) & 0xFFFF);
        assertEquals(0x8000, Half.floatToBf16(-0x1p-134f) & 0xFFFF);
    }

    @Test
    void knownValues() {
        // 1/3 in float32 is 0x3EAAAAAB; the dropped 16 bits 0xAAAB are above half (0x8000) -> 0x3EAB = 171/512.
        assertEquals(0x3EAB, Half.floatToBf16(1f / 3) & 0xFFFF);
        assertEquals(171f / 512, Half.roundToBf16(1f / 3));
        // 0.1 = 1.6 * 2^-4; 0.6 * 1024 = 614.4 -> 614, so fp16(0.1) = 1638/16384 = 0.0999755859375 (0x2E66).
        assertEquals(0x2E66, Half.floatToFp16(0.1f) & 0xFFFF);
        assertEquals(0.0999755859375f, Half.roundToFp16(0.1f));
        float[] xs = {1f / 3, 0.1f, -2.5f};
        Half.roundInPlace(xs, 2, DType.BF16);
        assertEquals(171f / 512, xs[0]);
        assertEquals(Half.roundToBf16(0.1f), xs[1]);
        assertEquals(-2.5f, xs[2], "only the first length elements are rounded");
    }
}
