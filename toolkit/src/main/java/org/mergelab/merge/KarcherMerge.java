package org.mergelab.merge;

import java.util.ArrayList;
import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * The Karcher (Riemannian) mean of the inputs' directions, at their mean norm. Every input counts equally
 * ({@code α_i = 1/N}; a base model is one more input). With {@code u_i = x_i/‖x_i‖} over the inputs whose norm
 * exceeds {@code tol} (α renormalised over them), start at the normalised mean of the {@code u_i} and repeat up
 * to {@code max_iter} times:
 * <pre>
 *   T = Σ α_i (θ_i / sin θ_i)(u_i − cos θ_i · u),   cos θ_i = ⟨u, u_i⟩   (inputs with θ_i < tol skipped)
 *   u ← cos‖T‖ · u + sin‖T‖ · T/‖T‖,  renormalised                      (stop when ‖T‖ < tol)
 * </pre>
 * and return {@code (Σ_i α_i ‖x_i‖) · u}, the norms of all inputs with their original α. Norms are float32
 * ({@code tensor.to(float32)}), everything else is the working dtype, as in mergekit.
 */
public final class KarcherMerge implements MergeMethod {
    @Override
    public String name() { return "karcher"; }

    @Override
    public String prettyName() { return "Karcher Mean"; }

    @Override
    public String reference() { return "https://arxiv.org/abs/2603.04972"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.shared("max_iter", Type.INT, 10), ParamSpec.shared("tol", Type.FLOAT, 1e-5));
    }

    @Override
    public Contract contract() { return Contract.any(); }

    @Override
    public float[] merge(TensorInputs in) {
        int count = in.size(), n = in.numel();
        if (count == 1) return in.tensor(0);
        Precision p = in.precision();
        Transcendentals f = in.transcendentals();
        int maxIter = in.sharedInt("max_iter");
        double tol = in.sharedDouble("tol");
        double alpha = 1.0 / count;
        Lanes whole = Lanes.whole(n);

        float[] norms = new float[count];
        List<float[]> units = new ArrayList<>();
        List<Double> alphas = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            float[] x = in.tensor(k);
            norms[k] = whole.norm(x, 0, Precision.F32);
            if (norms[k] > tol) {
                float[] u = new float[n];
                for (int i = 0; i < n; i++) u[i] = p.r(x[i] / norms[k]);
                units.add(u);
                alphas.add(alpha);
            }
        }
        if (units.isEmpty()) return new float[n];
        double alphaSum = 0;
        for (double a : alphas) alphaSum += a;
        double[] a = new double[units.size()];
        for (int k = 0; k < a.length; k++) a[k] = alphas.get(k) / alphaSum;

        float[] mean = new float[n];
        for (int k = 0; k < a.length; k++) {
            float[] u = units.get(k);
            for (int i = 0; i < n; i++) mean[i] = p.r(mean[i] + p.times(u[i], a[k]));
        }
        float meanNorm = whole.norm(mean, 0, Precision.F32);
        if (meanNorm < tol) {
            mean = units.get(0).clone();
        } else {
            for (int i = 0; i < n; i++) mean[i] = p.r(mean[i] / meanNorm);
        }

        for (int iter = 0; iter < maxIter; iter++) {
            float[] tangent = new float[n];
            for (int k = 0; k < a.length; k++) {
                float[] u = units.get(k);
                float dot = Math.max(-1f, Math.min(1f, whole.innerProduct(mean, u, 0, p)));
                float theta = p.r(f.acos(dot));
                if (theta < tol) continue;
                float coef = p.times(p.r(theta / p.r(f.sin(theta))), a[k]);
                for (int i = 0; i < n; i++) {
                    float along = p.r(u[i] - p.r(dot * mean[i]));
                    tangent[i] = p.r(tangent[i] + p.r(coef * along));
                }
            }
            float tangentNorm = whole.norm(tangent, 0, Precision.F32);
            if (tangentNorm < tol) break;
            // cos‖T‖ and sin‖T‖ are float32 0-dim tensors written before the half-precision tensor they multiply,
            // so torch converts them to the working dtype first (a scalar written after keeps float32)
            float cos = p.r(f.cos(tangentNorm)), sin = p.r(f.sin(tangentNorm));
            for (int i = 0; i < n; i++) {
                mean[i] = p.r(p.r(cos * mean[i]) + p.r(sin * p.r(tangent[i] / tangentNorm)));
            }
            float unitNorm = whole.norm(mean, 0, Precision.F32);
            if (unitNorm > tol) {
                for (int i = 0; i < n; i++) mean[i] = p.r(mean[i] / unitNorm);
            }
        }

        float scale = 0f;
        for (int k = 0; k < count; k++) scale += (float) (norms[k] * (float) alpha);
        float[] out = new float[n];
        scale = p.r(scale); // a float32 0-dim tensor in front of the working-dtype tensor, as above
        for (int i = 0; i < n; i++) out[i] = p.r(scale * mean[i]);
        return out;
    }
}
