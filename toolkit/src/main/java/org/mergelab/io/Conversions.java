package org.mergelab.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Supplier;

/**
 * Bulk conversion between stored element types and the float32 that all arithmetic uses. Works in chunks through a
 * per-thread scratch array, so the inner loops are plain array loops the JIT vectorises, and nothing is allocated
 * per tensor.
 */
final class Conversions {
    private static final int CHUNK = 1 << 16;
    private static final ThreadLocal<short[]> SHORTS = ThreadLocal.withInitial(() -> new short[CHUNK]);

    private Conversions() {}

    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int n, Supplier<String> where) {
        switch (dtype) {
            case F32 -> b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, 0, n);
            case BF16 -> {
                java.nio.ShortBuffer sb = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                short[] s = SHORTS.get();
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    sb.get(s, 0, len);
                    for (int i = 0; i < len; i++) dst[off + i] = Float.intBitsToFloat(s[i] << 16);
                }
            }
            case F16 -> {
                java.nio.ShortBuffer sb = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                short[] s = SHORTS.get();
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    sb.get(s, 0, len);
                    for (int i = 0; i < len; i++) dst[off + i] = Half.fp16ToFloat(s[i]);
                }
            }
            case F64 -> {
                java.nio.DoubleBuffer db = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                for (int i = 0; i < n; i++) dst[i] = (float) db.get(i);
            }
            default -> throw new CheckpointException(where.get() + " has dtype " + dtype
                    + ", which cannot be read as floating point");
        }
    }

    /** Encodes {@code src[from, from+n)} into {@code out} (little-endian, from its position) as {@code dtype}. */
    static void fromFloats(float[] src, int from, int n, DType dtype, ByteBuffer out) {
        switch (dtype) {
            case F32 -> out.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(src, from, n);
            case BF16, F16 -> {
                java.nio.ShortBuffer sb = out.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                short[] s = SHORTS.get();
                boolean bf16 = dtype == DType.BF16;
                for (int off = 0; off < n; off += CHUNK) {
                    int len = Math.min(CHUNK, n - off);
                    if (bf16) {
                        for (int i = 0; i < len; i++) s[i] = Half.floatToBf16(src[from + off + i]);
                    } else {
                        for (int i = 0; i < len; i++) s[i] = Half.floatToFp16(src[from + off + i]);
                    }
                    sb.put(s, 0, len);
                }
            }
            case F64 -> {
                java.nio.DoubleBuffer db = out.order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                for (int i = 0; i < n; i++) db.put(src[from + i]);
            }
            default -> throw new IllegalArgumentException("cannot store floats as " + dtype);
        }
    }

    static void fromFloats(float[] src, int n, DType dtype, ByteBuffer out) {
        fromFloats(src, 0, n, dtype, out);
    }
}
