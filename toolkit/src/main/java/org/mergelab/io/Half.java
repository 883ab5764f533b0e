package org.mergelab.io;

/**
 * Conversions between float32 and the 16- and 8-bit storage formats. Narrowing rounds to nearest, ties to even,
 * exactly as torch's {@code .to(torch.bfloat16)}, {@code .to(torch.float16)}, {@code .to(torch.float8_e4m3fn)} and
 * {@code .to(torch.float8_e5m2)} do, so merged checkpoints carry the same bits as the reference.
 */
public final class Half {
    private Half() {}

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) {
            // NaN: keep sign and make sure the payload stays non-zero after truncation.
            return (short) ((x >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((x >>> 16) & 1);
        return (short) ((x + roundingBias) >>> 16);
    }

    /** Rounds a float to the nearest bf16 value and returns it as a float. */
    public static float roundToBf16(float f) {
        return bf16ToFloat(floatToBf16(f));
    }

    public static float fp16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            // Subnormal half: value is mant * 2^-24, exact in float32.
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    public static short floatToFp16(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7FFFFFFF;
        if (abs > 0x7F800000) {
            return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
        }
        if (abs >= 0x477FF000) {
            // At or beyond 65520 (halfway between the largest half and the next power): infinity.
            return (short) (sign | 0x7C00);
        }
        if (abs < 0x38800000) {
            // Below the smallest normal half (2^-14): subnormal or zero, in units of 2^-24.
            int exp = abs >>> 23;
            if (exp < 102) return (short) sign; // below half of the smallest subnormal: rounds to zero
            int mant = (abs & 0x7FFFFF) | 0x800000;
            int shift = 126 - exp; // value = mant * 2^(exp-150); in units of 2^-24 that is mant >> (126-exp)
            int q = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (q & 1) == 1)) q++;
            return (short) (sign | q);
        }
        // Normal range: rebias exponent, round 13 dropped bits to nearest even.
        int r = abs - 0x38000000; // exponent bias 127 -> 15, i.e. subtract 112 << 23
        int q = r >>> 13;
        int rem = r & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (q & 1) == 1)) q++;
        return (short) (sign | q);
    }

    public static float roundToFp16(float f) {
        return fp16ToFloat(floatToFp16(f));
    }

    /** Rounds every element, in place, to what storing it in {@code dtype} would keep. */
    public static void roundInPlace(float[] data, int length, DType dtype) {
        switch (dtype) {
            case BF16:
                for (int i = 0; i < length; i++) data[i] = roundToBf16(data[i]);
                break;
            case F16:
                for (int i = 0; i < length; i++) data[i] = roundToFp16(data[i]);
                break;
            case F8_E4M3:
                for (int i = 0; i < length; i++) data[i] = f8e4m3ToFloat(floatToF8e4m3(data[i]));
                break;
            case F8_E5M2:
                for (int i = 0; i < length; i++) data[i] = f8e5m2ToFloat(floatToF8e5m2(data[i]));
                break;
            case F32:
            case F64:
                break;
            default:
                throw new IllegalArgumentException("cannot round to non-float dtype " + dtype);
        }
    }

    /** The 256 values of each 8-bit format, indexed by code: widening is a table lookup. */
    private static final float[] E4M3_VALUES = new float[256];
    private static final float[] E5M2_VALUES = new float[256];

    static {
        for (int code = 0; code < 256; code++) {
            E4M3_VALUES[code] = decode8(code, 3, 7, false);
            E5M2_VALUES[code] = decode8(code, 2, 15, true);
        }
    }

    /**
     * float8_e4m3fn: 4 exponent bits (bias 7), 3 mantissa bits, no infinities; S.1111.111 is NaN, so the largest
     * finite value is 448.
     */
    public static float f8e4m3ToFloat(byte code) {
        return E4M3_VALUES[code & 0xFF];
    }

    /** float8_e5m2: 5 exponent bits (bias 15), 2 mantissa bits, IEEE-style infinities and NaNs (fp16's top byte). */
    public static float f8e5m2ToFloat(byte code) {
        return E5M2_VALUES[code & 0xFF];
    }

    /**
     * Rounds to the nearest float8_e4m3fn, ties to even. The format has no infinity: as torch's conversion does,
     * anything that rounds past 448 (infinities included) saturates to +-448; NaN stays NaN.
     */
    public static byte floatToF8e4m3(float f) {
        return encode8(f, 3, 7, false);
    }

    /** Rounds to the nearest float8_e5m2, ties to even; values that round past 57344 become infinity. */
    public static byte floatToF8e5m2(float f) {
        return encode8(f, 2, 15, true);
    }

    private static float decode8(int code, int mantBits, int bias, boolean ieee) {
        int sign = code >>> 7;
        int exp = (code >>> mantBits) & ((1 << (7 - mantBits)) - 1);
        int mant = code & ((1 << mantBits) - 1);
        int maxExp = (1 << (7 - mantBits)) - 1;
        float v;
        if (ieee && exp == maxExp) {
            v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (!ieee && exp == maxExp && mant == (1 << mantBits) - 1) {
            v = Float.NaN;
        } else if (exp == 0) {
            v = (float) Math.scalb((double) mant, 1 - bias - mantBits);
        } else {
            v = (float) Math.scalb((double) ((1 << mantBits) | mant), exp - bias - mantBits);
        }
        return sign == 1 ? -v : v;
    }

    /**
     * Scaling a float by a power of two is exact in double, so {@link Math#rint} (round half to even) on the value
     * in units of the target's last place gives the correctly rounded mantissa in one step, with no double rounding.
     */
    private static byte encode8(float f, int mantBits, int bias, boolean ieee) {
        int sign = (Float.floatToRawIntBits(f) >>> 24) & 0x80;
        int nan = 0x7F;
        if (Float.isNaN(f)) return (byte) (sign | nan);
        int maxExp = (1 << (7 - mantBits)) - 1;
        double a = Math.abs((double) f);
        int overflow = ieee ? (maxExp << mantBits) : nan - 1; // infinity for e5m2, +-448 for e4m3fn
        if (Double.isInfinite(a)) return (byte) (sign | overflow);
        int code;
        int minNormalExp = 1 - bias;
        if (a < Math.scalb(1.0, minNormalExp)) {
            // Subnormal (or zero): units of 2^(minNormalExp - mantBits). Rounding up to 2^mantBits lands exactly on
            // the smallest normal's code.
            code = (int) Math.rint(Math.scalb(a, mantBits - minNormalExp));
        } else {
            int e = Math.getExponent(a);
            long q = (long) Math.rint(Math.scalb(a, mantBits - e)); // in [2^m, 2^(m+1)]
            if (q == 1L << (mantBits + 1)) {
                q >>= 1;
                e++;
            }
            int biased = e + bias;
            if (biased > maxExp) return (byte) (sign | overflow);
            code = (biased << mantBits) | (int) (q - (1L << mantBits));
        }
        if (ieee ? code >= (maxExp << mantBits) : code >= nan) return (byte) (sign | overflow);
        return (byte) (sign | code);
    }
}
