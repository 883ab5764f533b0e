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
public final class LinearMerge implements MergeMethod, StreamingMerge {
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
        float[] w = weights(in);
        float[] out = new float[n];
        List<float[]> x = new java.util.ArrayList<>();
        for (int k = 0; k < w.length; k++) x.add(in.tensor(k));
        combine(x, w, in.sharedBool("normalize") ? sum(w) : Float.NaN, out, n);
        return out;
    }

    @Override
    public void stream(TensorStream in, TensorStream.Output out) throws java.io.IOException {
        TensorInputs m = in.meta();
        float[] w = weights(m);
        List<float[]> x = new java.util.ArrayList<>();
        for (int k = 0; k < w.length; k++) x.add(BufferPool.get(k, TensorStream.CHUNK));
        float[] o = BufferPool.get(w.length, TensorStream.CHUNK);
        float divisor = m.sharedBool("normalize") ? sum(w) : Float.NaN;
        for (int c = 0; c < in.chunks(); c++) {
            for (int k = 0; k < w.length; k++) in.read(k, c, x.get(k));
            combine(x, w, divisor, o, in.chunkLength(c));
            out.write(c, o, in.chunkLength(c));
        }
    }

    private static float[] weights(TensorInputs in) {
        float[] w = new float[in.size()];
        for (int k = 0; k < w.length; k++) w[k] = (float) in.perModelDouble(k, "weight");
        return w;
    }

    private static float sum(float[] w) {
        float s = 0f;
        for (float v : w) s += v;
        return s;
    }

    /** {@code out = Σ w_k x_k} (each step one fused multiply-add), divided by {@code divisor} unless it is NaN. */
    private static void combine(List<float[]> x, float[] w, float divisor, float[] out, int n) {
        java.util.Arrays.fill(out, 0, n, 0f);
        for (int k = 0; k < w.length; k++) {
            float[] xk = x.get(k);
            float wk = w[k];
            for (int i = 0; i < n; i++) out[i] = Math.fma(xk[i], wk, out[i]);
        }
        if (!Float.isNaN(divisor)) {
            for (int i = 0; i < n; i++) out[i] /= divisor;
        }
    }
}
