package org.mergelab.model;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Attention#row} eight lanes at a time: the same operations in the same order per lane, so the same bits
 * (see {@link Attention} for the order). Two consecutive queries of a head share their loads where both see the
 * same first position ({@link #twoRows}): each key and value vector then feeds two multiply-adds. Loaded only where
 * the JVM has the Vector API ({@link FastMath#VECTOR}).
 */
final class VectorAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_256;
    private static final int LANES = Attention.BLOCK;

    private VectorAttention() {}

    /** Whether this kernel covers the shape: whole vectors of a head (every model this toolkit runs has them). */
    static boolean fits(ModelConfig c) {
        return c.headDim() % LANES == 0;
    }

    /** One query (row t, position p) of head h, as {@link Attention#row}. */
    static void row(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int h, int t, int p,
                    float[] sc) {
        int hd = c.headDim(), cap = cache.capacity;
        int g = h / c.groupSize();
        float[] kt = cache.keys[layer], v = cache.values[layer];
        int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
        int len = p - lo + 1;
        int qo = t * c.qDim() + h * hd;
        int kRow = g * hd * cap + lo;
        float scale = Attention.scale(hd);

        // eight positions at a time, and eight dimensions of the query at a time, each broadcast once for the whole
        // row of keys (partial sums kept in sc)
        int blocks = Attention.blocks(len);
        java.util.Arrays.fill(sc, 0, blocks, 0f);
        for (int d0 = 0; d0 < hd; d0 += LANES) {
            FloatVector q0 = FloatVector.broadcast(F, q[qo + d0] * scale), q1 = FloatVector.broadcast(F, q[qo + d0 + 1] * scale);
            FloatVector q2 = FloatVector.broadcast(F, q[qo + d0 + 2] * scale), q3 = FloatVector.broadcast(F, q[qo + d0 + 3] * scale);
            FloatVector q4 = FloatVector.broadcast(F, q[qo + d0 + 4] * scale), q5 = FloatVector.broadcast(F, q[qo + d0 + 5] * scale);
            FloatVector q6 = FloatVector.broadcast(F, q[qo + d0 + 6] * scale), q7 = FloatVector.broadcast(F, q[qo + d0 + 7] * scale);
            int k0 = kRow + d0 * cap;
            for (int j = 0; j < blocks; j += LANES) {
                int k = k0 + j;
                FloatVector acc = FloatVector.fromArray(F, sc, j);
                acc = FloatVector.fromArray(F, kt, k).fma(q0, acc);
                acc = FloatVector.fromArray(F, kt, k + cap).fma(q1, acc);
                acc = FloatVector.fromArray(F, kt, k + 2 * cap).fma(q2, acc);
                acc = FloatVector.fromArray(F, kt, k + 3 * cap).fma(q3, acc);
                acc = FloatVector.fromArray(F, kt, k + 4 * cap).fma(q4, acc);
                acc = FloatVector.fromArray(F, kt, k + 5 * cap).fma(q5, acc);
                acc = FloatVector.fromArray(F, kt, k + 6 * cap).fma(q6, acc);
                acc = FloatVector.fromArray(F, kt, k + 7 * cap).fma(q7, acc);
                acc.intoArray(sc, j);
            }
        }
        float inv = exponentiate(sc, len);

        // a head's eight dimensions at a time; four partial sums, so that the multiply-adds overlap instead of each
        // waiting for the last
        int vRow = (g * cap + lo) * hd;
        for (int e0 = 0; e0 < hd; e0 += LANES) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int vo = vRow + e0, j = 0;
            for (; j + 4 <= len; j += 4, vo += 4 * hd) {
                a0 = FloatVector.fromArray(F, v, vo).fma(FloatVector.broadcast(F, sc[j]), a0);
                a1 = FloatVector.fromArray(F, v, vo + hd).fma(FloatVector.broadcast(F, sc[j + 1]), a1);
                a2 = FloatVector.fromArray(F, v, vo + 2 * hd).fma(FloatVector.broadcast(F, sc[j + 2]), a2);
                a3 = FloatVector.fromArray(F, v, vo + 3 * hd).fma(FloatVector.broadcast(F, sc[j + 3]), a3);
            }
            for (; j < len; j++, vo += hd) a0 = FloatVector.fromArray(F, v, vo).fma(FloatVector.broadcast(F, sc[j]), a0);
            a0.add(a1).add(a2.add(a3)).mul(inv).intoArray(out, qo + e0);
        }
    }

    /**
     * Rows t and t + 1 of head h, at positions p and p + 1, both seeing every position from 0 (no window cuts them):
     * {@link #row} twice, per lane the same operations in the same order, with each key and value vector loaded once
     * for both.
     */
    static void twoRows(ModelConfig c, KvCache cache, int layer, float[] q, float[] out, int h, int t, int p,
                        float[] sa, float[] sb, float[] inverses) {
        int hd = c.headDim(), cap = cache.capacity;
        int g = h / c.groupSize();
        float[] kt = cache.keys[layer], v = cache.values[layer];
        int lenA = p + 1, lenB = p + 2;
        int qa = t * c.qDim() + h * hd, qb = qa + c.qDim();
        int kRow = g * hd * cap;
        float scale = Attention.scale(hd);

        // row a's scores in the block past its own (when row b starts one) are computed and never read
        int blocks = Attention.blocks(lenB);
        java.util.Arrays.fill(sa, 0, blocks, 0f);
        java.util.Arrays.fill(sb, 0, blocks, 0f);
        for (int d0 = 0; d0 < hd; d0 += LANES) {
            FloatVector a0 = FloatVector.broadcast(F, q[qa + d0] * scale), a1 = FloatVector.broadcast(F, q[qa + d0 + 1] * scale);
            FloatVector a2 = FloatVector.broadcast(F, q[qa + d0 + 2] * scale), a3 = FloatVector.broadcast(F, q[qa + d0 + 3] * scale);
            FloatVector a4 = FloatVector.broadcast(F, q[qa + d0 + 4] * scale), a5 = FloatVector.broadcast(F, q[qa + d0 + 5] * scale);
            FloatVector a6 = FloatVector.broadcast(F, q[qa + d0 + 6] * scale), a7 = FloatVector.broadcast(F, q[qa + d0 + 7] * scale);
            FloatVector b0 = FloatVector.broadcast(F, q[qb + d0] * scale), b1 = FloatVector.broadcast(F, q[qb + d0 + 1] * scale);
            FloatVector b2 = FloatVector.broadcast(F, q[qb + d0 + 2] * scale), b3 = FloatVector.broadcast(F, q[qb + d0 + 3] * scale);
            FloatVector b4 = FloatVector.broadcast(F, q[qb + d0 + 4] * scale), b5 = FloatVector.broadcast(F, q[qb + d0 + 5] * scale);
            FloatVector b6 = FloatVector.broadcast(F, q[qb + d0 + 6] * scale), b7 = FloatVector.broadcast(F, q[qb + d0 + 7] * scale);
            int k0 = kRow + d0 * cap;
            for (int j = 0; j < blocks; j += LANES) {
                int k = k0 + j;
                FloatVector x = FloatVector.fromArray(F, sa, j), y = FloatVector.fromArray(F, sb, j);
                FloatVector key = FloatVector.fromArray(F, kt, k);
                x = key.fma(a0, x);
                y = key.fma(b0, y);
                key = FloatVector.fromArray(F, kt, k + cap);
                x = key.fma(a1, x);
                y = key.fma(b1, y);
                key = FloatVector.fromArray(F, kt, k + 2 * cap);
                x = key.fma(a2, x);
                y = key.fma(b2, y);
                key = FloatVector.fromArray(F, kt, k + 3 * cap);
                x = key.fma(a3, x);
                y = key.fma(b3, y);
                key = FloatVector.fromArray(F, kt, k + 4 * cap);
                x = key.fma(a4, x);
                y = key.fma(b4, y);
                key = FloatVector.fromArray(F, kt, k + 5 * cap);
                x = key.fma(a5, x);
                y = key.fma(b5, y);
                key = FloatVector.fromArray(F, kt, k + 6 * cap);
                x = key.fma(a6, x);
                y = key.fma(b6, y);
                key = FloatVector.fromArray(F, kt, k + 7 * cap);
                x = key.fma(a7, x);
                y = key.fma(b7, y);
                x.intoArray(sa, j);
                y.intoArray(sb, j);
            }
        }
        exponentiateTwo(sa, lenA, sb, lenB, inverses);
        float invA = inverses[0], invB = inverses[1];

        int vRow = g * cap * hd;
        for (int e0 = 0; e0 < hd; e0 += LANES) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int vo = vRow + e0, j = 0;
            for (; j + 4 <= lenA; j += 4, vo += 4 * hd) {
                FloatVector v0 = FloatVector.fromArray(F, v, vo), v1 = FloatVector.fromArray(F, v, vo + hd);
                FloatVector v2 = FloatVector.fromArray(F, v, vo + 2 * hd), v3 = FloatVector.fromArray(F, v, vo + 3 * hd);
                a0 = v0.fma(FloatVector.broadcast(F, sa[j]), a0);
                b0 = v0.fma(FloatVector.broadcast(F, sb[j]), b0);
                a1 = v1.fma(FloatVector.broadcast(F, sa[j + 1]), a1);
                b1 = v1.fma(FloatVector.broadcast(F, sb[j + 1]), b1);
                a2 = v2.fma(FloatVector.broadcast(F, sa[j + 2]), a2);
                b2 = v2.fma(FloatVector.broadcast(F, sb[j + 2]), b2);
                a3 = v3.fma(FloatVector.broadcast(F, sa[j + 3]), a3);
                b3 = v3.fma(FloatVector.broadcast(F, sb[j + 3]), b3);
            }
            // row a's last one to three positions; row b, one position longer, may have one more group of four
            int ja = j, va = vo;
            for (; ja < lenA; ja++, va += hd) a0 = FloatVector.fromArray(F, v, va).fma(FloatVector.broadcast(F, sa[ja]), a0);
            if (j + 4 <= lenB) {
                b0 = FloatVector.fromArray(F, v, vo).fma(FloatVector.broadcast(F, sb[j]), b0);
                b1 = FloatVector.fromArray(F, v, vo + hd).fma(FloatVector.broadcast(F, sb[j + 1]), b1);
                b2 = FloatVector.fromArray(F, v, vo + 2 * hd).fma(FloatVector.broadcast(F, sb[j + 2]), b2);
                b3 = FloatVector.fromArray(F, v, vo + 3 * hd).fma(FloatVector.broadcast(F, sb[j + 3]), b3);
                j += 4;
                vo += 4 * hd;
            }
            for (; j < lenB; j++, vo += hd) b0 = FloatVector.fromArray(F, v, vo).fma(FloatVector.broadcast(F, sb[j]), b0);
            a0.add(a1).add(a2.add(a3)).mul(invA).intoArray(out, qa + e0);
            b0.add(b1).add(b2.add(b3)).mul(invB).intoArray(out, qb + e0);
        }
    }

    /**
     * {@link #exponentiate} of two rows, row b one position longer, in one loop: two independent chains of dependent
     * operations to overlap, where a row of a few blocks alone leaves the core waiting on one (2.30 → 2.08 ns per
     * score at stories260K's shape). The reciprocal sums go to {@code inverses[0..2)}. (A method of its own: written
     * into {@link #twoRows}, the loop made it too large for C2 to compile well, 3.3 ns per score.)
     */
    private static void exponentiateTwo(float[] sa, int lenA, float[] sb, int lenB, float[] inverses) {
        int blocks = Attention.blocks(lenB);
        float maxA = max(sa, lenA), maxB = max(sb, lenB);
        int blocksA = Attention.blocks(lenA);
        DoubleVector pa = DoubleVector.zero(D), pb = pa;
        for (int j = 0; j < blocksA; j += LANES) {
            FloatVector ea = VectorExp.expOfNonPositive(FloatVector.fromArray(F, sa, j).sub(maxA));
            FloatVector eb = VectorExp.expOfNonPositive(FloatVector.fromArray(F, sb, j).sub(maxB));
            ea.intoArray(sa, j);
            eb.intoArray(sb, j);
            pa = pa.add(ea.convertShape(VectorOperators.F2D, D, 0)).add(ea.convertShape(VectorOperators.F2D, D, 1));
            pb = pb.add(eb.convertShape(VectorOperators.F2D, D, 0)).add(eb.convertShape(VectorOperators.F2D, D, 1));
        }
        for (int j = blocksA; j < blocks; j += LANES) {
            FloatVector eb = VectorExp.expOfNonPositive(FloatVector.fromArray(F, sb, j).sub(maxB));
            eb.intoArray(sb, j);
            pb = pb.add(eb.convertShape(VectorOperators.F2D, D, 0)).add(eb.convertShape(VectorOperators.F2D, D, 1));
        }
        inverses[0] = (float) (1.0 / ((pa.lane(0) + pa.lane(1)) + (pa.lane(2) + pa.lane(3))));
        inverses[1] = (float) (1.0 / ((pb.lane(0) + pb.lane(1)) + (pb.lane(2) + pb.lane(3))));
    }

    /**
     * A row of scores {@code sc[0..len)} into e^(s − max) in place, over whole blocks, and 1 / their sum:
     * {@link Attention#row}'s middle.
     */
    private static float exponentiate(float[] sc, int len) {
        int blocks = Attention.blocks(len);
        float max = max(sc, len);
        DoubleVector partial = DoubleVector.zero(D);
        for (int j = 0; j < blocks; j += LANES) {
            FloatVector e = VectorExp.expOfNonPositive(FloatVector.fromArray(F, sc, j).sub(max));
            e.intoArray(sc, j);
            partial = partial.add(e.convertShape(VectorOperators.F2D, D, 0))
                    .add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        return (float) (1.0 / ((partial.lane(0) + partial.lane(1)) + (partial.lane(2) + partial.lane(3))));
    }

    /** The maximum of scores {@code sc[0..len)}, after the lanes of the last block past the row are set to −inf. */
    private static float max(float[] sc, int len) {
        int blocks = Attention.blocks(len);
        for (int j = len; j < blocks; j++) sc[j] = Float.NEGATIVE_INFINITY;
        FloatVector top = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < blocks; j += LANES) {
            top = top.max(FloatVector.fromArray(F, sc, j));
        }
        return top.reduceLanes(VectorOperators.MAX);
    }
}
