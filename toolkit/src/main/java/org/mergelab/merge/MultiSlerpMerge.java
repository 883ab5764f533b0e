package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Barycentric interpolation on the hypersphere (Multi-SLERP) for any number of models, each tensor one vector:
 * with {@code x_k} the models (their task vectors if a base is set) and weights {@code w_k} (normalised to sum 1
 * unless {@code normalize_weights: false}):
 * <pre>
 *   u_k = x_k / (‖x_k‖ + ε),   m = Σ w_k u_k / ‖Σ w_k u_k‖          (project, take the weighted mean direction)
 *   τ_k = u_k − ⟨u_k, m⟩ m,    T = Σ w_k τ_k,  ℓ = ‖T‖ + ε          (tangent vectors at m, their weighted mean)
 *   out = (m cos ℓ + T sin ℓ / ℓ) · Σ w_k ‖x_k‖  (+ base)           (exponential map back, at the mean norm)
 * </pre>
 * A single model is returned as it is (without adding anything to it, even with a base). When the mean direction
 * vanishes ({@code ‖Σ w_k u_k‖ < ε}) two models are averaged linearly and more fail, as in mergekit. Computed in
 * the working dtype.
 */
public final class MultiSlerpMerge implements MergeMethod {
    @Override
    public String name() { return "multislerp"; }

    @Override
    public String prettyName() { return "Multi-SLERP"; }

    @Override
    public String reference() { return "https://goddard.blog/posts/multislerp-wow-what-a-cool-idea"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(new ParamSpec("weight", Type.FLOAT, true, false, true, null),
                ParamSpec.shared("normalize_weights", Type.BOOL, true),
                ParamSpec.shared("eps", Type.FLOAT, 1e-8));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.OPTIONAL, 1, Integer.MAX_VALUE, 1, Integer.MAX_VALUE); }

    @Override
    public float[] merge(TensorInputs in) {
        int[] m = in.nonBase();
        if (m.length == 1) return in.tensor(m[0]);
        int n = in.numel(), count = m.length;
        Precision p = in.precision();
        Transcendentals f = in.transcendentals();
        double eps = in.sharedDouble("eps");
        float[][] x = new float[count][];
        for (int k = 0; k < count; k++) {
            x[k] = in.hasBase() ? TaskVector.of(in.tensor(m[k]), in.base(), n, p) : in.tensor(m[k]);
        }
        float[] w = new float[count];
        for (int k = 0; k < count; k++) w[k] = p.r((float) in.perModelDouble(m[k], "weight"));
        if (in.sharedBool("normalize_weights")) {
            float sum = ModelSum.ofScalars(w, p);
            for (int k = 0; k < count; k++) w[k] = p.r(w[k] / sum);
        }
        Lanes whole = Lanes.whole(n);
        float[] norms = new float[count];
        float[][] unit = new float[count][n];
        for (int k = 0; k < count; k++) {
            norms[k] = whole.norm(x[k], 0, p);
            float d = p.r(norms[k] + p.scalar(eps));
            for (int i = 0; i < n; i++) unit[k][i] = p.r(x[k][i] / d);
        }
        float[] mean = weightedSum(unit, w, n, p);
        float meanNorm = whole.norm(mean, 0, p);
        if (meanNorm < p.scalar(eps)) {
            if (count != 2) {
                throw new IllegalArgumentException("multislerp: the weighted sum of the input tensors is zero"
                        + " (antipodal inputs whose weights cancel, e.g. a and -a with equal weights); try other weights");
            }
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = p.r(p.r(x[0][i] * w[0]) + p.r(x[1][i] * w[1]));
                if (in.hasBase()) out[i] = p.r(out[i] + in.base()[i]);
            }
            return out;
        }
        for (int i = 0; i < n; i++) mean[i] = p.r(mean[i] / meanNorm);
        float[][] tangent = new float[count][n];
        for (int k = 0; k < count; k++) {
            float along = whole.dot(unit[k], mean, 0, p);
            for (int i = 0; i < n; i++) tangent[k][i] = p.r(unit[k][i] - p.r(along * mean[i]));
        }
        float[] tangentMean = weightedSum(tangent, w, n, p);
        float len = p.r(whole.norm(tangentMean, 0, p) + p.scalar(eps));
        float cos = p.r(f.cos(len));
        float sinOverLen = p.r(p.r(f.sin(len)) / len);
        float[] scaledNorms = new float[count];
        for (int k = 0; k < count; k++) scaledNorms[k] = p.r(norms[k] * w[k]);
        float meanOfNorms = ModelSum.ofScalars(scaledNorms, p);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float r = p.r(p.r(mean[i] * cos) + p.r(tangentMean[i] * sinOverLen));
            out[i] = p.r(r * meanOfNorms);
            if (in.hasBase()) out[i] = p.r(out[i] + in.base()[i]);
        }
        return out;
    }

    /** {@code Σ_k w_k v_k} as torch computes {@code (v * w.view(-1, 1)).sum(0)}. */
    private static float[] weightedSum(float[][] v, float[] w, int n, Precision p) {
        float[][] scaled = new float[v.length][n];
        for (int k = 0; k < v.length; k++) {
            for (int i = 0; i < n; i++) scaled[k][i] = p.r(v[k][i] * w[k]);
        }
        return ModelSum.of(scaled, n, p);
    }
}
