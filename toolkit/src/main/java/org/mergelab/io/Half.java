package org.mergelab.io;

/**
 * Conversions between float32 and the 16-bit storage formats. Narrowing rounds to nearest, ties to even,
 * exactly as torch's {@code .to(torch.bfloat16)} and {@code .to(torch.float16)} do, so merged checkpoints
 * carry the same bits as the reference.
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
            case F32:
            case F64:
                break;
            default:
                throw new IllegalArgumentException("cannot round to non-float dtype " + dtype);
        }
    }
}
