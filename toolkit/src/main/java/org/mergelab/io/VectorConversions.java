package org.mergelab.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * bfloat16 ↔ float32 with the JDK's Vector API: the same bits as {@link Half}'s scalar conversions (a widening shift
 * one way, round-to-nearest-even on the dropped half the other), eight lanes at a time. C2 does not
 * vectorise the scalar loops (the float/int reinterpretation and the NaN test stop it), and a merge converts every
 * element of every input, so this is a large share of its time.
 *
 * <p>Loaded only when the JVM runs with {@code --add-modules jdk.incubator.vector} ({@link Conversions#VECTOR}).
 */
final class VectorConversions {
    // 256-bit vectors, as in every Vector API kernel of MergeLab, even where the CPU has wider ones: C2 intrinsifies
    // the shared float/int reinterpretation only while its type profile sees one vector class, and a kernel of
    // another width in the same JVM turns the others into slow Java fallbacks (ten times slower, measured).
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /** bf16 loads: sixteen at a time, the same shape as the divergence kernel's loads (one class per shared intrinsic). */
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    /** bf16 stores: eight at a time, the narrowing of one float vector (the only user of this shape's stores). */
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int L = I.length();

    private VectorConversions() {}

    /** {@code n} bf16 values from byte {@code at} of {@code b} (little-endian) into {@code dst[off..)}. */
    static void bf16ToFloats(ByteBuffer b, int at, float[] dst, int off, int n) {
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            ShortVector s = ShortVector.fromByteBuffer(S16, b, at + (i << 1), ByteOrder.LITTLE_ENDIAN);
            IntVector lo = ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16);
            IntVector hi = ((IntVector) s.convertShape(VectorOperators.S2I, I, 1)).lanewise(VectorOperators.LSHL, 16);
            lo.reinterpretAsFloats().intoArray(dst, off + i);
            hi.reinterpretAsFloats().intoArray(dst, off + i + L);
        }
        for (; i < n; i++) dst[off + i] = Half.bf16ToFloat(b.getShort(at + (i << 1)));
    }

    /** {@code src[from, from+n)} rounded to bf16 (nearest, ties to even; NaN stays NaN) into byte {@code at} of {@code b}. */
    static void floatsToBf16(float[] src, int from, int n, ByteBuffer b, int at) {
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector x = FloatVector.fromArray(F, src, from + i).reinterpretAsInts();
            IntVector bias = x.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF);
            IntVector rounded = x.add(bias).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = x.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            IntVector quiet = x.lanewise(VectorOperators.LSHR, 16).or(0x0040);
            IntVector out = rounded.blend(quiet, nan);
            ShortVector s = (ShortVector) out.convertShape(VectorOperators.I2S, S, 0);
            s.intoByteBuffer(b, at + (i << 1), ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < n; i++) b.putShort(at + (i << 1), Half.floatToBf16(src[from + i]));
    }
}
