package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * SLERP generalised (mergekit's NuSLERP): exactly two models {@code x1, x2} with weights {@code w1, w2}, at
 * {@code t = w2 / (w1 + w2)} ({@code t = 0.5} when {@code |w1 + w2| < 1e-6}), interpolated along the great circle
 * <pre>
 *   slerp(t, v0, v1) = (sin((1−t)θ)·v0 + sin(tθ)·v1) / sin θ,   cos θ = ⟨v0/‖v0‖, v1/‖v1‖⟩
 * </pre>
 * falling back to {@code (1−t)v0 + t v1} where {@code 1 − cos²θ <= 1e-16}. With a base (a third, distinct model)
 * it interpolates the task vectors: {@code out = base + slerp(t, x1 − base, x2 − base)}. Vectors are the whole
 * tensor ({@code nuslerp_flatten}, the default), else its rows, or with {@code nuslerp_row_wise} its columns (the
 * slices along the first axis: mergekit's name says rows, its code transposes). Computed in the working dtype, as
 * mergekit does; norms clamp at 1e-7.
 */
public final class NuSlerpMerge implements MergeMethod {
    @Override
    public String name() { return "nuslerp"; }

    @Override
    public String prettyName() { return "NuSLERP"; }

    @Override
    public String reference() { return "https://github.com/arcee-ai/mergekit"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(new ParamSpec("weight", Type.FLOAT, true, false, true, null),
                ParamSpec.shared("nuslerp_row_wise", Type.BOOL, false),
                ParamSpec.shared("nuslerp_flatten", Type.BOOL, true));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.OPTIONAL, 1, Integer.MAX_VALUE, 2, 2); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.PASSTHROUGH_SINGLETON; }

    @Override
    public float[] merge(TensorInputs in) {
        int[] m = in.nonBase();
        double w1 = in.perModelDouble(m[0], "weight"), w2 = in.perModelDouble(m[1], "weight");
        double total = w1 + w2;
        double t = Math.abs(total) < 1e-6 ? 0.5 : w2 / total;
        int n = in.numel();
        Precision p = in.precision();
        Lanes lanes = in.sharedBool("nuslerp_flatten") ? Lanes.whole(n)
                : in.sharedBool("nuslerp_row_wise") ? Lanes.firstAxis(in.shape(), n) : Lanes.lastAxis(in.shape(), n);
        if (!in.hasBase()) return slerp(t, in.tensor(m[0]), in.tensor(m[1]), lanes, n, p, in.transcendentals());
        float[] base = in.base();
        float[] out = slerp(t, TaskVector.of(in.tensor(m[0]), base, n, p), TaskVector.of(in.tensor(m[1]), base, n, p),
                lanes, n, p, in.transcendentals());
        for (int i = 0; i < n; i++) out[i] = p.r(base[i] + out[i]);
        return out;
    }

    static float[] slerp(double t, float[] v0, float[] v1, Lanes lanes, int n, Precision p, Transcendentals f) {
        float[] u0 = unit(v0, lanes, n, p), u1 = unit(v1, lanes, n, p);
        float[] out = new float[n];
        float minColinear = p.scalar(1e-16);
        for (int v = 0; v < lanes.count(); v++) {
            float cos = Math.max(-1f, Math.min(1f, lanes.dot(u0, u1, v, p)));
            boolean colinear = p.r(1f - p.r(cos * cos)) <= minColinear;
            float theta = p.r(f.acos(colinear ? 0f : cos));
            float sinTheta = p.r(f.sin(theta));
            float s0 = p.r(f.sin(p.times(theta, 1 - t)));
            float s1 = p.r(f.sin(p.times(theta, t)));
            for (int i = 0; i < lanes.length(); i++) {
                int j = lanes.at(v, i);
                out[j] = colinear ? p.r(p.times(v0[j], 1 - t) + p.times(v1[j], t))
                        : p.r(p.r(p.r(s0 * v0[j]) + p.r(s1 * v1[j])) / sinTheta);
            }
        }
        return out;
    }

    /** {@code x / max(‖x‖, 1e-7)} per vector. */
    private static float[] unit(float[] x, Lanes lanes, int n, Precision p) {
        float[] u = new float[n];
        float minNorm = p.scalar(1e-7);
        for (int v = 0; v < lanes.count(); v++) {
            float norm = Math.max(lanes.norm(x, v, p), minNorm);
            for (int i = 0; i < lanes.length(); i++) {
                int j = lanes.at(v, i);
                u[j] = p.r(x[j] / norm);
            }
        }
        return u;
    }
}
