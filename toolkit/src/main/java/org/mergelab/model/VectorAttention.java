package org.mergelab.model;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Attention#row} eight lanes at a time: the same operations in the same order per lane, so the same bits
 * (see {@link Attention} for the order). Loaded only where the JVM has the Vector API ({@link FastMath#VECTOR}).
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
    static void row(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int h,
                            int t, int p, float[] sc) {
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
        float inv = (float) (1.0 / ((partial.lane(0) + partial.lane(1)) + (partial.lane(2) + partial.lane(3))));

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
}
