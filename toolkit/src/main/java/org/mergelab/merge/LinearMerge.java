package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Weighted average: {@code out = Σ w_i x_i / Σ w_i} (without the division if {@code normalize} is false).
 * Accumulated in float32 in recipe order with float32 weights, one fused multiply-add per model, as mergekit 0.1.5
 * does ({@code result.addcmul_(tensor, weight)}, which torch 2.x computes fused on x86-64), so merges match it bit for
 * bit (a separate multiply and add, for the four-model stories260K merge at 0.4/0.3/0.2/0.1, differed in the
 * last bit of 25% of float32 results and of 0.8% of bfloat16 results).
 */
public final class LinearMerge implements MergeMethod {
    @Override
    public String name() { return "linear"; }

    @Override
    public String prettyName() { return "Linear"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2203.05482"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.perModelRequired("weight", Type.FLOAT), ParamSpec.shared("normalize", Type.BOOL, true));
    }

    @Override
    public Contract contract() { return Contract.any(); }

    @Override
    public float[] merge(TensorInputs in) {
        int n = in.numel();
        float[] w = new float[in.size()];
        float weightSum = 0f;
        for (int k = 0; k < w.length; k++) {
            w[k] = (float) in.perModelDouble(k, "weight");
            weightSum += w[k];
        }
        float[] out = new float[n];
        for (int k = 0; k < w.length; k++) {
            float[] x = in.tensor(k);
            float wk = w[k];
            for (int i = 0; i < n; i++) out[i] = Math.fma(x[i], wk, out[i]);
        }
        if (in.sharedBool("normalize")) {
            for (int i = 0; i < n; i++) out[i] /= weightSum;
        }
        return out;
    }
}
