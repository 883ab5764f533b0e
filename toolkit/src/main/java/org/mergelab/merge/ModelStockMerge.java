package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Model Stock: move from the base {@code w0} towards the average of the fine-tunes {@code w_k} (N of them, at least
 * two) by a ratio set by how aligned their task vectors are:
 * <pre>
 *   cos θ = mean over pairs of ⟨w_i − w0, w_j − w0⟩ / max(‖w_i − w0‖‖w_j − w0‖, 1e-6)   (clamped to [−1, 1])
 *   t = N cos θ / (1 + (N − 1) cos θ)          (0 where the denominator is below 1e-6: the base is kept)
 *   out = t · mean_k w_k + (1 − t) · w0
 * </pre>
 * over the whole tensor, or per row with {@code filter_wise} (a 1-D tensor is one row). Computed in the working
 * dtype, as in mergekit. The 1e-6 clamp shrinks the cosine of small task vectors (a row of a bias or a norm with
 * {@code filter_wise}, a barely fine-tuned tensor): {@link Correction#MODEL_STOCK_SMALL_NORMS} uses the exact
 * cosine instead. An optional tensor that fewer than three inputs have is copied from the base if only the base
 * has it, else left out.
 */
public final class ModelStockMerge implements MergeMethod {
    @Override
    public String name() { return "model_stock"; }

    @Override
    public String prettyName() { return "Model Stock"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2403.19522"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.shared("filter_wise", Type.BOOL, false));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 3, Integer.MAX_VALUE); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.BASE_OR_SKIP; }

    @Override
    public float[] merge(TensorInputs in) {
        int n = in.numel();
        Precision p = in.precision();
        float[] w0 = in.base();
        float[][] offsets = TaskVector.ofNonBase(in);
        int count = offsets.length;
        Lanes lanes = in.sharedBool("filter_wise") ? Lanes.lastAxis(in.shape(), n) : Lanes.whole(n);
        boolean exact = in.corrects(Correction.MODEL_STOCK_SMALL_NORMS);
        float minProduct = p.scalar(1e-6);

        float[] t = new float[lanes.count()];
        for (int v = 0; v < lanes.count(); v++) {
            float[] norms = new float[count];
            for (int k = 0; k < count; k++) norms[k] = lanes.norm(offsets[k], v, p);
            float[] cosines = new float[count * (count - 1) / 2];
            int pairs = 0;
            for (int a = 0; a < count; a++) {
                for (int b = a + 1; b < count; b++) {
                    float product = p.r(norms[a] * norms[b]);
                    float dot = lanes.dot(offsets[a], offsets[b], v, p);
                    float cos = exact ? (product == 0 ? 0f : p.r(dot / product)) : p.r(dot / Math.max(product, minProduct));
                    cosines[pairs++] = Math.max(-1f, Math.min(1f, cos));
                }
            }
            // mean over the stacked pairs: a 1-D sum for whole tensors, a sum over the outer axis per row
            float cosSum = 0f;
            if (lanes.count() == 1) {
                cosSum = TorchReductions.sum(cosines, 0, pairs);
            } else {
                for (float c : cosines) cosSum += c;
            }
            float cos = p.r(cosSum / pairs);
            float denominator = p.r(p.times(cos, count - 1) + 1f);
            boolean singular = Math.abs(denominator) < p.scalar(1e-6);
            t[v] = singular ? 0f : p.r(p.times(cos, count) / denominator);
        }

        float[] sum = new float[n];
        for (float[] x : fineTunes(in)) {
            for (int i = 0; i < n; i++) sum[i] = p.r(sum[i] + x[i]);
        }
        float[] out = new float[n];
        for (int v = 0; v < lanes.count(); v++) {
            float keep = p.r(1f - t[v]);
            for (int i = 0; i < lanes.length(); i++) {
                int j = lanes.at(v, i);
                float average = p.over(sum[j], count);
                out[j] = p.r(p.r(t[v] * average) + p.r(keep * w0[j]));
            }
        }
        return out;
    }

    private static float[][] fineTunes(TensorInputs in) {
        int[] m = in.nonBase();
        float[][] out = new float[m.length][];
        for (int k = 0; k < m.length; k++) out[k] = in.tensor(m[k]);
        return out;
    }
}
