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

    /**
     * Whether the JVM has the Vector API ({@code --add-modules jdk.incubator.vector}, as bin/mergelab starts it) and
     * it is not turned off with {@code -Dmergelab.vector=false}; then bf16 goes through {@link VectorConversions}.
     */
    static final boolean VECTOR = Boolean.parseBoolean(System.getProperty("mergelab.vector", "true"))
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && VectorCheck.works();

    /** Loads the vector kernels once and checks them against the scalar conversions; any failure keeps the scalar ones. */
    private static final class VectorCheck {
        static boolean works() {
            try {
                float[] in = {1f, -2.5f, 3.14159f, Float.NaN, 1e-40f, 65504f, -0f, 0.1f, 7f, 8f, 9f, 10f, 11f, 12f,
                        13f, 14f, 15f, 16f, 1.00390625f, 1.01171875f};
                ByteBuffer b = ByteBuffer.allocate(in.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                VectorConversions.floatsToBf16(in, 0, in.length, b, 0);
                for (int i = 0; i < in.length; i++) {
                    if (b.getShort(i * 2) != Half.floatToBf16(in[i])) return false;
                }
                float[] back = new float[in.length];
                VectorConversions.bf16ToFloats(b, 0, back, 0, in.length);
                for (int i = 0; i < in.length; i++) {
                    if (Float.floatToRawIntBits(back[i]) != Float.floatToRawIntBits(Half.bf16ToFloat(b.getShort(i * 2)))) {
                        return false;
                    }
                }
                warmUp();
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }

        /**
         * Vector API loops run many times slower than scalar code until the JIT has compiled them; short calls on a
         * small buffer get them compiled in a fraction of a second, before any real tensor passes through.
         */
        private static void warmUp() {
            ByteBuffer b = ByteBuffer.allocateDirect(512).order(ByteOrder.LITTLE_ENDIAN);
            float[] f = new float[256];
            for (int i = 0; i < f.length; i++) f[i] = i * 0.37f - 100f;
            KernelWarmUp w = new KernelWarmUp();
            while (w.more()) {
                long t = System.nanoTime();
                VectorConversions.floatsToBf16(f, 0, f.length, b, 0);
                VectorConversions.bf16ToFloats(b, 0, f, 0, f.length);
                w.took(System.nanoTime() - t);
            }
        }
    }
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
                if (VECTOR) {
                    VectorConversions.bf16ToFloats(le, base, dst, dstOff, n);
                    return;
                }
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
                if (VECTOR && dtype == DType.BF16) {
                    VectorConversions.floatsToBf16(src, from, n, le, base);
                    return;
                }
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
