package org.mergelab.merge;

import java.util.List;
import org.mergelab.io.DType;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * RAM+ (tensor-local): {@link RamMerge} with each model's unique changes amplified by how much it overlaps with the
 * others within this tensor:
 * <pre>
 *   ρ_k = #{shared positions k touches} / max(#{unique positions k touches}, ε),   λ_k = 1 + r · clamp(ρ_k, 0, α)
 *   out = base + Σ_k a_k δ_k · (λ_k [c = 1] + [c > 1] / c)
 * </pre>
 * λ is a float32 tensor, so in mergekit the unique part, the sum and the result are float32 whatever the working
 * dtype: a bfloat16 merge writes float32 tensors unless the recipe sets {@code out_dtype}.
 */
public final class RamPlusTlMerge implements MergeMethod {
    @Override
    public String name() { return "ramplus_tl"; }

    @Override
    public String prettyName() { return "Reinforced Agent Merging Plus (Tensor-Local)"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2601.13572"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.shared("r", Type.FLOAT, 0.1), ParamSpec.shared("alpha", Type.FLOAT, 0.2),
                ParamSpec.shared("epsilon", Type.FLOAT, 1e-5));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 1, Integer.MAX_VALUE); }

    @Override
    public DType resultDtype(DType work) {
        return work == DType.F64 ? DType.F64 : DType.F32;
    }

    @Override
    public float[] merge(TensorInputs in) {
        float[] base = in.base();
        float[][] tv = TaskVector.ofNonBase(in);
        if (tv.length == 0) return base;
        int n = in.numel();
        Precision p = in.precision();
        double epsilon = in.sharedDouble("epsilon");
        RamMerge.Activity act = RamMerge.Activity.of(tv, n, epsilon, p);
        float[] lambda = new float[tv.length];
        for (int k = 0; k < tv.length; k++) {
            long shared = 0, unique = 0;
            for (int i = 0; i < n; i++) {
                if (act.active()[k][i] && act.count()[i] > 1) shared++;
                if (act.active()[k][i] && act.count()[i] == 1) unique++;
            }
            float rho = (float) shared / Math.max((float) unique, (float) epsilon);
            float clamped = Math.min(Math.max(rho, 0f), (float) in.sharedDouble("alpha"));
            lambda[k] = clamped * (float) in.sharedDouble("r") + 1f;
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float merged = 0f;
            for (int k = 0; k < tv.length; k++) merged += act.unique(k, i, tv) * lambda[k] + act.shared(k, i, tv, p);
            out[i] = base[i] + merged;
        }
        return out;
    }
}
