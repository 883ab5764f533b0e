package org.mergelab.merge;

import java.util.List;
import java.util.SplittableRandom;
import org.mergelab.io.DType;
import org.mergelab.recipe.ParamSpec;

/**
 * Arcee Fusion: take the other model's changes only where they matter most. With {@code a} the base and {@code b}
 * the other model, per row (last axis; a 1-D tensor is one row):
 * <pre>
 *   I   = |b − a| · KL(softmax(b) + 1e-8 ‖ softmax(a) + 1e-8)        (the row's KL divergence, per element)
 *   thr = Q(0.5) + 1.5 (Q(0.75) − Q(0.25))                           (quantiles of I: element ⌊q (n−1)⌋ sorted)
 *   out = a + (b − a) · [I >= thr]
 * </pre>
 * The quantiles of a tensor of over a million elements come from a sample of a million drawn with replacement (a
 * random draw). The mask is float32, so mergekit's result is float32 whatever the working dtype (mergekit issue
 * #604): a bfloat16 merge writes float32 tensors unless the recipe sets {@code out_dtype}.
 */
public final class ArceeFusionMerge implements MergeMethod {
    static final int QUANTILE_SAMPLE = 1_000_000;

    @Override
    public String name() { return "arcee_fusion"; }

    @Override
    public String prettyName() { return "Arcee Fusion"; }

    @Override
    public String reference() { return "https://arcee.ai"; }

    @Override
    public List<ParamSpec> parameters() { return List.of(); }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 2, 2); }

    @Override
    public OptionalPolicy optionalPolicy() { return OptionalPolicy.PASSTHROUGH_SINGLETON; }

    @Override
    public DType resultDtype(DType work) {
        return work == DType.F64 ? DType.F64 : DType.F32;
    }

    @Override
    public boolean random() { return true; }

    @Override
    public float[] merge(TensorInputs in) {
        Precision p = in.precision();
        int n = in.numel();
        float[] a = in.base();
        float[] b = in.tensor(in.nonBase()[0]);
        Lanes rows = Lanes.lastAxis(in.shape(), n);
        float[] pb = softmaxPlusEps(b, rows, n, p), pa = softmaxPlusEps(a, rows, n, p);
        float[] importance = new float[n];
        float[] terms = new float[rows.length()];
        for (int v = 0; v < rows.count(); v++) {
            for (int i = 0; i < rows.length(); i++) {
                int j = rows.at(v, i);
                terms[i] = p.r(pb[j] * p.r((float) Math.log(p.r(pb[j] / pa[j]))));
            }
            float klRow = p.r(TorchReductions.sum(terms, 0, terms.length));
            for (int i = 0; i < rows.length(); i++) {
                int j = rows.at(v, i);
                importance[j] = p.r(Math.abs(p.r(b[j] - a[j])) * klRow);
            }
        }
        float threshold = threshold(importance, n, p, in.random(0));
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float diff = p.r(b[i] - a[i]);
            out[i] = a[i] + (importance[i] >= threshold ? diff : diff * 0f);
        }
        return out;
    }

    /** softmax along each row (float32 inside, as torch computes it for every dtype), plus 1e-8. */
    private static float[] softmaxPlusEps(float[] x, Lanes rows, int n, Precision p) {
        float[] out = new float[n];
        float eps = p.scalar(1e-8);
        for (int v = 0; v < rows.count(); v++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < rows.length(); i++) max = Math.max(max, x[rows.at(v, i)]);
            double sum = 0;
            for (int i = 0; i < rows.length(); i++) {
                int j = rows.at(v, i);
                out[j] = (float) Math.exp(x[j] - max);
                sum += out[j];
            }
            float inv = 1f / (float) sum;
            for (int i = 0; i < rows.length(); i++) {
                int j = rows.at(v, i);
                out[j] = p.r(p.r(out[j] * inv) + eps);
            }
        }
        return out;
    }

    /** {@code median + 1.5·IQR} of the importances, from mergekit's index-based quantiles. */
    static float threshold(float[] importance, int n, Precision p, SplittableRandom rng) {
        float[] sample;
        if (n > QUANTILE_SAMPLE) {
            sample = new float[QUANTILE_SAMPLE];
            for (int i = 0; i < QUANTILE_SAMPLE; i++) sample[i] = importance[rng.nextInt(n)];
        } else {
            sample = java.util.Arrays.copyOf(importance, n);
        }
        java.util.Arrays.sort(sample);
        int last = sample.length - 1;
        float q1 = sample[(int) (0.25f * last)], median = sample[(int) (0.5f * last)], q3 = sample[(int) (0.75f * last)];
        return p.r(median + p.times(p.r(q3 - q1), 1.5));
    }
}
