package org.mergelab.merge;

import java.util.SplittableRandom;

/**
 * How the task-arithmetic family thins a task vector before merging it (mergekit 0.1.5's {@code sparsify.py}).
 * Each returns a new array of the same length; {@code density >= 1} returns the task vector itself.
 *
 * <p>With {@code rescale}, what survives is scaled by {@code Σ|δ| / Σ|kept|} so the tensor keeps its L1 norm
 * (skipped when either sum is below 1e-7). This is mergekit's rescaling for DARE and DELLA, not the papers'
 * per-element {@code 1/p}; {@link Correction#RESCALE_BY_PROBABILITY} gives the papers'.
 */
enum Sparsifier {
    /**
     * TIES: keep the {@code k = max(1, ⌊density·n⌋)} largest magnitudes; {@code density <= 0} keeps nothing.
     * Among equal magnitudes at the cut, the ones torch's unstable argsort puts first (see {@link IntroSort}).
     */
    MAGNITUDE {
        @Override
        float[] apply(float[] delta, Shape s, Sparsity d, Precision p, SplittableRandom rng, long key, boolean rescale,
                      TensorInputs in) {
            int n = s.numel();
            if (d.density() >= 1) return delta;
            if (d.density() <= 0 || n == 0) return new float[n];
            int k = Math.max(1, (int) (d.density() * n));
            boolean[] keep = new boolean[n];
            int[] order = IntroSort.argsort(abs(delta, n), n, true);
            for (int i = 0; i < k; i++) keep[order[i]] = true;
            return rescaledMasked(delta, keep, n, rescale, p);
        }
    },
    /** DARE: keep each entry independently with probability {@code density}. */
    BERNOULLI {
        @Override
        float[] apply(float[] delta, Shape s, Sparsity d, Precision p, SplittableRandom rng, long key, boolean rescale,
                      TensorInputs in) {
            int n = s.numel();
            if (d.density() >= 1) return delta;
            // torch samples from a tensor filled with density in the work dtype (float16 is sampled in float32).
            Precision work = p.dtype() == org.mergelab.io.DType.F16 ? Precision.F32 : p;
            float prob = work.r(d.density());
            boolean[] keep = new boolean[n];
            for (int i = 0; i < n; i++) keep[i] = RandomStreams.uniform(key, i) < prob;
            float[] out = in.corrects(Correction.RESCALE_BY_PROBABILITY) && rescale
                    ? dividedByProbability(delta, keep, n, uniform(prob, n), work)
                    : rescaledMasked(delta, keep, n, rescale, work);
            p.round(out, n);
            return out;
        }
    },
    /**
     * Model breadcrumbs: drop the {@code ⌊γ·n⌋} largest magnitudes (outliers) and the smallest, keeping
     * {@code ⌊density·n⌋} from the middle of the ascending order: ranks {@code [n_bot, n_bot + target)} with
     * {@code n_bot = max(0, n − target − ⌊γ·n⌋)}. (mergekit 0.1.4 kept {@code [n_bot, n − n_top)} and so kept
     * nothing when {@code ⌊γ·n⌋ = 0}; 0.1.5 no longer has that bug.)
     */
    MAGNITUDE_OUTLIERS {
        @Override
        float[] apply(float[] delta, Shape s, Sparsity d, Precision p, SplittableRandom rng, long key, boolean rescale,
                      TensorInputs in) {
            int n = s.numel();
            if (d.density() >= 1) return delta;
            int target = (int) (d.density() * n);
            int top = (int) (d.gamma() * n);
            int bottom = Math.max(0, n - target - top);
            int[] order = IntroSort.argsort(abs(delta, n), n, false);
            boolean[] keep = new boolean[n];
            for (int i = bottom; i < Math.min(n, bottom + Math.max(0, target)); i++) keep[order[i]] = true;
            return rescaledMasked(delta, keep, n, rescale, p);
        }
    },
    /**
     * DELLA's MAGPRUNE: within each row (a 1-D tensor is one row), rank the magnitudes ascending and keep each entry
     * with probability {@code p = (density − ε) + 2ε·r̂}, {@code r̂} the rank scaled to [0, 1]; needs
     * {@code 0 < density ± ε < 1} (checked when the recipe is planned). mergekit ranks in the work dtype, so in
     * bfloat16 ranks above 256 are rounded. A one-element row gives {@code r̂ = 0/0} and mergekit fails;
     * {@link Correction#DELLA_SINGLE_ELEMENT_ROWS} keeps such an element with probability {@code density}.
     */
    DELLA_MAGPRUNE {
        @Override
        float[] apply(float[] delta, Shape s, Sparsity d, Precision p, SplittableRandom rng, long key, boolean rescale,
                      TensorInputs in) {
            int n = s.numel();
            if (d.density() >= 1) return delta;
            if (d.density() <= 0) return new float[n];
            Precision work = p.dtype() == org.mergelab.io.DType.F16 ? Precision.F32 : p;
            // mergekit ranks along dimension 1 (a 1-D tensor is one row): for a matrix, within each row.
            int outer = s.outer(), len = s.ranked(), inner = s.inner();
            if (len == 1 && n > 0 && !in.corrects(Correction.DELLA_SINGLE_ELEMENT_ROWS)) {
                throw new IllegalArgumentException("DELLA cannot rank rows of one element (tensor shape "
                        + java.util.Arrays.toString(in.shape()) + "): mergekit fails here with torch's 'Expected"
                        + " p_in >= 0 && p_in <= 1'; --correct " + Correction.DELLA_SINGLE_ELEMENT_ROWS.cliName()
                        + " keeps such elements with probability density");
            }
            float low = (float) (d.density() - d.epsilon());
            float[] prob = new float[n];
            float[] row = new float[len];
            float[] rank = new float[len];
            for (int a = 0; a < outer; a++) {
                for (int c = 0; c < inner; c++) {
                    int off = a * len * inner + c;
                    for (int j = 0; j < len; j++) row[j] = Math.abs(delta[off + j * inner]);
                    int[] order = IntroSort.argsort(row, len, false);
                    float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
                    for (int pos = 0; pos < len; pos++) {
                        // ranks = argsort().argsort() + 1 in the work dtype (inexact above 256 in bfloat16)
                        float v = work.r(work.r((float) pos) + 1f);
                        rank[order[pos]] = v;
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                    }
                    float span = work.r(max - min);
                    for (int j = 0; j < len; j++) {
                        float scaled = len == 1 ? 0.5f // the correction: keep with probability density
                                : Math.max(0f, Math.min(1f, work.r(work.r(rank[j] - min) / span)));
                        // (density - epsilon) + rank_norm * 2 * epsilon, in torch's order and roundings
                        float twice = work.r(scaled * 2f);
                        prob[off + j * inner] = work.r(work.times(twice, d.epsilon()) + work.scalar(low));
                    }
                }
            }
            boolean[] keep = new boolean[n];
            for (int i = 0; i < n; i++) keep[i] = rng.nextDouble() < prob[i];
            float[] out = in.corrects(Correction.RESCALE_BY_PROBABILITY) && rescale
                    ? dividedByProbability(delta, keep, n, prob, work)
                    : rescaledMasked(delta, keep, n, rescale, work);
            p.round(out, n);
            return out;
        }
    };

    /**
     * A tensor's size, seen as {@code [outer, ranked, inner]} around its dimension 1 (a 1-D tensor is
     * {@code [1, n, 1]}): DELLA ranks magnitudes along the middle axis.
     */
    record Shape(int numel, int outer, int ranked, int inner) {
        static Shape of(long[] shape) {
            long numel = 1;
            for (long d : shape) numel *= d;
            if (shape.length < 2) return new Shape((int) numel, 1, (int) numel, 1);
            long inner = 1;
            for (int i = 2; i < shape.length; i++) inner *= shape[i];
            return new Shape((int) numel, (int) shape[0], (int) shape[1], (int) inner);
        }
    }

    /** One model's sparsification parameters ({@code gamma} for breadcrumbs, {@code epsilon} for DELLA). */
    record Sparsity(double density, double gamma, double epsilon) {}

    abstract float[] apply(float[] delta, Shape shape, Sparsity sparsity, Precision p, SplittableRandom rng, long key,
                           boolean rescale, TensorInputs in);

    static final double RESCALE_EPS = 1e-7;

    private static float[] abs(float[] x, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = Math.abs(x[i]);
        return a;
    }

    private static float[] uniform(double v, int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, (float) v);
        return a;
    }

    /** mergekit's {@code rescaled_masked_tensor} with the L1 norm, in the working dtype. */
    static float[] rescaledMasked(float[] delta, boolean[] keep, int n, boolean rescale, Precision p) {
        float[] masked = new float[n];
        for (int i = 0; i < n; i++) masked[i] = keep[i] ? delta[i] : delta[i] * 0f;
        if (!rescale) return masked;
        float[] abs = new float[n];
        for (int i = 0; i < n; i++) abs[i] = Math.abs(delta[i]);
        float b = p.r(TorchReductions.sum(abs, 0, n));
        for (int i = 0; i < n; i++) abs[i] = Math.abs(masked[i]);
        float a = p.r(TorchReductions.sum(abs, 0, n));
        float eps = p.scalar(RESCALE_EPS);
        if (b < eps || a < eps) return masked;
        float ratio = p.r(b / a);
        for (int i = 0; i < n; i++) masked[i] = p.r(masked[i] * ratio);
        return masked;
    }

    /** The papers' rescaling: each kept entry divided by its keep probability. */
    private static float[] dividedByProbability(float[] delta, boolean[] keep, int n, float[] prob, Precision p) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = keep[i] ? p.r(delta[i] / prob[i]) : 0f;
        return out;
    }
}
