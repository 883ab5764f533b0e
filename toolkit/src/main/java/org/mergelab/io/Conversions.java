package org.mergelab.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/** Bulk conversion between stored element types and the float32 that all arithmetic uses. */
final class Conversions {
    private Conversions() {}

    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int n, Supplier<String> where) {
        toFloats(b, dtype, dst, 0, n);
    }

    /**
     * Widens {@code n} elements, from the start of {@code b} (little-endian), into {@code dst[dstOff..)}. Integers
     * become the nearest float (exact up to 2^24), as torch's {@code .float()} does; booleans become 0 and 1.
     */
    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int dstOff, int n) {
        ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = b.position();
        switch (dtype) {
            case F32 -> le.position(base).asFloatBuffer().get(dst, dstOff, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Half.bf16ToFloat(le.getShort(base + (i << 1)));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Half.fp16ToFloat(le.getShort(base + (i << 1)));
            }
            case F64 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = (float) le.getDouble(base + (i << 3));
            }
            case F8_E4M3 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Half.f8e4m3ToFloat(le.get(base + i));
            }
            case F8_E5M2 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Half.f8e5m2ToFloat(le.get(base + i));
            }
            case I64 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = (float) le.getLong(base + (i << 3));
            }
            case I32 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = (float) le.getInt(base + (i << 2));
            }
            case I16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = le.getShort(base + (i << 1));
            }
            case I8 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = le.get(base + i);
            }
            case U8 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = le.get(base + i) & 0xFF;
            }
            case BOOL -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = le.get(base + i) != 0 ? 1f : 0f;
            }
        }
    }

    /** Encodes {@code src[0..n)} into {@code out} (little-endian) as {@code dtype}. */
    static void fromFloats(float[] src, int n, DType dtype, ByteBuffer out) {
        switch (dtype) {
            case F32 -> out.asFloatBuffer().put(src, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) out.putShort(i << 1, Half.floatToBf16(src[i]));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out.putShort(i << 1, Half.floatToFp16(src[i]));
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out.putDouble(i << 3, src[i]);
            }
            case F8_E4M3 -> {
                for (int i = 0; i < n; i++) out.put(i, Half.floatToF8e4m3(src[i]));
            }
            case F8_E5M2 -> {
                for (int i = 0; i < n; i++) out.put(i, Half.floatToF8e5m2(src[i]));
            }
            default -> throw new IllegalArgumentException("cannot store floats as " + dtype);
        }
    }
}
