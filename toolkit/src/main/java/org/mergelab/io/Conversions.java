package org.mergelab.io;

import java.nio.ByteBuffer;
import java.util.function.Supplier;

/** Bulk conversion between stored element types and the float32 that all arithmetic uses. */
final class Conversions {
    private Conversions() {}

    static void toFloats(ByteBuffer b, DType dtype, float[] dst, int n, Supplier<String> where) {
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(dst, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[i] = Half.bf16ToFloat(b.getShort(i << 1));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) dst[i] = Half.fp16ToFloat(b.getShort(i << 1));
            }
            case F64 -> {
                for (int i = 0; i < n; i++) dst[i] = (float) b.getDouble(i << 3);
            }
            default -> throw new CheckpointException(where.get() + " has dtype " + dtype
                    + ", which cannot be read as floating point");
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
            default -> throw new IllegalArgumentException("cannot store floats as " + dtype);
        }
    }
}
