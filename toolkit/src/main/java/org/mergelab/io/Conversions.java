package org.mergelab.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.function.Supplier;

/**
 * Bulk conversion between stored element types and the float32 that all arithmetic uses. The common types go
 * through a per-thread scratch array in chunks, so the inner loops are plain array loops the JIT vectorises and
 * nothing is allocated per tensor.
 */
final class Conversions {
    private static final int CHUNK = 1 << 16;
    private static final ThreadLocal<short[]> SHORTS = ThreadLocal.withInitial(() -> new short[CHUNK]);

    private Conversions() {}

    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int n, Supplier<String> where) {
        toFloats(b, dtype, dst, 0, n);
    }

    /**
     * Widens {@code n} elements, from the position of {@code b} (little-endian), into {@code dst[dstOff..)}.
     * Integers become the nearest float (exact up to 2^24), as torch's {@code .float()} does; booleans 0 and 1.
     */
    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int dstOff, int n) {
        ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = b.position();
        switch (dtype) {
            case F32 -> le.position(base).asFloatBuffer().get(dst, dstOff, n);
            case BF16 -> {
                ShortBuffer sb = le.position(base).asShortBuffer();
                short[] s = SHORTS.get();
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    sb.get(s, 0, len);
                    int d = dstOff + off;
                    for (int i = 0; i < len; i++) dst[d + i] = Float.intBitsToFloat(s[i] << 16);
                }
            }
            case F16 -> {
                ShortBuffer sb = le.position(base).asShortBuffer();
                short[] s = SHORTS.get();
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    sb.get(s, 0, len);
                    int d = dstOff + off;
                    for (int i = 0; i < len; i++) dst[d + i] = Half.fp16ToFloat(s[i]);
                }
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

    /** Encodes {@code src[from, from+n)} into {@code out} (little-endian, from its position) as {@code dtype}. */
    static void fromFloats(float[] src, int from, int n, DType dtype, ByteBuffer out) {
        ByteBuffer le = out.order(ByteOrder.LITTLE_ENDIAN);
        int base = le.position();
        switch (dtype) {
            case F32 -> le.asFloatBuffer().put(src, from, n);
            case BF16, F16 -> {
                ShortBuffer sb = le.asShortBuffer();
                short[] s = SHORTS.get();
                boolean bf16 = dtype == DType.BF16;
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    int f = from + off;
                    if (bf16) {
                        for (int i = 0; i < len; i++) s[i] = Half.floatToBf16(src[f + i]);
                    } else {
                        for (int i = 0; i < len; i++) s[i] = Half.floatToFp16(src[f + i]);
                    }
                    sb.put(s, 0, len);
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) le.putDouble(base + (i << 3), src[from + i]);
            }
            case F8_E4M3 -> {
                for (int i = 0; i < n; i++) le.put(base + i, Half.floatToF8e4m3(src[from + i]));
            }
            case F8_E5M2 -> {
                for (int i = 0; i < n; i++) le.put(base + i, Half.floatToF8e5m2(src[from + i]));
            }
            default -> throw new IllegalArgumentException("cannot store floats as " + dtype);
        }
    }

    static void fromFloats(float[] src, int n, DType dtype, ByteBuffer out) {
        fromFloats(src, 0, n, dtype, out);
    }
}
