package org.mergelab.merge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.mergelab.io.Half;
import org.mergelab.io.KernelWarmUp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of SLERP and of torch's reductions on eight-lane float vectors, torch's own lane width (its AVX2
 * kernels), so each lane adds in the same order as torch's and the results keep its bits: the same IEEE operations
 * as the scalar loops, eight at a time. Loaded only where the JVM has the Vector API ({@link VectorSupport#ENABLED}).
 */
final class VectorLanes {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    // bf16 is loaded sixteen at a time and widened in two halves, the shapes of io's bf16 decoder: one vector class
    // per shared intrinsic, so neither kernel turns the other's into the Vector API's slow Java fallback.
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;

    private VectorLanes() {}

    /** {@code acc[j] += x[off + d + j]²} for each vector of eight, over {@code full} elements (a multiple of 8). */
    static void sumSquares(float[] acc, float[] x, int off, int full) {
        FloatVector a = FloatVector.fromArray(F8, acc, 0);
        for (int d = 0; d < full; d += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, off + d);
            a = a.add(v.mul(v));
        }
        a.intoArray(acc, 0);
    }

    /** {@code accA[j] += a[d + j]²} and {@code accB[j] += b[d + j]²}: two norms in one pass, two chains at once. */
    static void sumSquares(float[] accA, float[] a, float[] accB, float[] b, int full) {
        FloatVector sa = FloatVector.fromArray(F8, accA, 0), sb = FloatVector.fromArray(F8, accB, 0);
        for (int d = 0; d < full; d += 8) {
            FloatVector x = FloatVector.fromArray(F8, a, d), y = FloatVector.fromArray(F8, b, d);
            sa = sa.add(x.mul(x));
            sb = sb.add(y.mul(y));
        }
        sa.intoArray(accA, 0);
        sb.intoArray(accB, 0);
    }

    /** {@code acc[0..32) += x[at..at+32)} for {@code rows} consecutive rows: rows of torch's cascade sum. */
    static void addRows(float[] acc, float[] x, int at, int rows) {
        FloatVector s0 = FloatVector.fromArray(F8, acc, 0), s1 = FloatVector.fromArray(F8, acc, 8),
                s2 = FloatVector.fromArray(F8, acc, 16), s3 = FloatVector.fromArray(F8, acc, 24);
        for (int r = 0; r < rows; r++, at += 32) {
            s0 = s0.add(FloatVector.fromArray(F8, x, at));
            s1 = s1.add(FloatVector.fromArray(F8, x, at + 8));
            s2 = s2.add(FloatVector.fromArray(F8, x, at + 16));
            s3 = s3.add(FloatVector.fromArray(F8, x, at + 24));
        }
        s0.intoArray(acc, 0);
        s1.intoArray(acc, 8);
        s2.intoArray(acc, 16);
        s3.intoArray(acc, 24);
    }

    /** {@link #addRows} of the products {@code (a[i] / na) · (b[i] / nb)}, never stored. */
    static void addProductRows(float[] acc, float[] a, float[] b, int at, float na, float nb, int rows) {
        FloatVector s0 = FloatVector.fromArray(F8, acc, 0), s1 = FloatVector.fromArray(F8, acc, 8),
                s2 = FloatVector.fromArray(F8, acc, 16), s3 = FloatVector.fromArray(F8, acc, 24);
        for (int r = 0; r < rows; r++, at += 32) {
            s0 = s0.add(FloatVector.fromArray(F8, a, at).div(na).mul(FloatVector.fromArray(F8, b, at).div(nb)));
            s1 = s1.add(FloatVector.fromArray(F8, a, at + 8).div(na).mul(FloatVector.fromArray(F8, b, at + 8).div(nb)));
            s2 = s2.add(FloatVector.fromArray(F8, a, at + 16).div(na).mul(FloatVector.fromArray(F8, b, at + 16).div(nb)));
            s3 = s3.add(FloatVector.fromArray(F8, a, at + 24).div(na).mul(FloatVector.fromArray(F8, b, at + 24).div(nb)));
        }
        s0.intoArray(acc, 0);
        s1.intoArray(acc, 8);
        s2.intoArray(acc, 16);
        s3.intoArray(acc, 24);
    }

    /** {@code out[off + i] = ca·a[i] + cb·b[i]} (two products, then their sum: no fused multiply-add). */
    static void interpolate(float ca, float[] a, float cb, float[] b, float[] out, int off, int n) {
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector x = FloatVector.fromArray(F8, a, i).mul(ca);
            FloatVector y = FloatVector.fromArray(F8, b, i).mul(cb);
            x.add(y).intoArray(out, off + i);
        }
        for (; i < n; i++) out[off + i] = ca * a[i] + cb * b[i];
    }

    /*
     * The same loops reading bf16 straight from a tensor's stored bytes ({@code at}: the first element's index).
     * Widening bf16 is exact, and each float vector holds eight consecutive elements as the float[] loops' do, so
     * every lane adds the same values in the same order: the bits do not change. What changes is the memory traffic:
     * no float copy of each piece is written and read back.
     */

    /** {@link #sumSquares(float[], float[], float[], float[], int)} over bf16 elements {@code [at, at + full)}, full a multiple of 16. */
    static void sumSquaresBf16(float[] accA, ByteBuffer a, float[] accB, ByteBuffer b, int at, int full) {
        FloatVector sa = FloatVector.fromArray(F8, accA, 0), sb = FloatVector.fromArray(F8, accB, 0);
        for (int d = 0; d < full; d += 16) {
            ShortVector ha = ShortVector.fromByteBuffer(S16, a, (at + d) << 1, ByteOrder.LITTLE_ENDIAN);
            ShortVector hb = ShortVector.fromByteBuffer(S16, b, (at + d) << 1, ByteOrder.LITTLE_ENDIAN);
            FloatVector x0 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y0 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            sa = sa.add(x0.mul(x0));
            sb = sb.add(y0.mul(y0));
            FloatVector x1 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y1 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            sa = sa.add(x1.mul(x1));
            sb = sb.add(y1.mul(y1));
        }
        sa.intoArray(accA, 0);
        sb.intoArray(accB, 0);
    }

    /** {@link #addProductRows} over bf16 elements: {@code rows} rows of 32 from element {@code at} of both. */
    static void addProductRowsBf16(float[] acc, ByteBuffer a, ByteBuffer b, int at, float na, float nb, int rows) {
        FloatVector s0 = FloatVector.fromArray(F8, acc, 0), s1 = FloatVector.fromArray(F8, acc, 8),
                s2 = FloatVector.fromArray(F8, acc, 16), s3 = FloatVector.fromArray(F8, acc, 24);
        // Written out rather than through a widening helper: a helper taking vectors can be compiled on its own
        // before this loop is, and then it boxes every vector it is given.
        for (int r = 0; r < rows; r++, at += 32) {
            ShortVector ha = ShortVector.fromByteBuffer(S16, a, at << 1, ByteOrder.LITTLE_ENDIAN);
            ShortVector hb = ShortVector.fromByteBuffer(S16, b, at << 1, ByteOrder.LITTLE_ENDIAN);
            FloatVector x0 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y0 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector x1 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y1 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            s0 = s0.add(x0.div(na).mul(y0.div(nb)));
            s1 = s1.add(x1.div(na).mul(y1.div(nb)));
            ShortVector ha2 = ShortVector.fromByteBuffer(S16, a, (at + 16) << 1, ByteOrder.LITTLE_ENDIAN);
            ShortVector hb2 = ShortVector.fromByteBuffer(S16, b, (at + 16) << 1, ByteOrder.LITTLE_ENDIAN);
            FloatVector x2 = ((IntVector) ha2.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y2 = ((IntVector) hb2.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector x3 = ((IntVector) ha2.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y3 = ((IntVector) hb2.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            s2 = s2.add(x2.div(na).mul(y2.div(nb)));
            s3 = s3.add(x3.div(na).mul(y3.div(nb)));
        }
        s0.intoArray(acc, 0);
        s1.intoArray(acc, 8);
        s2.intoArray(acc, 16);
        s3.intoArray(acc, 24);
    }

    /** {@link #interpolate} from bf16 elements {@code [at, at + n)} of both, {@code n} a multiple of 16. */
    static void interpolateBf16(float ca, ByteBuffer a, float cb, ByteBuffer b, int at, float[] out, int off, int n) {
        for (int i = 0; i < n; i += 16) {
            ShortVector ha = ShortVector.fromByteBuffer(S16, a, (at + i) << 1, ByteOrder.LITTLE_ENDIAN);
            ShortVector hb = ShortVector.fromByteBuffer(S16, b, (at + i) << 1, ByteOrder.LITTLE_ENDIAN);
            FloatVector x0 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y0 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            x0.mul(ca).add(y0.mul(cb)).intoArray(out, off + i);
            FloatVector x1 = ((IntVector) ha.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector y1 = ((IntVector) hb.convertShape(VectorOperators.S2I, I8, 1))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            x1.mul(ca).add(y1.mul(cb)).intoArray(out, off + i + 8);
        }
    }

    /** Loads the class once, checks it against scalar arithmetic and warms it up; any failure keeps scalar loops. */
    static final class Check {
        static boolean works() {
            try {
                float[] a = new float[64], b = new float[64], out = new float[64], acc = new float[32];
                for (int i = 0; i < 64; i++) {
                    a[i] = i * 0.1f - 3f;
                    b[i] = 1f / (i + 1);
                }
                addProductRows(acc, a, b, 0, 3f, 7f, 2);
                for (int j = 0; j < 32; j++) {
                    if (acc[j] != (a[j] / 3f) * (b[j] / 7f) + (a[32 + j] / 3f) * (b[32 + j] / 7f)) return false;
                }
                ByteBuffer ha = ByteBuffer.allocateDirect(128).order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer hb = ByteBuffer.allocateDirect(128).order(ByteOrder.LITTLE_ENDIAN);
                float[] ra = new float[64], rb = new float[64], accBf16 = new float[32], accF = new float[32];
                for (int i = 0; i < 64; i++) {
                    ha.putShort(2 * i, Half.floatToBf16(a[i]));
                    hb.putShort(2 * i, Half.floatToBf16(b[i]));
                    ra[i] = Half.roundToBf16(a[i]);
                    rb[i] = Half.roundToBf16(b[i]);
                }
                addProductRowsBf16(accBf16, ha, hb, 0, 3f, 7f, 2);
                addProductRows(accF, ra, rb, 0, 3f, 7f, 2);
                if (!java.util.Arrays.equals(accBf16, accF)) return false;
                KernelWarmUp w = new KernelWarmUp();
                while (w.more()) {
                    long t = System.nanoTime();
                    sumSquaresBf16(acc, ha, out, hb, 0, 64);
                    addProductRowsBf16(acc, ha, hb, 0, 3f, 7f, 2);
                    interpolateBf16(0.3f, ha, 0.7f, hb, 0, out, 0, 64);
                    sumSquares(acc, a, 0, 64);
                    sumSquares(acc, a, out, b, 64);
                    addRows(acc, b, 0, 2);
                    addProductRows(acc, a, b, 0, 3f, 7f, 2);
                    interpolate(0.3f, a, 0.7f, b, out, 0, 64);
                    w.took(System.nanoTime() - t);
                }
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }
    }
}
