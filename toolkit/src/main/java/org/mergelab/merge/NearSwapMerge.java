package org.mergelab.merge;

import java.util.List;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * NearSwap: take the other model's value where it is close to the base's, keep the base's where they differ much:
 * <pre>
 *   w = clamp(t / max(|a − b|, 1e-6), 0, 1),   out = w·b + (1 − w)·a        (a = base, b = the other model)
 * </pre>
 * so entries closer than {@code t} are swapped outright. Computed in the working dtype as mergekit does
 * ({@code t / x} being torch's {@code x.reciprocal() * t}).
 */
public final class NearSwapMerge implements MergeMethod {
    @Override
    public String name() { return "nearswap"; }

    @Override
    public String prettyName() { return "NearSwap"; }

    @Override
    public String reference() { return "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001"; }

    @Override
    public List<ParamSpec> parameters() {
        return List.of(ParamSpec.sharedRequired("t", Type.FLOAT));
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 2, 2); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.PASSTHROUGH_BASE_SINGLETON; }

    @Override
    public float[] merge(TensorInputs in) {
        Precision p = in.precision();
        float[] a = in.base();
        float[] b = in.tensor(in.nonBase()[0]);
        double t = in.sharedDouble("t");
        float minDiff = p.scalar(1e-6);
        float[] out = new float[in.numel()];
        for (int i = 0; i < out.length; i++) {
            float diff = Math.max(Math.abs(p.r(a[i] - b[i])), minDiff);
            float w = Math.max(0f, Math.min(1f, p.scalarOver(t, diff)));
            out[i] = p.r(p.r(w * b[i]) + p.r(p.r(1f - w) * a[i]));
        }
        return out;
    }
}
