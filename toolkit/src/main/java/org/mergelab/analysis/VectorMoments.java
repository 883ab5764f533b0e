package org.mergelab.analysis;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The task-vector statistics that need no table, with the JDK's Vector API, a lane per element: Σδ², Σ|δ|,
 * Σ(δ − mean)² and Σ(δ − mean)⁴ accumulated in double, the zeros, and the magnitudes at or below up to four
 * thresholds. These took two thirds of the scalar statistics loop; what stays scalar in {@link TaskVectorScan} is the
 * per-cell count, which no vector does. Loaded only when the JVM has the Vector API (see {@link PairKernel#VECTOR}).
 */
final class VectorMoments {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    // Doubles as wide as VectorKernel's: loops that widen the same floats to two double widths in one JVM slow each
    // other down (measured with VectorKernel's own two loops).
    private static final VectorSpecies<Double> D = VectorKernel.WIDE ? DoubleVector.SPECIES_512 : DoubleVector.SPECIES_256;
    /** Whether a float vector widens into two double vectors (256-bit doubles) rather than one. */
    private static final boolean HALVES = D.length() < F.length();

    private VectorMoments() {}

    /**
     * Adds {Σδ², Σ|δ|, Σ(δ − mean)², Σ(δ − mean)⁴} over {@code d[0..n)} to {@code sums[0..4)}, and the number of zeros
     * and of magnitudes whose bit pattern is below {@code q[k]} (as {@link TaskVectorScan#atOrBelowBits} gives them)
     * to {@code counts[0]} and {@code counts[1 + k]}, for the first four thresholds.
     */
    static void of(float[] d, int n, double mean, int[] q, double[] sums, long[] counts) {
        DoubleVector z = DoubleVector.zero(D), meanV = DoubleVector.broadcast(D, mean);
        DoubleVector sq0 = z, abs0 = z, c20 = z, c40 = z, sq1 = z, abs1 = z, c21 = z, c41 = z;
        IntVector zi = IntVector.zero(I);
        IntVector zeros = zi, below0 = zi, below1 = zi, below2 = zi, below3 = zi;
        int q0 = q.length > 0 ? q[0] : 0, q1 = q.length > 1 ? q[1] : 0;
        int q2 = q.length > 2 ? q[2] : 0, q3 = q.length > 3 ? q[3] : 0;
        int step = F.length();
        int i = 0;
        for (; i + step <= n; i += step) {
            FloatVector f = FloatVector.fromArray(F, d, i);
            IntVector m = f.reinterpretAsInts().and(0x7fffffff);
            // 1 where the pattern is below the bound, from the sign of the difference (both are non-negative ints).
            zeros = zeros.add(m.sub(1).lanewise(VectorOperators.LSHR, 31));
            below0 = below0.add(m.sub(q0).lanewise(VectorOperators.LSHR, 31));
            below1 = below1.add(m.sub(q1).lanewise(VectorOperators.LSHR, 31));
            below2 = below2.add(m.sub(q2).lanewise(VectorOperators.LSHR, 31));
            below3 = below3.add(m.sub(q3).lanewise(VectorOperators.LSHR, 31));
            DoubleVector v0 = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
            sq0 = v0.fma(v0, sq0);
            abs0 = abs0.add(v0.abs());
            DoubleVector c0 = v0.sub(meanV), c02 = c0.mul(c0);
            c20 = c20.add(c02);
            c40 = c02.fma(c02, c40);
            if (HALVES) {
                DoubleVector v1 = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 1);
                sq1 = v1.fma(v1, sq1);
                abs1 = abs1.add(v1.abs());
                DoubleVector c1 = v1.sub(meanV), c12 = c1.mul(c1);
                c21 = c21.add(c12);
                c41 = c12.fma(c12, c41);
            }
        }
        double sumSq = sq0.add(sq1).reduceLanes(VectorOperators.ADD);
        double sumAbs = abs0.add(abs1).reduceLanes(VectorOperators.ADD);
        double m2 = c20.add(c21).reduceLanes(VectorOperators.ADD);
        double m4 = c40.add(c41).reduceLanes(VectorOperators.ADD);
        long nz = zeros.reduceLanesToLong(VectorOperators.ADD);
        long n0 = below0.reduceLanesToLong(VectorOperators.ADD), n1 = below1.reduceLanesToLong(VectorOperators.ADD);
        long n2 = below2.reduceLanesToLong(VectorOperators.ADD), n3 = below3.reduceLanesToLong(VectorOperators.ADD);
        for (; i < n; i++) {
            double v = d[i], c = v - mean, c2 = c * c;
            sumSq += v * v;
            sumAbs += Math.abs(v);
            m2 += c2;
            m4 += c2 * c2;
            int m = TopK.magnitudeBits(d[i]);
            nz += (m - 1) >>> 31;
            n0 += (m - q0) >>> 31;
            n1 += (m - q1) >>> 31;
            n2 += (m - q2) >>> 31;
            n3 += (m - q3) >>> 31;
        }
        sums[0] += sumSq;
        sums[1] += sumAbs;
        sums[2] += m2;
        sums[3] += m4;
        counts[0] += nz;
        counts[1] += n0;
        counts[2] += n1;
        counts[3] += n2;
        counts[4] += n3;
    }
}
