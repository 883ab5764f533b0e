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

        // eight positions at a time, and eight dimensions of the query at a time, each broadcast once for the whole
        // row of keys (partial sums kept in sc)
        int blocks = (len + LANES - 1) / LANES * LANES;
        java.util.Arrays.fill(sc, 0, blocks, 0f);
        for (int d0 = 0; d0 < hd; d0 += LANES) {
            FloatVector q0 = FloatVector.broadcast(F, q[qo + d0]), q1 = FloatVector.broadcast(F, q[qo + d0 + 1]);
            FloatVector q2 = FloatVector.broadcast(F, q[qo + d0 + 2]), q3 = FloatVector.broadcast(F, q[qo + d0 + 3]);
            FloatVector q4 = FloatVector.broadcast(F, q[qo + d0 + 4]), q5 = FloatVector.broadcast(F, q[qo + d0 + 5]);
            FloatVector q6 = FloatVector.broadcast(F, q[qo + d0 + 6]), q7 = FloatVector.broadcast(F, q[qo + d0 + 7]);
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
        float inv = exponentiate(sc, len, Attention.scale(hd));

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
                        float[] sa, float[] sb) {
        int hd = c.headDim(), cap = cache.capacity;
        int g = h / c.groupSize();
        float[] kt = cache.keys[layer], v = cache.values[layer];
        int lenA = p + 1, lenB = p + 2;
        int qa = t * c.qDim() + h * hd, qb = qa + c.qDim();
        int kRow = g * hd * cap;

        // row a's scores in the block past its own (when row b starts one) are computed and never read
        int blocks = (lenB + LANES - 1) / LANES * LANES;
        java.util.Arrays.fill(sa, 0, blocks, 0f);
        java.util.Arrays.fill(sb, 0, blocks, 0f);
        for (int d0 = 0; d0 < hd; d0 += LANES) {
            FloatVector a0 = FloatVector.broadcast(F, q[qa + d0]), a1 = FloatVector.broadcast(F, q[qa + d0 + 1]);
            FloatVector a2 = FloatVector.broadcast(F, q[qa + d0 + 2]), a3 = FloatVector.broadcast(F, q[qa + d0 + 3]);
            FloatVector a4 = FloatVector.broadcast(F, q[qa + d0 + 4]), a5 = FloatVector.broadcast(F, q[qa + d0 + 5]);
            FloatVector a6 = FloatVector.broadcast(F, q[qa + d0 + 6]), a7 = FloatVector.broadcast(F, q[qa + d0 + 7]);
            FloatVector b0 = FloatVector.broadcast(F, q[qb + d0]), b1 = FloatVector.broadcast(F, q[qb + d0 + 1]);
            FloatVector b2 = FloatVector.broadcast(F, q[qb + d0 + 2]), b3 = FloatVector.broadcast(F, q[qb + d0 + 3]);
            FloatVector b4 = FloatVector.broadcast(F, q[qb + d0 + 4]), b5 = FloatVector.broadcast(F, q[qb + d0 + 5]);
            FloatVector b6 = FloatVector.broadcast(F, q[qb + d0 + 6]), b7 = FloatVector.broadcast(F, q[qb + d0 + 7]);
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
        float scale = Attention.scale(hd);
        float invA = exponentiate(sa, lenA, scale), invB = exponentiate(sb, lenB, scale);

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
     * A row of raw scores {@code sc[0..len)} into e^(scale·s − max) in place, over whole blocks (lanes past the row
     * first set to −inf), and 1 / their sum: {@link Attention#row}'s middle.
     */
    private static float exponentiate(float[] sc, int len, float scale) {
        int blocks = (len + LANES - 1) / LANES * LANES;
        for (int j = len; j < blocks; j++) sc[j] = Float.NEGATIVE_INFINITY;
        FloatVector top = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < blocks; j += LANES) {
            FloatVector x = FloatVector.fromArray(F, sc, j).mul(scale);
            x.intoArray(sc, j);
            top = top.max(x);
        }
        float max = top.reduceLanes(VectorOperators.MAX);
        DoubleVector partial = DoubleVector.zero(D);
        for (int j = 0; j < blocks; j += LANES) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(F, sc, j).sub(max));
            e.intoArray(sc, j);
            partial = partial.add(e.convertShape(VectorOperators.F2D, D, 0))
                    .add(e.convertShape(VectorOperators.F2D, D, 1));
        }
        return (float) (1.0 / ((partial.lane(0) + partial.lane(1)) + (partial.lane(2) + partial.lane(3))));
    }
}
