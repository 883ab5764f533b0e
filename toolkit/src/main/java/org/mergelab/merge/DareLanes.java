package org.mergelab.merge;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The streamed task-arithmetic and DARE loops ({@link TaskArithmeticMerge#stream}) eight elements at a time, with
 * the same operations in the same order as the scalar loops, so the results are the same bits: float32 arithmetic,
 * bfloat16 rounding after each operation where the merge runs in bfloat16, and masks from the draws of
 * {@link RandomStreams#fill} (computed by the caller). Loaded only where the JVM has the Vector API ({@link VectorLanes#ENABLED}).
 */
final class DareLanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int L = 8;

    private DareLanes() {}

    /** What the working dtype rounds each result to: nothing (float32) or bfloat16. */
    private static FloatVector r(FloatVector x, boolean bf16) {
        if (!bf16) return x;
        IntVector bits = x.reinterpretAsInts();
        IntVector bias = bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF);
        IntVector rounded = bits.add(bias).and(0xFFFF0000);
        VectorMask<Integer> nan = bits.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
        IntVector quiet = bits.and(0xFFFF0000).or(0x00400000);
        return rounded.blend(quiet, nan).reinterpretAsFloats();
    }

    /**
     * First pass of DARE's rescaling over elements {@code [0, n)} of a block that starts at element {@code start} of
     * the tensor: {@code |δ|} and {@code |mask · δ|} into the two arrays, for summing. Returns the elements done (a
     * multiple of eight); the caller finishes the tail.
     */
    static int magnitudes(float[] base, float[] x, int n, float[] u, float prob, boolean bf16,
                          float[] absDelta, float[] absKept) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector d = r(FloatVector.fromArray(F, x, i).sub(FloatVector.fromArray(F, base, i)), bf16);
            VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
            d.abs().intoArray(absDelta, i);
            d.blend(d.mul(0f), keep.not()).abs().intoArray(absKept, i);
        }
        return i;
    }

    /**
     * Second pass, one model: {@code x ← r(r(mask(δ) [· ratio]) · w)} in place, {@code δ = r(x − base)}. Returns the
     * elements done (a multiple of eight).
     */
    static int weighted(float[] base, float[] x, int n, float[] u, boolean drops, float prob,
                        boolean scaled, float ratio, float w, boolean bf16) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector d = r(FloatVector.fromArray(F, x, i).sub(FloatVector.fromArray(F, base, i)), bf16);
            if (drops) {
                VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
                d = d.blend(d.mul(0f), keep.not());
                if (scaled) d = r(d.mul(ratio), bf16);
            }
            r(d.mul(w), bf16).intoArray(x, i);
        }
        return i;
    }

    /**
     * The election and the sum over the models' weighted task vectors {@code v[k]}, then the base added back:
     * {@code out[outOff + i] = r(base + [λ ·] Δ [/ D])}. Returns the elements done (a multiple of eight).
     */
    static int combine(float[][] v, float[] w, int models, float[] base, float[] out, int outOff, int n,
                       boolean signConsensus, float constantDivisor, boolean normalize, boolean scaleByLambda,
                       float lambda, boolean bf16) {
        int i = 0;
        FloatVector zero = FloatVector.zero(F), one = FloatVector.broadcast(F, 1f);
        for (; i + L <= n; i += L) {
            FloatVector total = zero;
            for (int k = 0; k < models; k++) total = total.add(FloatVector.fromArray(F, v[k], i));
            FloatVector mixed, divisor;
            if (signConsensus) {
                VectorMask<Float> positive = r(total, bf16).compare(VectorOperators.GE, 0f);
                FloatVector sum = zero, weights = zero;
                for (int k = 0; k < models; k++) {
                    FloatVector vk = FloatVector.fromArray(F, v[k], i);
                    VectorMask<Float> agree = vk.compare(VectorOperators.GT, 0f).and(positive)
                            .or(vk.compare(VectorOperators.LT, 0f).andNot(positive));
                    sum = sum.add(vk.blend(vk.mul(0f), agree.not()));
                    FloatVector wk = FloatVector.broadcast(F, w[k]);
                    weights = weights.add(wk.blend(wk.mul(0f), agree.not()));
                }
                mixed = r(sum, bf16);
                FloatVector d = r(weights, bf16);
                divisor = d.blend(one, d.compare(VectorOperators.EQ, 0f));
            } else {
                mixed = r(total, bf16);
                divisor = FloatVector.broadcast(F, constantDivisor);
            }
            FloatVector delta = mixed;
            if (normalize) delta = r(delta.div(divisor), bf16);
            if (scaleByLambda) delta = r(delta.mul(lambda), bf16);
            r(FloatVector.fromArray(F, base, i).add(delta), bf16).intoArray(out, outOff + i);
        }
        return i;
    }
}
