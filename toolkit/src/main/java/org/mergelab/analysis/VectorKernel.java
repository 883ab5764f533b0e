package org.mergelab.analysis;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.mergelab.io.DType;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PairKernel}'s sums with the JDK's Vector API: the same double accumulation, a lane per element. C2 does not
 * vectorise floating-point reductions by itself (it must keep Java's order of additions), and the scalar loop,
 * bound by conversions and additions, runs at a third to a fifth of this speed; this is what brings the divergence of
 * two bf16 checkpoints close to the time it takes to read them.
 *
 * <p>Loaded only when the JVM runs with {@code --add-modules jdk.incubator.vector} (see {@link PairKernel#VECTOR}).
 * The result differs from the scalar loop's only in the order of the double additions.
 */
final class VectorKernel {
    // Loads, bf16 widening and sign counts use 256-bit vectors like every Vector API kernel of MergeLab: C2
    // intrinsifies the shared float/int reinterpretation only while its type profile sees one vector class, and
    // kernels of two float widths in one JVM (a notebook that compares, then merges) turn each other's into slow Java
    // fallbacks.
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    /**
     * Where the CPU has 512-bit registers, the doubles take them: one conversion then widens a whole 256-bit float
     * vector, where two halves each needed an extract and a conversion, and the kernel runs at the rate of its
     * multiply-adds (one per element and sum), 1.55 times the 256-bit loop's speed on Zen 4. Only double vectors
     * are wide, which leaves the other kernels' code alone (measured: a forward pass, a merge and a divergence keep
     * their speed in one JVM, whichever runs first). {@code -Dmergelab.vector.wide=false} keeps 256-bit doubles; the
     * build runs the kernels' tests once each way.
     */
    static final boolean WIDE = Boolean.parseBoolean(System.getProperty("mergelab.vector.wide", "true"))
            && DoubleVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    static final VectorSpecies<Double> D = WIDE ? DoubleVector.SPECIES_512 : DoubleVector.SPECIES_256;
    /** Whether a float vector widens into two double vectors (256-bit doubles) rather than one. */
    static final boolean HALVES = D.length() < F.length();
    /** Elements per step: one 16-lane load of 16-bit inputs, four 256-bit or two 512-bit double vectors per input. */
    private static final int STEP = S.length();

    private VectorKernel() {}

    /** Lanes per step, for the description of the kernel in use. */
    static String describe() {
        return "Vector API, " + D.length() + " doubles per vector";
    }

    /**
     * Adds the sums over {@code n} elements of two little-endian buffers of {@code dtype} (BF16 or F32), starting at
     * element {@code xAt} / {@code yAt}. The whole run is one call, so the loop is hot enough for the JIT to compile
     * it within the first chunk (the Vector API is slow until it does); NaN or infinity sends just the blocks that
     * hold them through the scalar loop that leaves them out.
     */
    static void chunk(DType dtype, ByteBuffer x, int xAt, ByteBuffer y, int yAt, int n, PairKernel.Sums s) {
        boolean bf16 = dtype == DType.BF16;
        for (int b = 0; b < n; b += PairKernel.BLOCK) {
            int m = Math.min(PairKernel.BLOCK, n - b);
            boolean done = bf16 ? bf16(x, xAt + b, y, yAt + b, m, s) : f32(x, xAt + b, y, yAt + b, m, s);
            if (!done) PairKernel.slow(dtype, x, xAt + b, y, yAt + b, m, s);
        }
    }

    /**
     * Sums over {@code n} bf16 elements of {@code x} and {@code y}, starting at element {@code xAt} / {@code yAt} of
     * the (little-endian) buffers. Returns false, adding nothing, when the block holds a NaN or an infinity.
     */
    static boolean bf16(ByteBuffer x, int xAt, ByteBuffer y, int yAt, int n, PairKernel.Sums s) {
        DoubleVector z = DoubleVector.zero(D);
        DoubleVector dot0 = z, dot1 = z, dot2 = z, dot3 = z, aa0 = z, aa1 = z, aa2 = z, aa3 = z;
        DoubleVector bb0 = z, bb1 = z, bb2 = z, bb3 = z, dd0 = z, dd1 = z, dd2 = z, dd3 = z;
        // Sign flips counted on the stored 16-bit values: half the width of counting them on 32-bit lanes. A lane
        // adds at most n / STEP <= BLOCK / 16 = 128 ones per call, and all lanes at most BLOCK: a short holds both.
        ShortVector flips = ShortVector.zero(S);
        int i = 0;
        for (; i + STEP <= n; i += STEP) {
            ShortVector sx = ShortVector.fromByteBuffer(S, x, (xAt + i) << 1, ByteOrder.LITTLE_ENDIAN);
            ShortVector sy = ShortVector.fromByteBuffer(S, y, (yAt + i) << 1, ByteOrder.LITTLE_ENDIAN);
            flips = flips.add(oppositeSigns(sx, sy));
            // Each 32-bit lane of the load holds two bf16 values, so one operation widens eight of them: shifted up,
            // the even-numbered elements; masked, the odd ones. The sums then add in another order, nothing else.
            IntVector ix = sx.reinterpretAsInts(), iy = sy.reinterpretAsInts();
            FloatVector fx0 = ix.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector fx1 = ix.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector fy0 = iy.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector fy1 = iy.and(0xFFFF0000).reinterpretAsFloats();
            DoubleVector x0 = (DoubleVector) fx0.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector x1 = (DoubleVector) fx1.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector y0 = (DoubleVector) fy0.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector y1 = (DoubleVector) fy1.convertShape(VectorOperators.F2D, D, 0);
            dot0 = x0.fma(y0, dot0);
            dot1 = x1.fma(y1, dot1);
            aa0 = x0.fma(x0, aa0);
            aa1 = x1.fma(x1, aa1);
            bb0 = y0.fma(y0, bb0);
            bb1 = y1.fma(y1, bb1);
            DoubleVector d0 = y0.sub(x0), d1 = y1.sub(x1);
            dd0 = d0.fma(d0, dd0);
            dd1 = d1.fma(d1, dd1);
            if (HALVES) {
                DoubleVector x2 = (DoubleVector) fx0.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector x3 = (DoubleVector) fx1.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector y2 = (DoubleVector) fy0.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector y3 = (DoubleVector) fy1.convertShape(VectorOperators.F2D, D, 1);
                dot2 = x2.fma(y2, dot2);
                dot3 = x3.fma(y3, dot3);
                aa2 = x2.fma(x2, aa2);
                aa3 = x3.fma(x3, aa3);
                bb2 = y2.fma(y2, bb2);
                bb3 = y3.fma(y3, bb3);
                DoubleVector d2 = y2.sub(x2), d3 = y3.sub(x3);
                dd2 = d2.fma(d2, dd2);
                dd3 = d3.fma(d3, dd3);
            }
        }
        PairKernel.Sums tail = new PairKernel.Sums();
        for (; i < n; i++) {
            PairKernel.addScalar(PairKernel.bf16At(x, xAt + i), PairKernel.bf16At(y, yAt + i), tail);
        }
        return finish(dot0.add(dot2).add(dot1.add(dot3)), aa0.add(aa2).add(aa1.add(aa3)),
                bb0.add(bb2).add(bb1.add(bb3)), dd0.add(dd2).add(dd1.add(dd3)), flips.reduceLanes(VectorOperators.ADD),
                tail, s);
    }

    /** The same over float32 buffers. */
    static boolean f32(ByteBuffer x, int xAt, ByteBuffer y, int yAt, int n, PairKernel.Sums s) {
        DoubleVector z = DoubleVector.zero(D);
        DoubleVector dot0 = z, dot1 = z, dot2 = z, dot3 = z, aa0 = z, aa1 = z, aa2 = z, aa3 = z;
        DoubleVector bb0 = z, bb1 = z, bb2 = z, bb3 = z, dd0 = z, dd1 = z, dd2 = z, dd3 = z;
        IntVector flips = IntVector.zero(I);
        int half = F.length();
        int i = 0;
        for (; i + STEP <= n; i += STEP) {
            FloatVector fx0 = FloatVector.fromByteBuffer(F, x, (xAt + i) << 2, ByteOrder.LITTLE_ENDIAN);
            FloatVector fx1 = FloatVector.fromByteBuffer(F, x, (xAt + i + half) << 2, ByteOrder.LITTLE_ENDIAN);
            FloatVector fy0 = FloatVector.fromByteBuffer(F, y, (yAt + i) << 2, ByteOrder.LITTLE_ENDIAN);
            FloatVector fy1 = FloatVector.fromByteBuffer(F, y, (yAt + i + half) << 2, ByteOrder.LITTLE_ENDIAN);
            flips = flips.add(oppositeSigns(fx0.reinterpretAsInts(), fy0.reinterpretAsInts()))
                    .add(oppositeSigns(fx1.reinterpretAsInts(), fy1.reinterpretAsInts()));
            DoubleVector x0 = (DoubleVector) fx0.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector x1 = (DoubleVector) fx1.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector y0 = (DoubleVector) fy0.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector y1 = (DoubleVector) fy1.convertShape(VectorOperators.F2D, D, 0);
            dot0 = x0.fma(y0, dot0);
            dot1 = x1.fma(y1, dot1);
            aa0 = x0.fma(x0, aa0);
            aa1 = x1.fma(x1, aa1);
            bb0 = y0.fma(y0, bb0);
            bb1 = y1.fma(y1, bb1);
            DoubleVector d0 = y0.sub(x0), d1 = y1.sub(x1);
            dd0 = d0.fma(d0, dd0);
            dd1 = d1.fma(d1, dd1);
            if (HALVES) {
                DoubleVector x2 = (DoubleVector) fx0.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector x3 = (DoubleVector) fx1.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector y2 = (DoubleVector) fy0.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector y3 = (DoubleVector) fy1.convertShape(VectorOperators.F2D, D, 1);
                dot2 = x2.fma(y2, dot2);
                dot3 = x3.fma(y3, dot3);
                aa2 = x2.fma(x2, aa2);
                aa3 = x3.fma(x3, aa3);
                bb2 = y2.fma(y2, bb2);
                bb3 = y3.fma(y3, bb3);
                DoubleVector d2 = y2.sub(x2), d3 = y3.sub(x3);
                dd2 = d2.fma(d2, dd2);
                dd3 = d3.fma(d3, dd3);
            }
        }
        PairKernel.Sums tail = new PairKernel.Sums();
        for (; i < n; i++) PairKernel.addScalar(x.getFloat((xAt + i) << 2), y.getFloat((yAt + i) << 2), tail);
        return finish(dot0.add(dot2).add(dot1.add(dot3)), aa0.add(aa2).add(aa1.add(aa3)),
                bb0.add(bb2).add(bb1.add(bb3)), dd0.add(dd2).add(dd1.add(dd3)), flips.reduceLanes(VectorOperators.ADD),
                tail, s);
    }

    /** {@link #oppositeSigns(IntVector, IntVector)} for 16-bit patterns (bf16: the sign is bit 15). */
    private static ShortVector oppositeSigns(ShortVector sx, ShortVector sy) {
        ShortVector nonZeroX = sx.and((short) 0x7fff).add((short) 0x7fff);
        ShortVector nonZeroY = sy.and((short) 0x7fff).add((short) 0x7fff);
        return sx.lanewise(VectorOperators.XOR, sy).and(nonZeroX).and(nonZeroY).lanewise(VectorOperators.LSHR, 15);
    }

    /**
     * 1 where two float bit patterns have opposite signs and neither is zero, else 0: with {@code m} the magnitude
     * bits, {@code m + 0x7fffffff} has its top bit set exactly when {@code m != 0}.
     */
    private static IntVector oppositeSigns(IntVector bx, IntVector by) {
        IntVector nonZeroX = bx.and(0x7fffffff).add(0x7fffffff);
        IntVector nonZeroY = by.and(0x7fffffff).add(0x7fffffff);
        return bx.lanewise(VectorOperators.XOR, by).and(nonZeroX).and(nonZeroY)
                .lanewise(VectorOperators.LSHR, 31);
    }

    /**
     * The lanes' sums added up; false, adding nothing, where one is not finite. Takes the vectors only once, after
     * the loop: a helper called per step with vector arguments can be compiled on its own before its caller, and
     * then it runs the Vector API's slow Java fallback (the loops above are written out for this reason).
     */
    private static boolean finish(DoubleVector dotV, DoubleVector aaV, DoubleVector bbV, DoubleVector ddV, long flips,
                                  PairKernel.Sums tail, PairKernel.Sums s) {
        double dot = dotV.reduceLanes(VectorOperators.ADD) + tail.dot;
        double aa = aaV.reduceLanes(VectorOperators.ADD) + tail.aa;
        double bb = bbV.reduceLanes(VectorOperators.ADD) + tail.bb;
        double dd = ddV.reduceLanes(VectorOperators.ADD) + tail.dd;
        if (!Double.isFinite(dot + aa + bb + dd)) return false;
        s.dot += dot;
        s.aa += aa;
        s.bb += bb;
        s.dd += dd;
        s.flips += flips + tail.flips;
        return true;
    }
}
