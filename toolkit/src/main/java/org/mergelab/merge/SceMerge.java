package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * SCE (Select, Calculate, Erase) over the task vectors {@code δ_k = x_k − base}:
 * <pre>
 *   select:    with select_topk τ < 1, keep the ⌊τ · #{v ≠ 0}⌋ positions where the variance across models v is
 *              largest (the same positions for every model), zero the rest
 *   calculate: ω_k = mean(δ_k²) / Σ_j mean(δ_j²)        (uniform 1/N when that sum is below 1e-6)
 *   erase:     m_k = [sign δ_k = elected sign]          (TIES' election on the unweighted task vectors)
 *   out = base + Σ_k ω_k m_k δ_k / max(Σ_k ω_k m_k, 1e-6)
 * </pre>
 * No per-model weights. Computed in the working dtype, as in mergekit.
 */
public final class SceMerge implements MergeMethod {
    @Override
    public String name() { return "sce"; }

    @Override
    public String prettyName() { return "SCE"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2408.07990"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.shared("int8_mask", Type.BOOL, false),
                ParamSpec.shared("select_topk", Type.FLOAT, 1.0));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 1, Integer.MAX_VALUE); }

    @Override
    public float[] merge(TensorInputs in) {
        int n = in.numel();
        float[] base = in.base();
        float[][] tv = TaskVector.ofNonBase(in);
        int count = tv.length;
        if (count == 0) return base;
        Precision p = in.precision();
        double topk = in.sharedDouble("select_topk");
        if (topk < 1) {
            boolean[] selected = selectByVariance(tv, n, topk, p);
            for (float[] d : tv) {
                for (int i = 0; i < n; i++) d[i] = selected[i] ? d[i] : d[i] * 0f;
            }
        }
        boolean[] positive = SignConsensus.positiveMajority(tv, n, p);

        float[] omega = new float[count];
        float[] squares = new float[n];
        for (int k = 0; k < count; k++) {
            for (int i = 0; i < n; i++) squares[i] = p.r(tv[k][i] * tv[k][i]);
            omega[k] = p.r(TorchReductions.sum(squares, 0, n) / n);
        }
        double omegaSum = ModelSum.ofScalars(omega, p);
        for (int k = 0; k < count; k++) {
            omega[k] = Math.abs(omegaSum) < 1e-6 ? p.r(1f / count) : p.over(omega[k], omegaSum);
        }

        float[] out = new float[n];
        float minDenominator = p.scalar(1e-6);
        for (int i = 0; i < n; i++) {
            float merged = 0f, weights = 0f;
            for (int k = 0; k < count; k++) {
                float erased = SignConsensus.agrees(tv[k][i], positive[i]) ? omega[k] : omega[k] * 0f;
                merged += p.r(tv[k][i] * erased);
                weights += erased;
            }
            float denominator = Math.max(p.r(weights), minDenominator);
            out[i] = p.r(base[i] + p.r(p.r(merged) / denominator));
        }
        return out;
    }

    /** The positions of the {@code ⌊τ · #{v ≠ 0}⌋} largest variances across the task vectors (torch.topk's choice). */
    static boolean[] selectByVariance(float[][] tv, int n, double density, Precision p) {
        boolean[] selected = new boolean[n];
        if (density <= 0) return selected;
        if (density >= 1) {
            java.util.Arrays.fill(selected, true);
            return selected;
        }
        float[] var = new float[n];
        int nonzero = 0;
        for (int i = 0; i < n; i++) {
            double mean = 0;
            for (float[] d : tv) mean += d[i];
            mean /= tv.length;
            double ss = 0;
            for (float[] d : tv) ss += (d[i] - mean) * (d[i] - mean);
            var[i] = p.r(ss / tv.length);
            if (var[i] != 0) nonzero++;
        }
        // int(count_nonzero(var) * density): an int64 tensor times a float is a float32 tensor
        int k = (int) ((float) nonzero * (float) density);
        if (k == 0) return selected;
        for (int i : IntroSort.topk(var, n, k, true)) selected[i] = true;
        return selected;
    }
}
