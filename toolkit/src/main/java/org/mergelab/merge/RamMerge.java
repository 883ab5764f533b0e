package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Reinforced Agent Merging: at each position, the task vectors {@code δ_k = x_k − base} whose magnitude exceeds
 * {@code epsilon} are active; a position touched by one model takes that model's change, a position touched by
 * several takes the mean of their changes, an untouched position keeps the base:
 * <pre>
 *   out = base + Σ_k a_k δ_k · ([c = 1] + [c > 1] / c),   a_k = [|δ_k| > ε],  c = Σ_k a_k
 * </pre>
 * No per-model weights. Computed in the working dtype, as in mergekit.
 */
public final class RamMerge implements MergeMethod {
    @Override
    public String name() { return "ram"; }

    @Override
    public String prettyName() { return "Reinforced Agent Merging"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2601.13572"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.shared("epsilon", Type.FLOAT, 1e-5));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 1, Integer.MAX_VALUE); }

    @Override
    public float[] merge(TensorInputs in) {
        float[] base = in.base();
        float[][] tv = TaskVector.ofNonBase(in);
        if (tv.length == 0) return base;
        Precision p = in.precision();
        Activity act = Activity.of(tv, in.numel(), in.sharedDouble("epsilon"), p);
        float[] out = new float[in.numel()];
        for (int i = 0; i < out.length; i++) {
            float merged = 0f;
            for (int k = 0; k < tv.length; k++) merged += p.r(act.unique(k, i, tv) + act.shared(k, i, tv, p));
            out[i] = p.r(base[i] + p.r(merged));
        }
        return out;
    }

    /** Which task-vector entries are active ({@code |δ| > ε}) and how many models touch each position. */
    record Activity(boolean[][] active, int[] count) {
        static Activity of(float[][] tv, int n, double epsilon, Precision p) {
            float eps = p.scalar(epsilon);
            boolean[][] active = new boolean[tv.length][n];
            int[] count = new int[n];
            for (int k = 0; k < tv.length; k++) {
                for (int i = 0; i < n; i++) {
                    active[k][i] = Math.abs(tv[k][i]) > eps;
                    if (active[k][i]) count[i]++;
                }
            }
            return new Activity(active, count);
        }

        /** {@code δ·a} where only this model touches the position, else ±0. */
        float unique(int k, int i, float[][] tv) {
            float z = active[k][i] ? tv[k][i] : tv[k][i] * 0f;
            return count[i] == 1 ? z : z * 0f;
        }

        /** {@code δ·a / c} where several models touch the position, else ±0 (rounded as torch divides). */
        float shared(int k, int i, float[][] tv, Precision p) {
            float z = active[k][i] ? tv[k][i] : tv[k][i] * 0f;
            return p.r((count[i] > 1 ? z : z * 0f) / Math.max(count[i], 1));
        }
    }
}
