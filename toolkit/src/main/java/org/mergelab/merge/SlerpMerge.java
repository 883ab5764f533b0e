package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * Spherical interpolation between the base {@code a} and the other model {@code b}, over each whole tensor seen as
 * one vector: with {@code θ} the angle between them,
 * {@code out = sin((1-t)θ)/sin θ · a + sin(tθ)/sin θ · b}. When the two are almost colinear
 * ({@code |cos θ| > 0.9995}) it falls back to linear interpolation {@code (1-t)a + t b}, as mergekit does.
 * {@code t = 0} gives the base, {@code t = 1} the other model.
 */
public final class SlerpMerge implements MergeMethod {
    /** mergekit's threshold on |cos θ| above which it interpolates linearly. */
    public static final double DOT_THRESHOLD = 0.9995;
    /** Norms at or below this are treated as 1: a zero tensor is not normalised. */
    public static final double EPS = 1e-8;

    @Override
    public String name() { return "slerp"; }

    @Override
    public String prettyName() { return "SLERP"; }

    @Override
    public String reference() { return "https://en.wikipedia.org/wiki/Slerp"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.sharedRequired("t", Type.FLOAT));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 2, 2); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.PASSTHROUGH_SINGLETON; }

    @Override
    public float[] merge(TensorInputs in) {
        float[] a = in.base();
        float[] b = in.tensor(1 - in.baseIndex());
        return slerpInto(in.output(), (float) in.sharedDouble("t"), a, b, in.numel());
    }

    /** The coefficients (of a, of b) SLERP uses for two tensors, and whether the colinear fallback fired. */
    public record Coefficients(float ofA, float ofB, double cosine, boolean linear) {}

    public static Coefficients coefficients(float t, float[] a, float[] b, int n) {
        // One pass, accumulated in double: ‖a‖², ‖b‖² and ⟨a, b⟩. mergekit divides each element by the float32
        // norms before multiplying; the two agree to a float32 ulp or two, below mergekit's own rounding noise.
        double[] g = Reductions.gram(a, b, n);
        float normA = (float) Math.sqrt(g[0]), normB = (float) Math.sqrt(g[1]);
        // mergekit computes these scalars in float32; a norm at or below eps is taken as 1 (a zero tensor).
        float na = normA > EPS ? normA : 1f;
        float nb = normB > EPS ? normB : 1f;
        float dot = (float) (g[2] / ((double) na * (double) nb));
        dot = Math.max(-1f, Math.min(1f, dot));
        boolean linear = Math.abs(dot) > DOT_THRESHOLD;
        if (linear) return new Coefficients(1f - t, t, dot, true);
        float theta = (float) Math.acos(dot);
        float sinTheta = (float) Math.sin(theta);
        float ofA = (float) Math.sin((1f - t) * theta) / sinTheta;
        float ofB = (float) Math.sin(t * theta) / sinTheta;
        return new Coefficients(ofA, ofB, dot, false);
    }

    /** SLERP of {@code a[0..n)} and {@code b[0..n)} into a new array. */
    public static float[] slerp(float t, float[] a, float[] b, int n) {
        return slerpInto(new float[n], t, a, b, n);
    }

    static float[] slerpInto(float[] out, float t, float[] a, float[] b, int n) {
        Coefficients c = coefficients(t, a, b, n);
        float ca = c.ofA(), cb = c.ofB();
        for (int i = 0; i < n; i++) out[i] = ca * a[i] + cb * b[i];
        return out;
    }
}
