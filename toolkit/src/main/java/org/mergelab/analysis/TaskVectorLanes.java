package org.mergelab.analysis;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The task-vector statistics that need no table, with the JDK's Vector API, a lane per element, sums accumulated in
 * double: the task vector itself ({@link #delta}), its moments and counts ({@link #moments}) and the top-k sums above
 * each boundary ({@link #aboveSums}). They took most of the scalar loops' time; what stays scalar in
 * {@link TaskVectorScan} is the per-cell count and the collection of the boundary cells' elements, which no vector
 * does. Loaded only when the JVM has the Vector API (see {@link PairKernel#VECTOR}).
 */
final class TaskVectorLanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    // VectorKernel's doubles: loops that widen the same floats to two double widths in one JVM slow each other down.
    private static final VectorSpecies<Double> D = VectorKernel.D;
    private static final boolean HALVES = VectorKernel.HALVES;
    /** DARE's counters and draws, a 64-bit lane per double lane. */
    private static final VectorSpecies<Long> L = D.length() == 8 ? LongVector.SPECIES_512 : LongVector.SPECIES_256;
    /**
     * Whether {@link #dare} should be used: its 64-bit multiplies and long-to-double conversions are single
     * instructions only with AVX-512 (at either vector width). Without it they run the Vector API's fallback: with
     * {@code -XX:UseAVX=2} the task-vector table took 10.8 s with the lanes against 6.5–7.0 s with the scalar draws.
     */
    static final boolean DARE = DoubleVector.SPECIES_PREFERRED.vectorBitSize() >= 512;

    private TaskVectorLanes() {}

    /**
     * Adds {Σδ², Σ|δ|, Σ(δ − mean)², Σ(δ − mean)⁴} over {@code d[0..n)} to {@code sums[0..4)}, and the number of zeros
     * and of magnitudes whose bit pattern is below {@code q[k]} (as {@link TaskVectorScan#atOrBelowBits} gives them)
     * to {@code counts[0]} and {@code counts[1 + k]}, for the first four thresholds.
     */
    static void moments(float[] d, int n, double mean, int[] q, double[] sums, long[] counts) {
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
        sums[0] += sq0.add(sq1).reduceLanes(VectorOperators.ADD);
        sums[1] += abs0.add(abs1).reduceLanes(VectorOperators.ADD);
        sums[2] += c20.add(c21).reduceLanes(VectorOperators.ADD);
        sums[3] += c40.add(c41).reduceLanes(VectorOperators.ADD);
        counts[0] += zeros.reduceLanesToLong(VectorOperators.ADD);
        counts[1] += below0.reduceLanesToLong(VectorOperators.ADD);
        counts[2] += below1.reduceLanesToLong(VectorOperators.ADD);
        counts[3] += below2.reduceLanesToLong(VectorOperators.ADD);
        counts[4] += below3.reduceLanesToLong(VectorOperators.ADD);
        TaskVectorScan.moments(d, i, n, mean, q, sums, counts);
    }

    /**
     * Adds Σ|δ| and Σδ² over the elements of {@code d[0..n)} whose cell (see {@link TaskVectorScan#CELL_SHIFT}) is
     * above {@code cells[k]}, for each k, to {@code out[2k]} and {@code out[2k + 1]}.
     */
    static void aboveSums(float[] d, int n, int[] cells, double[] out) {
        DoubleVector z = DoubleVector.zero(D);
        DoubleVector abs0 = z, sq0 = z, abs1 = z, sq1 = z, abs2 = z, sq2 = z;
        DoubleVector abs0b = z, sq0b = z, abs1b = z, sq1b = z, abs2b = z, sq2b = z;
        IntVector bound0 = IntVector.broadcast(I, cells[0]), bound1 = IntVector.broadcast(I, cells[1]);
        IntVector bound2 = IntVector.broadcast(I, cells[2]);
        int step = F.length();
        int i = 0;
        for (; i + step <= n; i += step) {
            FloatVector f = FloatVector.fromArray(F, d, i).abs();
            IntVector cell = f.reinterpretAsInts().lanewise(VectorOperators.LSHR, TaskVectorScan.CELL_SHIFT);
            // 1 where the element's cell is above the bound, from the sign of the difference; as a double, a factor.
            IntVector above0 = bound0.sub(cell).lanewise(VectorOperators.LSHR, 31);
            IntVector above1 = bound1.sub(cell).lanewise(VectorOperators.LSHR, 31);
            IntVector above2 = bound2.sub(cell).lanewise(VectorOperators.LSHR, 31);
            DoubleVector a = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector w0 = (DoubleVector) above0.convertShape(VectorOperators.I2D, D, 0);
            DoubleVector w1 = (DoubleVector) above1.convertShape(VectorOperators.I2D, D, 0);
            DoubleVector w2 = (DoubleVector) above2.convertShape(VectorOperators.I2D, D, 0);
            DoubleVector t0 = w0.mul(a), t1 = w1.mul(a), t2 = w2.mul(a);
            abs0 = abs0.add(t0);
            sq0 = t0.fma(a, sq0);
            abs1 = abs1.add(t1);
            sq1 = t1.fma(a, sq1);
            abs2 = abs2.add(t2);
            sq2 = t2.fma(a, sq2);
            if (HALVES) {
                DoubleVector b = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector v0 = (DoubleVector) above0.convertShape(VectorOperators.I2D, D, 1);
                DoubleVector v1 = (DoubleVector) above1.convertShape(VectorOperators.I2D, D, 1);
                DoubleVector v2 = (DoubleVector) above2.convertShape(VectorOperators.I2D, D, 1);
                DoubleVector u0 = v0.mul(b), u1 = v1.mul(b), u2 = v2.mul(b);
                abs0b = abs0b.add(u0);
                sq0b = u0.fma(b, sq0b);
                abs1b = abs1b.add(u1);
                sq1b = u1.fma(b, sq1b);
                abs2b = abs2b.add(u2);
                sq2b = u2.fma(b, sq2b);
            }
        }
        double[] sums = {
            abs0.add(abs0b).reduceLanes(VectorOperators.ADD), sq0.add(sq0b).reduceLanes(VectorOperators.ADD),
            abs1.add(abs1b).reduceLanes(VectorOperators.ADD), sq1.add(sq1b).reduceLanes(VectorOperators.ADD),
            abs2.add(abs2b).reduceLanes(VectorOperators.ADD), sq2.add(sq2b).reduceLanes(VectorOperators.ADD)};
        for (; i < n; i++) {
            float f = Math.abs(d[i]);
            int cell = TopK.magnitudeBits(f) >>> TaskVectorScan.CELL_SHIFT;
            double a = f;
            for (int k = 0; k < 3; k++) {
                if (cell > cells[k]) {
                    sums[2 * k] += a;
                    sums[2 * k + 1] += a * a;
                }
            }
        }
        for (int k = 0; k < 6; k++) out[k] += sums[k];
    }

    /**
     * {@link TaskVectorScan#dare}: the same draws (SplitMix64's finaliser on the counter {@code key + i}, exact in
     * 64-bit lanes), the kept elements' sums added in lanes. The draws were a quarter of the scalar table's time. The
     * finaliser is written out in the loop, not in a helper taking vectors (see {@link VectorKernel}'s note on
     * helpers). A lane's keep test is {@link TaskVectorScan#below}'s: 1 when the halved draw is below the halved
     * cutoff, from the sign of their difference; as a double, a factor. No masks: this is the only kernel with 64-bit
     * integer lanes, and mask types shared with the other kernels would widen the JIT's type profiles there.
     */
    static long dare(float[] d, int n, long key, long cutoff, boolean all, double[] sums) {
        DoubleVector z = DoubleVector.zero(D);
        DoubleVector abs0 = z, sq0 = z, abs1 = z, sq1 = z;
        LongVector kept = LongVector.zero(L), lane = kept.addIndex(1), every = LongVector.broadcast(L, all ? 1 : 0);
        int lanes = D.length(), step = F.length();
        long bound = cutoff >>> 1, c1 = 0xBF58476D1CE4E5B9L, c2 = 0x94D049BB133111EBL;
        int i = 0;
        for (; i + step <= n; i += step) {
            FloatVector f = FloatVector.fromArray(F, d, i).abs();
            DoubleVector a0 = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
            LongVector x0 = lane.add(key + i);
            x0 = x0.lanewise(VectorOperators.XOR, x0.lanewise(VectorOperators.LSHR, 30)).mul(c1);
            x0 = x0.lanewise(VectorOperators.XOR, x0.lanewise(VectorOperators.LSHR, 27)).mul(c2);
            x0 = x0.lanewise(VectorOperators.XOR, x0.lanewise(VectorOperators.LSHR, 31));
            LongVector in0 = x0.lanewise(VectorOperators.LSHR, 1).sub(bound).lanewise(VectorOperators.LSHR, 63)
                    .or(every);
            kept = kept.add(in0);
            DoubleVector t0 = a0.mul((DoubleVector) in0.convertShape(VectorOperators.L2D, D, 0));
            abs0 = abs0.add(t0);
            sq0 = t0.fma(a0, sq0);
            if (HALVES) {
                DoubleVector a1 = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 1);
                LongVector x1 = lane.add(key + i + lanes);
                x1 = x1.lanewise(VectorOperators.XOR, x1.lanewise(VectorOperators.LSHR, 30)).mul(c1);
                x1 = x1.lanewise(VectorOperators.XOR, x1.lanewise(VectorOperators.LSHR, 27)).mul(c2);
                x1 = x1.lanewise(VectorOperators.XOR, x1.lanewise(VectorOperators.LSHR, 31));
                LongVector in1 = x1.lanewise(VectorOperators.LSHR, 1).sub(bound).lanewise(VectorOperators.LSHR, 63)
                        .or(every);
                kept = kept.add(in1);
                DoubleVector t1 = a1.mul((DoubleVector) in1.convertShape(VectorOperators.L2D, D, 0));
                abs1 = abs1.add(t1);
                sq1 = t1.fma(a1, sq1);
            }
        }
        sums[0] += abs0.add(abs1).reduceLanes(VectorOperators.ADD);
        sums[1] += sq0.add(sq1).reduceLanes(VectorOperators.ADD);
        return kept.reduceLanes(VectorOperators.ADD) + TaskVectorScan.dare(d, i, n, key, cutoff, all, sums);
    }

    /** {@link TaskVectorScan#delta}, eight elements at a time; non-finite values are zeroed by masking their bits. */
    static long delta(float[] base, float[] d, int n, double[] sums) {
        DoubleVector z = DoubleVector.zero(D);
        DoubleVector bb0 = z, sum0 = z, bb1 = z, sum1 = z;
        IntVector nonFinite = IntVector.zero(I);
        int step = F.length();
        int i = 0;
        for (; i + step <= n; i += step) {
            FloatVector b = FloatVector.fromArray(F, base, i);
            IntVector bBits = b.reinterpretAsInts();
            // All ones (−1) where the exponent is not all ones (the value is finite), else 0: a mask for the bits.
            IntVector bFinite = bBits.and(0x7f800000).sub(0x7f800000).lanewise(VectorOperators.ASHR, 31);
            FloatVector bKept = bBits.and(bFinite).reinterpretAsFloats();
            IntVector vBits = FloatVector.fromArray(F, d, i).sub(b).reinterpretAsInts();
            IntVector vFinite = vBits.and(0x7f800000).sub(0x7f800000).lanewise(VectorOperators.ASHR, 31);
            nonFinite = nonFinite.add(vFinite).add(1);
            FloatVector v = vBits.and(vFinite).reinterpretAsFloats();
            v.intoArray(d, i);
            DoubleVector b0 = (DoubleVector) bKept.convertShape(VectorOperators.F2D, D, 0);
            bb0 = b0.fma(b0, bb0);
            sum0 = sum0.add(v.convertShape(VectorOperators.F2D, D, 0));
            if (HALVES) {
                DoubleVector b1 = (DoubleVector) bKept.convertShape(VectorOperators.F2D, D, 1);
                bb1 = b1.fma(b1, bb1);
                sum1 = sum1.add(v.convertShape(VectorOperators.F2D, D, 1));
            }
        }
        double[] head = {
            bb0.add(bb1).reduceLanes(VectorOperators.ADD), sum0.add(sum1).reduceLanes(VectorOperators.ADD)};
        long count = nonFinite.reduceLanesToLong(VectorOperators.ADD);
        count += TaskVectorScan.delta(base, d, i, n, head);
        sums[0] += head[0];
        sums[1] += head[1];
        return count;
    }
}
