package org.mergelab.merge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.mergelab.io.Half;

/**
 * The streamed task-arithmetic and DARE loops ({@link TaskArithmeticMerge#stream}) eight elements at a time, with
 * the same operations in the same order as the scalar loops, so the results are the same bits: float32 arithmetic,
 * bfloat16 rounding after each operation where the merge runs in bfloat16, and masks from the draws of
 * {@link RandomStreams#fill} (computed by the caller). Loaded only where the JVM has the Vector API ({@link VectorSupport#ENABLED}).
 */
final class DareLanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    // bf16 is loaded sixteen at a time and widened in two halves, the shapes of io's bf16 decoder (see VectorLanes).
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final int L = 8;
    /** The models a fused combine takes; fewer are padded with a block of zeros, which adds no bit (see below). */
    static final int FUSED_MODELS = 4;
    private static final float[] ZEROS = new float[TensorStream.BLOCK];

    private DareLanes() {}

    /*
     * Every vector lives inside one loop of one method: no vector is passed to or returned from a helper, and none is
     * carried around an inner loop over the models. C2 compiles a small helper such as a rounding function on its own
     * once it is hot, then no longer inlines it (its machine code is too large), and a vector crossing that call, or
     * a loop's back edge, is boxed: the Vector API's Java fallback, tens of times slower and allocating gigabytes.
     * So intermediate results go through the (cache-resident) block arrays, and rounding is a loop of its own.
     */

    /**
     * {@link RandomStreams#fill}'s loop eight lanes at a time: the same two rounds of lowbias32 on the same 32-bit
     * words, so the same floats. (C2 leaves the scalar loop scalar: it uses the loop counter as data.) Returns the
     * elements done (a multiple of eight).
     */
    static int fill(int first, int lo, int hi, float[] u, int n) {
        int m = n - n % L;
        IntVector lanes = IntVector.zero(I).addIndex(1);
        for (int i = 0; i < m; i += L) {
            IntVector x = lanes.add(first + i).lanewise(VectorOperators.XOR, lo);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16)).mul(0x7feb352d);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 15)).mul(0x846ca68b);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
            x = x.lanewise(VectorOperators.XOR, hi);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16)).mul(0x7feb352d);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 15)).mul(0x846ca68b);
            x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
            ((FloatVector) x.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(0x1.0p-24f)
                    .intoArray(u, i);
        }
        return m;
    }

    /**
     * Rounds {@code a[from, from + n)} to bfloat16 in place where the merge runs in bfloat16 (nearest, ties to even;
     * NaN stays NaN), as the scalar loop's r(); in float32, nothing.
     */
    private static void round(float[] a, int from, int n, boolean bf16) {
        if (!bf16) return;
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector bits = FloatVector.fromArray(F, a, from + i).reinterpretAsInts();
            IntVector bias = bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF);
            IntVector rounded = bits.add(bias).and(0xFFFF0000);
            VectorMask<Integer> nan = bits.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            IntVector quiet = bits.and(0xFFFF0000).or(0x00400000);
            rounded.blend(quiet, nan).reinterpretAsFloats().intoArray(a, from + i);
        }
        for (; i < n; i++) a[from + i] = Half.roundToBf16(a[from + i]);
    }

    /**
     * First pass of DARE's rescaling over elements {@code [0, n)} of a block: {@code |δ|} and {@code |mask · δ|}
     * into the two arrays, for summing, {@code δ = r(x − base)}. Returns the elements done (a multiple of eight); the
     * caller finishes the tail.
     */
    static int magnitudes(float[] base, float[] x, int n, float[] u, float prob, boolean bf16,
                          float[] absDelta, float[] absKept) {
        int m = n - n % L;
        for (int i = 0; i < m; i += L) {
            FloatVector.fromArray(F, x, i).sub(FloatVector.fromArray(F, base, i)).intoArray(absDelta, i);
        }
        round(absDelta, 0, m, bf16);
        for (int i = 0; i < m; i += L) {
            FloatVector d = FloatVector.fromArray(F, absDelta, i);
            VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
            d.blend(d.mul(0f), keep.not()).abs().intoArray(absKept, i);
            d.abs().intoArray(absDelta, i);
        }
        return m;
    }

    /**
     * Second pass, one model: {@code x ← r(r(mask(δ) [· ratio]) · w)} in place, {@code δ = r(x − base)}. Returns the
     * elements done (a multiple of eight).
     */
    static int weighted(float[] base, float[] x, int n, float[] u, boolean drops, float prob,
                        boolean scaled, float ratio, float w, boolean bf16) {
        int m = n - n % L;
        if (bf16 && drops) return weightedBf16(base, x, m, u, prob, scaled ? ratio : 1f, w);
        for (int i = 0; i < m; i += L) {
            FloatVector.fromArray(F, x, i).sub(FloatVector.fromArray(F, base, i)).intoArray(x, i);
        }
        round(x, 0, m, bf16);
        if (drops) {
            for (int i = 0; i < m; i += L) {
                FloatVector d = FloatVector.fromArray(F, x, i);
                VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
                d = d.blend(d.mul(0f), keep.not());
                (scaled ? d.mul(ratio) : d).intoArray(x, i);
            }
            if (scaled) round(x, 0, m, bf16);
        }
        for (int i = 0; i < m; i += L) FloatVector.fromArray(F, x, i).mul(w).intoArray(x, i);
        round(x, 0, m, bf16);
        return m;
    }

    /**
     * {@link #weighted} for DARE in bfloat16, its usual case, in one pass: each rounding written out where it happens
     * (see the note at the top). Without rescaling {@code ratio} is 1, and multiplying a bfloat16 value by 1 and
     * rounding it again changes no bit.
     */
    private static int weightedBf16(float[] base, float[] x, int m, float[] u, float prob, float ratio, float w) {
        for (int i = 0; i < m; i += L) {
            FloatVector d = FloatVector.fromArray(F, x, i).sub(FloatVector.fromArray(F, base, i));
            IntVector b = d.reinterpretAsInts();
            d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats();
            VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
            d = d.blend(d.mul(0f), keep.not()).mul(ratio);
            b = d.reinterpretAsInts();
            d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().mul(w);
            b = d.reinterpretAsInts();
            b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().intoArray(x, i);
        }
        return m;
    }

    /**
     * {@link #magnitudes} in bfloat16, reading the model straight from its stored bytes ({@code x}: the tensor's
     * little-endian bf16 values; element {@code at} of the tensor is element 0 of the block): the same bits, without
     * storing the decoded block and loading it back, which costs more than the arithmetic. The draws {@code u} come
     * from {@link RandomStreams#fill}: drawing them in this loop too made it too large for C2, which then left
     * vector operations to the Vector API's slow Java fallback. Does all {@code n} elements.
     */
    static void magnitudesBf16(ByteBuffer x, int at, float[] base, int n, float[] u, float prob,
                               float[] absDelta, float[] absKept) {
        // Eight elements a step from a sixteen-element load, the low half widened, so the loop stays small (see
        // weightedBf16); the last load must stay inside the tensor.
        int m = n < 16 ? 0 : (n - 8) - (n - 8) % L;
        for (int i = 0; i < m; i += L) {
            FloatVector d = ((IntVector) ShortVector.fromByteBuffer(S, x, (at + i) << 1, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().sub(FloatVector.fromArray(F, base, i));
            IntVector b = d.reinterpretAsInts();
            d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats();
            VectorMask<Float> keep = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob);
            d.blend(d.mul(0f), keep.not()).abs().intoArray(absKept, i);
            d.abs().intoArray(absDelta, i);
        }
        for (int i = m; i < n; i++) {
            float delta = Half.roundToBf16(bf16At(x, at + i) - base[i]);
            boolean keep = u[i] < prob;
            absDelta[i] = Math.abs(delta);
            absKept[i] = Math.abs(keep ? delta : delta * 0f);
        }
    }

    /**
     * The second pass of DARE in bfloat16 for one model, read straight from its stored bytes (as
     * {@link #magnitudesBf16}): {@code v ← r(r(r(mask · δ) · ratio) · w)}, {@code δ = r(x − base)}, the same bits as
     * {@link #weighted}. The mask comes as {@link #keepBits}' bits: element {@code at + i} is kept where bit
     * {@code (at + i − keepAt) % 32} of word {@code (at + i − keepAt) / 32} of {@code keep} is set ({@code at − keepAt}
     * a multiple of 32). Without rescaling {@code ratio} is 1, which changes no bfloat16 value. Does all {@code n}
     * elements.
     */
    static void weightedBf16(ByteBuffer x, int at, float[] base, float[] v, int n, int[] keep, int keepAt,
                             float ratio, float w) {
        // Eight elements a step, as magnitudesBf16: with sixteen (both halves of each load) the loop was large enough
        // that C2 sometimes stopped inlining before its last vector operations (LiveNodeCountInliningCutoff) and ran
        // them in the Vector API's Java fallback, which doubled the merge's time in those runs.
        int m = n < 16 ? 0 : (n - 8) - (n - 8) % L;
        IntVector bit = IntVector.broadcast(I, 1).lanewise(VectorOperators.LSHL, IntVector.zero(I).addIndex(1));
        for (int i = 0; i < m; i += L) {
            FloatVector d = ((IntVector) ShortVector.fromByteBuffer(S, x, (at + i) << 1, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().sub(FloatVector.fromArray(F, base, i));
            IntVector b = d.reinterpretAsInts();
            d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats();
            int e = at - keepAt + i;
            VectorMask<Float> kept = IntVector.broadcast(I, keep[e >>> 5] >>> (e & 31)).and(bit)
                    .compare(VectorOperators.NE, 0).cast(F);
            d = d.blend(d.mul(0f), kept.not()).mul(ratio);
            b = d.reinterpretAsInts();
            d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().mul(w);
            b = d.reinterpretAsInts();
            b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().intoArray(v, i);
        }
        for (int i = m; i < n; i++) {
            float delta = Half.roundToBf16(bf16At(x, at + i) - base[i]);
            int e = at - keepAt + i;
            boolean kept = (keep[e >>> 5] >>> (e & 31) & 1) != 0;
            delta = Half.roundToBf16((kept ? delta : delta * 0f) * ratio);
            v[i] = Half.roundToBf16(delta * w);
        }
    }

    /**
     * DARE's mask as bits: bit {@code i % 32} of {@code keep[word + i / 32]} is set where {@code u[i] < prob}, for
     * {@code i < n}. The first pass draws the mask to sum the kept magnitudes; kept as bits (a thirty-second of the
     * draws' floats) it need not be drawn again for the second.
     */
    static void keepBits(float[] u, int n, float prob, int[] keep, int word) {
        int m = n & ~31;
        IntVector bit = IntVector.broadcast(I, 1).lanewise(VectorOperators.LSHL, IntVector.zero(I).addIndex(1));
        IntVector none = IntVector.zero(I);
        for (int i = 0; i < m; i += 32) {
            VectorMask<Integer> k0 = FloatVector.fromArray(F, u, i).compare(VectorOperators.LT, prob).cast(I);
            VectorMask<Integer> k1 = FloatVector.fromArray(F, u, i + 8).compare(VectorOperators.LT, prob).cast(I);
            VectorMask<Integer> k2 = FloatVector.fromArray(F, u, i + 16).compare(VectorOperators.LT, prob).cast(I);
            VectorMask<Integer> k3 = FloatVector.fromArray(F, u, i + 24).compare(VectorOperators.LT, prob).cast(I);
            keep[word + (i >>> 5)] = none.blend(bit, k0).or(none.blend(bit.lanewise(VectorOperators.LSHL, 8), k1))
                    .or(none.blend(bit.lanewise(VectorOperators.LSHL, 16), k2))
                    .or(none.blend(bit.lanewise(VectorOperators.LSHL, 24), k3)).reduceLanes(VectorOperators.OR);
        }
        if (m < n) keep[word + (m >>> 5)] = 0;
        for (int i = m; i < n; i++) {
            if (u[i] < prob) keep[word + (i >>> 5)] |= 1 << (i & 31);
        }
    }

    /** Element {@code i} of a little-endian bf16 buffer, as a float. */
    private static float bf16At(ByteBuffer x, int i) {
        return Half.bf16ToFloat(x.getShort(i << 1));
    }

    /**
     * DARE-TIES's usual combine in bfloat16 with {@code normalize} (and no λ), for up to {@link #FUSED_MODELS}
     * models: {@code out = r(base + r(r(Σ agreeing v) / d))}, {@code d = r(Σ agreeing w)} or 1 where that is 0,
     * agreeing with the sign of {@code r(Σ v)}. The same operations in the same order as {@link #combine}, in two
     * passes instead of its eight; {@code sums} and {@code divisor} are scratch blocks. Missing models are a block of
     * zeros with weight 0: each sum starts at +0, so it never holds −0, and adding +0 (a zero never agrees) leaves it
     * as it is. Returns the elements done (a multiple of eight), as {@link #combine}; the caller finishes the tail.
     *
     * <p>The two passes are methods of their own, each compiled on its own: as one method (even as two loops in it),
     * C2 sometimes ran out of its node budget before the second loop's vector operations, which then ran in the
     * Vector API's Java fallback, allocating tens of gigabytes and doubling the merge's time in those runs.
     */
    static int combineNormalizedBf16(float[][] v, float[] w, int models, float[] base, float[] out, int outOff,
                                      int n, float[] sums, float[] divisor) {
        int m = n - n % L;
        electAndSum(v[0], models > 1 ? v[1] : ZEROS, models > 2 ? v[2] : ZEROS, models > 3 ? v[3] : ZEROS, w[0],
                models > 1 ? w[1] : 0f, models > 2 ? w[2] : 0f, models > 3 ? w[3] : 0f, m, sums, divisor);
        divideAndAddBase(sums, divisor, base, out, outOff, m);
        return m;
    }

    /**
     * The election, then the sums of the agreeing values and of their weights, unrounded, into {@code sums} and
     * {@code weights}.
     */
    private static void electAndSum(float[] v0, float[] v1, float[] v2, float[] v3, float w0, float w1, float w2,
                                    float w3, int m, float[] sums, float[] weights) {
        for (int i = 0; i < m; i += L) {
            FloatVector a0 = FloatVector.fromArray(F, v0, i), a1 = FloatVector.fromArray(F, v1, i),
                    a2 = FloatVector.fromArray(F, v2, i), a3 = FloatVector.fromArray(F, v3, i);
            FloatVector zero = FloatVector.zero(F);
            IntVector b = zero.add(a0).add(a1).add(a2).add(a3).reinterpretAsInts();
            VectorMask<Float> positive = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().compare(VectorOperators.GE, 0f);
            VectorMask<Float> agree0 = a0.compare(VectorOperators.GT, 0f).and(positive)
                    .or(a0.compare(VectorOperators.LT, 0f).andNot(positive));
            VectorMask<Float> agree1 = a1.compare(VectorOperators.GT, 0f).and(positive)
                    .or(a1.compare(VectorOperators.LT, 0f).andNot(positive));
            VectorMask<Float> agree2 = a2.compare(VectorOperators.GT, 0f).and(positive)
                    .or(a2.compare(VectorOperators.LT, 0f).andNot(positive));
            VectorMask<Float> agree3 = a3.compare(VectorOperators.GT, 0f).and(positive)
                    .or(a3.compare(VectorOperators.LT, 0f).andNot(positive));
            zero.add(a0.blend(a0.mul(0f), agree0.not())).add(a1.blend(a1.mul(0f), agree1.not()))
                    .add(a2.blend(a2.mul(0f), agree2.not())).add(a3.blend(a3.mul(0f), agree3.not()))
                    .intoArray(sums, i);
            zero.add(zero.add(w0).blend(w0 * 0f, agree0.not()))
                    .add(zero.add(w1).blend(w1 * 0f, agree1.not()))
                    .add(zero.add(w2).blend(w2 * 0f, agree2.not()))
                    .add(zero.add(w3).blend(w3 * 0f, agree3.not()))
                    .intoArray(weights, i);
        }
    }

    /**
     * {@code out[outOff + i] = r(base + r(r(sums) / d))}, {@code d = r(weights)} or 1 where that is 0: the rounding
     * of the two sums, the division and the base.
     */
    private static void divideAndAddBase(float[] sums, float[] weights, float[] base, float[] out, int outOff,
                                         int m) {
        for (int i = 0; i < m; i += L) {
            IntVector b = FloatVector.fromArray(F, weights, i).reinterpretAsInts();
            FloatVector d = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats();
            d = d.blend(1f, d.compare(VectorOperators.EQ, 0f));
            b = FloatVector.fromArray(F, sums, i).reinterpretAsInts();
            b = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().div(d).reinterpretAsInts();
            FloatVector mixed = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats();
            b = FloatVector.fromArray(F, base, i).add(mixed).reinterpretAsInts();
            b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                    .blend(b.and(0xFFFF0000).or(0x00400000), b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                    .reinterpretAsFloats().intoArray(out, outOff + i);
        }
    }

    /**
     * The election and the sum over the models' weighted task vectors {@code v[k]}, then the base added back:
     * {@code out[outOff + i] = r(base + [λ ·] Δ [/ D])}. {@code total}, {@code sum} and {@code weights} are scratch
     * blocks. Returns the elements done (a multiple of eight).
     */
    static int combine(float[][] v, float[] w, int models, float[] base, float[] out, int outOff, int n,
                       boolean signConsensus, float constantDivisor, boolean normalize, boolean scaleByLambda,
                       float lambda, boolean bf16, float[] total, float[] sum, float[] weights) {
        int m = n - n % L;
        // Σ_k v_k from zero in model order, as the scalar loop adds.
        java.util.Arrays.fill(total, 0, m, 0f);
        for (int k = 0; k < models; k++) {
            float[] vk = v[k];
            for (int i = 0; i < m; i += L) {
                FloatVector.fromArray(F, total, i).add(FloatVector.fromArray(F, vk, i)).intoArray(total, i);
            }
        }
        round(total, 0, m, bf16);
        float[] mixed = total;
        if (signConsensus) {
            // The elected sign is that of the rounded total; each model adds its value and weight where it agrees.
            java.util.Arrays.fill(sum, 0, m, 0f);
            java.util.Arrays.fill(weights, 0, m, 0f);
            for (int k = 0; k < models; k++) {
                float[] vk = v[k];
                FloatVector wk = FloatVector.broadcast(F, w[k]);
                FloatVector wk0 = wk.mul(0f);
                for (int i = 0; i < m; i += L) {
                    FloatVector x = FloatVector.fromArray(F, vk, i);
                    VectorMask<Float> positive = FloatVector.fromArray(F, total, i).compare(VectorOperators.GE, 0f);
                    VectorMask<Float> agree = x.compare(VectorOperators.GT, 0f).and(positive)
                            .or(x.compare(VectorOperators.LT, 0f).andNot(positive));
                    FloatVector.fromArray(F, sum, i).add(x.blend(x.mul(0f), agree.not())).intoArray(sum, i);
                    FloatVector.fromArray(F, weights, i).add(wk.blend(wk0, agree.not())).intoArray(weights, i);
                }
            }
            if (normalize) round(weights, 0, m, bf16);
            mixed = sum;
            if (bf16 && !normalize && !scaleByLambda) {
                // DARE-TIES's usual case: out = r(base + r(sum)), both roundings in the one pass.
                for (int i = 0; i < m; i += L) {
                    IntVector b = FloatVector.fromArray(F, sum, i).reinterpretAsInts();
                    FloatVector delta = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                            .blend(b.and(0xFFFF0000).or(0x00400000),
                                    b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                            .reinterpretAsFloats();
                    b = FloatVector.fromArray(F, base, i).add(delta).reinterpretAsInts();
                    b.add(b.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF)).and(0xFFFF0000)
                            .blend(b.and(0xFFFF0000).or(0x00400000),
                                    b.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000))
                            .reinterpretAsFloats().intoArray(out, outOff + i);
                }
                return m;
            }
            round(sum, 0, m, bf16);
        }
        if (normalize) {
            for (int i = 0; i < m; i += L) {
                FloatVector divisor;
                if (signConsensus) {
                    FloatVector d = FloatVector.fromArray(F, weights, i);
                    divisor = d.blend(1f, d.compare(VectorOperators.EQ, 0f));
                } else {
                    divisor = FloatVector.broadcast(F, constantDivisor);
                }
                FloatVector.fromArray(F, mixed, i).div(divisor).intoArray(mixed, i);
            }
            round(mixed, 0, m, bf16);
        }
        if (scaleByLambda) {
            for (int i = 0; i < m; i += L) FloatVector.fromArray(F, mixed, i).mul(lambda).intoArray(mixed, i);
            round(mixed, 0, m, bf16);
        }
        for (int i = 0; i < m; i += L) {
            FloatVector.fromArray(F, base, i).add(FloatVector.fromArray(F, mixed, i)).intoArray(out, outOff + i);
        }
        round(out, outOff, m, bf16);
        return m;
    }

}
