package org.mergelab.merge;

import org.mergelab.io.DType;
import org.mergelab.io.Half;

/**
 * The dtype torch computes a method's arithmetic in, as rounding rules. torch does bfloat16 and float16 arithmetic
 * on the CPU by converting each operand to float32, computing one operation, and rounding the result back; a method
 * that mergekit runs in the working dtype therefore calls {@link #r} after every operation torch performs as a
 * separate step, and gets torch's bits. In float32, {@code r} is the identity and Java's float arithmetic is
 * already torch's.
 *
 * <p>How torch treats a Python scalar (or a 0-dim float32 tensor) beside a half-precision tensor depends on the
 * operation and on the side it is written on: {@code x * s} and {@code x / s} use the scalar in float32
 * ({@link #times}, {@link #over}); addition, subtraction, comparisons, clamps, and a 0-dim tensor written first
 * ({@code s_tensor * x}) round it to the tensor's dtype first ({@link #scalar}); {@code s / x} is computed as
 * {@code reciprocal(x) * s}. (A Python scalar written first, {@code s * x}, is {@code x * s}.)
 */
final class Precision {
    static final Precision F32 = new Precision(DType.F32);

    private final DType dtype;
    private final boolean half;

    private Precision(DType dtype) {
        this.dtype = dtype;
        this.half = dtype == DType.BF16 || dtype == DType.F16;
    }

    static Precision of(DType d) {
        return d == DType.BF16 || d == DType.F16 ? new Precision(d) : F32;
    }

    DType dtype() { return dtype; }

    /** Whether this is a 16-bit format (bfloat16 or float16). */
    boolean half() { return half; }

    /** Rounds one float32 result to the working dtype. */
    float r(float x) {
        if (!half) return x;
        return dtype == DType.BF16 ? Half.roundToBf16(x) : Half.roundToFp16(x);
    }

    /** Rounds a double (a reduction accumulated in double, a scalar) to float32 and then to the working dtype. */
    float r(double x) {
        return r((float) x);
    }

    void round(float[] a, int n) {
        if (half) Half.roundInPlace(a, n, dtype);
    }

    /** A Python scalar as torch uses it in addition, subtraction, comparison and clamping: in the working dtype. */
    float scalar(double s) {
        return r((float) s);
    }

    /** {@code x * s} for a Python scalar {@code s}: the scalar stays float32, the product is rounded. */
    float times(float x, double s) {
        return r(x * (float) s);
    }

    /** {@code x / s} for a Python scalar {@code s}. */
    float over(float x, double s) {
        return r(x / (float) s);
    }

    /** {@code s / x}, which torch computes as {@code x.reciprocal() * s}. */
    float scalarOver(double s, float x) {
        return r(r(1f / x) * (float) s);
    }
}
