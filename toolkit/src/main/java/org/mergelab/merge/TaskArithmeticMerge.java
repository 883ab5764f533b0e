package org.mergelab.merge;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParamSpec.Type;

/**
 * The task-arithmetic family (mergekit's generalized task arithmetic): task_arithmetic, ties, dare_ties,
 * dare_linear, breadcrumbs, breadcrumbs_ties, della and della_linear differ only in how each task vector is thinned
 * ({@link Sparsifier}), whether TIES' sign election filters the sum ({@link SignConsensus}), and two defaults.
 * For the non-base models {@code k}, with {@code δ_k = x_k − base}:
 * <pre>
 *   W_k = w_k · sparsify(δ_k)
 *   Δ   = Σ_k m_k W_k,    D = Σ_k m_k w_k        (m_k = [sign W_k = elected sign], or 1 without consensus)
 *   out = base + λ · (normalize ? Δ / D : Δ)     (D = 0 → 1; without consensus |D| < 1e-8 → 1)
 * </pre>
 * Everything is computed in the working dtype as mergekit does, the weights included (0.3 becomes 0.30078125 in
 * bfloat16), so the results are mergekit's bits; the sign vote uses the weighted task vectors, so a negative weight
 * flips a model's vote. A density of 0 keeps nothing of a model (mergekit 0.1.4 failed on it for TIES; 0.1.5
 * merges it as zeros; the planner warns).
 */
public final class TaskArithmeticMerge implements MergeMethod, StreamingMerge {
    private final String name;
    private final String prettyName;
    private final String reference;
    private final Sparsifier sparsifier;
    private final boolean signConsensus;
    private final boolean defaultNormalize;
    private final boolean defaultRescale;

    private TaskArithmeticMerge(String name, String prettyName, String reference, Sparsifier sparsifier,
                                boolean signConsensus, boolean defaultNormalize, boolean defaultRescale) {
        this.name = name;
        this.prettyName = prettyName;
        this.reference = reference;
        this.sparsifier = sparsifier;
        this.signConsensus = signConsensus;
        this.defaultNormalize = defaultNormalize;
        this.defaultRescale = defaultRescale;
    }

    /** Plain task arithmetic: {@code base + λ Σ w_k δ_k}. */
    public static TaskArithmeticMerge taskArithmetic() {
        return new TaskArithmeticMerge("task_arithmetic", "Task Arithmetic", "https://arxiv.org/abs/2212.04089",
                null, false, false, false);
    }

    /** TIES: trim to the largest magnitudes, elect signs, merge the agreeing entries, divided by their weight. */
    public static TaskArithmeticMerge ties() {
        return new TaskArithmeticMerge("ties", "TIES", "https://arxiv.org/abs/2306.01708", Sparsifier.MAGNITUDE,
                true, true, false);
    }

    /** DARE with TIES' sign election: random drop, L1 rescale. */
    public static TaskArithmeticMerge dareTies() {
        return new TaskArithmeticMerge("dare_ties", "DARE TIES", "https://arxiv.org/abs/2311.03099",
                Sparsifier.BERNOULLI, true, false, true);
    }

    public static TaskArithmeticMerge dareLinear() {
        return new TaskArithmeticMerge("dare_linear", "Linear DARE", "https://arxiv.org/abs/2311.03099",
                Sparsifier.BERNOULLI, false, false, true);
    }

    /** Model breadcrumbs: drop the largest outliers and the smallest magnitudes. */
    public static TaskArithmeticMerge breadcrumbs() {
        return new TaskArithmeticMerge("breadcrumbs", "Model Breadcrumbs", "https://arxiv.org/abs/2312.06795",
                Sparsifier.MAGNITUDE_OUTLIERS, false, false, false);
    }

    public static TaskArithmeticMerge breadcrumbsTies() {
        return new TaskArithmeticMerge("breadcrumbs_ties", "Model Breadcrumbs with TIES",
                "https://arxiv.org/abs/2312.06795", Sparsifier.MAGNITUDE_OUTLIERS, true, false, false);
    }

    /** DELLA: magnitude-ranked random drop (MAGPRUNE) with TIES' sign election. */
    public static TaskArithmeticMerge della() {
        return new TaskArithmeticMerge("della", "DELLA", "https://arxiv.org/abs/2406.11617",
                Sparsifier.DELLA_MAGPRUNE, true, true, true);
    }

    public static TaskArithmeticMerge dellaLinear() {
        return new TaskArithmeticMerge("della_linear", "Linear DELLA", "https://arxiv.org/abs/2406.11617",
                Sparsifier.DELLA_MAGPRUNE, false, false, true);
    }

    @Override
    public String name() { return name; }

    @Override
    public String prettyName() { return prettyName; }

    @Override
    public String reference() { return reference; }

    @Override
    public List<ParamSpec> parameters() {
        List<ParamSpec> p = new ArrayList<>(List.of(
                ParamSpec.shared("int8_mask", Type.BOOL, false),
                ParamSpec.shared("normalize", Type.BOOL, defaultNormalize),
                ParamSpec.shared("rescale", Type.BOOL, defaultRescale),
                ParamSpec.shared("lambda", Type.FLOAT, 1.0),
                new ParamSpec("weight", Type.FLOAT, true, false, true, null),
                ParamSpec.perNonBase("density", Type.FLOAT, 1.0)));
        if (sparsifier == Sparsifier.MAGNITUDE_OUTLIERS) p.add(ParamSpec.perNonBase("gamma", Type.FLOAT, 0.01));
        if (sparsifier == Sparsifier.DELLA_MAGPRUNE) p.add(ParamSpec.perNonBase("epsilon", Type.FLOAT, 0.15));
        return List.copyOf(p);
    }

    @Override
    public Contract contract() { return new Contract(BasePolicy.REQUIRED, 1, Integer.MAX_VALUE); }

    @Override
    public boolean random() {
        return sparsifier == Sparsifier.BERNOULLI || sparsifier == Sparsifier.DELLA_MAGPRUNE;
    }

    @Override
    public List<Problem> check(Resolved r) {
        List<Problem> out = new ArrayList<>();
        if (sparsifier == null) return out;
        for (int i = 0; i < r.perModel().size(); i++) {
            if (i == r.baseIndex()) continue;
            Map<String, Object> p = r.perModel().get(i);
            double density = ((Number) p.get("density")).doubleValue();
            if (density <= 0) {
                out.add(Problem.warning("density", i, "density " + density + " keeps nothing of " + r.models().get(i)
                        + "'s task vector (mergekit 0.1.5 merges it as zeros)"));
            }
            if (sparsifier == Sparsifier.DELLA_MAGPRUNE && density > 0 && density < 1) {
                double eps = ((Number) p.get("epsilon")).doubleValue();
                if (density + eps >= 1 || density - eps <= 0) {
                    out.add(Problem.error("epsilon", i, "DELLA needs density ± epsilon inside (0, 1), but "
                            + r.models().get(i) + " has density " + density + " and epsilon " + eps
                            + " (mergekit: \"Epsilon must be chosen such that density +/- epsilon is in (0, 1)\")"));
                }
            }
        }
        return out;
    }

    @Override
    public float[] merge(TensorInputs in) {
        int n = in.numel();
        float[] base = in.base();
        int[] models = in.nonBase();
        if (models.length == 0) return base;
        Precision p = in.precision();
        boolean rescale = in.sharedBool("rescale");
        Sparsifier.Shape shape = Sparsifier.Shape.of(in.shape());

        float[][] weighted = new float[models.length][];
        float[] w = new float[models.length];
        for (int k = 0; k < models.length; k++) {
            int m = models[k];
            float[] delta = TaskVector.of(in.tensor(m), base, n, p);
            if (sparsifier != null) {
                Map<String, Object> params = in.perModel(m);
                Sparsifier.Sparsity s = new Sparsifier.Sparsity(in.perModelDouble(m, "density"),
                        doubleOr(params, "gamma"), doubleOr(params, "epsilon"));
                delta = sparsifier.apply(delta, shape, s, p, in.random(m), in.randomKey(m), rescale, in);
            }
            w[k] = p.r((float) in.perModelDouble(m, "weight"));
            for (int i = 0; i < n; i++) delta[i] = p.r(delta[i] * w[k]); // a fresh array: weighted in place
            weighted[k] = delta;
        }

        float[] mixed;
        float[] divisor = new float[n];
        if (signConsensus) {
            boolean[] positive = SignConsensus.positiveMajority(weighted, n, p);
            mixed = new float[n];
            for (int i = 0; i < n; i++) {
                float sum = 0f, weights = 0f;
                for (int k = 0; k < models.length; k++) {
                    boolean agree = SignConsensus.agrees(weighted[k][i], positive[i]);
                    sum += agree ? weighted[k][i] : weighted[k][i] * 0f;
                    weights += agree ? w[k] : w[k] * 0f;
                }
                mixed[i] = p.r(sum);
                float d = p.r(weights);
                divisor[i] = d == 0 ? 1f : d;
            }
        } else {
            mixed = ModelSum.of(weighted, n, p);
            float d = ModelSum.ofScalars(w, p);
            java.util.Arrays.fill(divisor, Math.abs(d) < p.scalar(1e-8) ? 1f : d);
        }

        boolean normalize = in.sharedBool("normalize");
        double lambda = in.sharedDouble("lambda");
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float delta = mixed[i];
            if (normalize) delta = p.r(delta / divisor[i]);
            if (lambda != 1) delta = p.times(delta, lambda);
            out[i] = p.r(base[i] + delta);
        }
        return out;
    }

    /** Task arithmetic and DARE are elementwise given one pair of L1 sums per model: they stream. */
    @Override
    public boolean streams(TensorInputs meta) {
        return (sparsifier == null || sparsifier == Sparsifier.BERNOULLI)
                && !meta.corrects(Correction.RESCALE_BY_PROBABILITY);
    }

    @Override
    public boolean prefersStreaming() {
        return sparsifier == Sparsifier.BERNOULLI && VectorSupport.ENABLED;
    }

    /**
     * {@link #merge} a block at a time. DARE's rescaling needs each model's L1 norms before and after dropping, so
     * a first pass draws the masks and sums the magnitudes in torch's order ({@link TorchReductions.CascadeSum});
     * the masks are counter-based ({@link RandomStreams#uniform}), so the second pass draws the very same ones. The
     * result equals the in-memory merge's bit for bit. Where the JVM has the Vector API and the merge runs in float32
     * or bfloat16, the loops run eight elements at a time ({@link DareLanes}), with the same operations.
     */
    @Override
    public void stream(TensorStream in, TensorStream.Output out) throws java.io.IOException {
        TensorInputs m = in.meta();
        int[] models = m.nonBase();
        int K = models.length, ib = m.baseIndex();
        if (K == 0) {
            float[] b = BufferPool.get(0, TensorStream.CHUNK);
            for (int c = 0; c < in.chunks(); c++) {
                in.read(ib, c, b);
                out.write(c, b, in.chunkLength(c));
            }
            return;
        }
        Precision p = m.precision();
        Precision work = p.dtype() == org.mergelab.io.DType.F16 ? Precision.F32 : p;
        boolean vector = VectorSupport.ENABLED && work == p && p.dtype() != org.mergelab.io.DType.F16;
        boolean bf16 = p.dtype() == org.mergelab.io.DType.BF16;
        int block = TensorStream.BLOCK;
        float[] base = BufferPool.get(0, block);
        float[][] x = new float[K][];
        for (int k = 0; k < K; k++) x[k] = BufferPool.get(1 + k, block);
        float[] o = BufferPool.get(K + 1, TensorStream.CHUNK);
        float[] w = new float[K];
        float[] prob = new float[K];
        long[] key = new long[K];
        boolean[] drops = new boolean[K];
        for (int k = 0; k < K; k++) {
            w[k] = p.r((float) m.perModelDouble(models[k], "weight"));
            double density = m.perModelDouble(models[k], "density");
            drops[k] = sparsifier == Sparsifier.BERNOULLI && density < 1;
            prob[k] = work.r(density);
            key[k] = m.randomKey(models[k]);
        }
        boolean rescale = m.sharedBool("rescale");
        // DARE in bfloat16 on mapped bf16 inputs reads each model's bytes as it computes (DareLanes' *Bf16 loops)
        java.nio.ByteBuffer[] bytes = new java.nio.ByteBuffer[K];
        if (vector && bf16) {
            for (int k = 0; k < K; k++) if (drops[k]) bytes[k] = in.bf16(models[k]);
        }
        float[] u = BufferPool.get(K + 4, block);
        float[] ratio = new float[K];
        boolean[] scaled = new boolean[K];
        // The byte-reading loops take the masks as bits: with rescaling, the first pass keeps the whole tensor's, so
        // the second need not draw them again; without, each block's are drawn just before use.
        boolean firstPass = rescale && anyTrue(drops);
        int[][] masks = new int[K][];
        for (int k = 0; k < K; k++) {
            if (bytes[k] != null) masks[k] = BufferPool.ints(k, firstPass ? (int) ((in.numel() + 31) >>> 5) : block >>> 5);
        }
        if (firstPass) {
            float[] absDelta = BufferPool.get(K + 2, block);
            float[] absKept = BufferPool.get(K + 3, block);
            TorchReductions.CascadeSum[] before = new TorchReductions.CascadeSum[K];
            TorchReductions.CascadeSum[] after = new TorchReductions.CascadeSum[K];
            int n = Math.toIntExact(in.numel());
            for (int k = 0; k < K; k++) {
                if (!drops[k]) continue;
                before[k] = new TorchReductions.CascadeSum(n);
                after[k] = new TorchReductions.CascadeSum(n);
            }
            for (long at = 0; at < in.numel(); at += block) {
                int len = (int) Math.min(block, in.numel() - at);
                in.read(ib, at, base, len);
                for (int k = 0; k < K; k++) {
                    if (!drops[k]) continue;
                    if (bytes[k] != null) {
                        RandomStreams.fill(key[k], at, u, len);
                        DareLanes.keepBits(u, len, prob[k], masks[k], (int) (at >>> 5));
                        DareLanes.magnitudesBf16(bytes[k], (int) at, base, len, u, prob[k], absDelta, absKept);
                        before[k].add(absDelta, 0, len);
                        after[k].add(absKept, 0, len);
                        continue;
                    }
                    in.read(models[k], at, x[k], len);
                    RandomStreams.fill(key[k], at, u, len);
                    int i = vector ? DareLanes.magnitudes(base, x[k], len, u, prob[k], bf16, absDelta, absKept) : 0;
                    for (; i < len; i++) {
                        float delta = p.r(x[k][i] - base[i]);
                        boolean keep = u[i] < prob[k];
                        absDelta[i] = Math.abs(delta);
                        absKept[i] = Math.abs(keep ? delta : delta * 0f);
                    }
                    before[k].add(absDelta, 0, len);
                    after[k].add(absKept, 0, len);
                }
            }
            float eps = work.scalar(Sparsifier.RESCALE_EPS);
            for (int k = 0; k < K; k++) {
                if (!drops[k]) continue;
                float b = work.r(before[k].result()), a = work.r(after[k].result());
                if (b < eps || a < eps) continue;
                scaled[k] = true;
                ratio[k] = work.r(b / a);
            }
        }

        boolean normalize = m.sharedBool("normalize");
        double lambda = m.sharedDouble("lambda");
        float[] total = BufferPool.get(K + 2, block), sum = BufferPool.get(K + 3, block);
        float[] weights = BufferPool.get(K + 5, block);
        float constantDivisor = 1f;
        if (!signConsensus) {
            float d = ModelSum.ofScalars(w, p);
            constantDivisor = Math.abs(d) < p.scalar(1e-8) ? 1f : d;
        }
        for (int c = 0; c < in.chunks(); c++) {
            int chunkLen = in.chunkLength(c);
            for (int off = 0; off < chunkLen; off += block) {
                int len = Math.min(block, chunkLen - off);
                long at = (long) c * TensorStream.CHUNK + off;
                in.read(ib, at, base, len);
                for (int k = 0; k < K; k++) {
                    float[] v = x[k];
                    if (bytes[k] != null) {
                        int keepAt = 0;
                        if (!firstPass) {
                            RandomStreams.fill(key[k], at, u, len);
                            DareLanes.keepBits(u, len, prob[k], masks[k], 0);
                            keepAt = (int) at;
                        }
                        DareLanes.weightedBf16(bytes[k], (int) at, base, v, len, masks[k], keepAt,
                                scaled[k] ? ratio[k] : 1f, w[k]);
                        continue;
                    }
                    in.read(models[k], at, v, len);
                    if (drops[k]) RandomStreams.fill(key[k], at, u, len);
                    int i = vector ? DareLanes.weighted(base, v, len, u, drops[k], prob[k], scaled[k], ratio[k], w[k],
                            bf16) : 0;
                    for (; i < len; i++) {
                        float delta = p.r(v[i] - base[i]);
                        if (drops[k]) {
                            boolean keep = u[i] < prob[k];
                            delta = keep ? delta : delta * 0f;
                            if (scaled[k]) delta = work.r(delta * ratio[k]);
                            delta = p.r(delta);
                        }
                        v[i] = p.r(delta * w[k]);
                    }
                }
                int i;
                if (vector && bf16 && signConsensus && normalize && lambda == 1 && K <= DareLanes.FUSED_MODELS) {
                    i = DareLanes.combineNormalizedBf16(x, w, K, base, o, off, len, sum, weights);
                } else {
                    i = vector ? DareLanes.combine(x, w, K, base, o, off, len, signConsensus, constantDivisor,
                            normalize, lambda != 1, (float) lambda, bf16, total, sum, weights) : 0;
                }
                for (; i < len; i++) {
                    o[off + i] = combined(x, w, K, base[i], i, p, constantDivisor, normalize, lambda);
                }
            }
            out.write(c, o, chunkLen);
        }
    }

    /** One element of the second pass's sum over the models: election (or not), normalisation, λ, the base. */
    private float combined(float[][] v, float[] w, int models, float base, int i, Precision p, float constantDivisor,
                           boolean normalize, double lambda) {
        float mixed, divisor;
        if (signConsensus) {
            float total = 0f;
            for (int k = 0; k < models; k++) total += v[k][i];
            boolean positive = p.r(total) >= 0;
            float sum = 0f, weights = 0f;
            for (int k = 0; k < models; k++) {
                boolean agree = SignConsensus.agrees(v[k][i], positive);
                sum += agree ? v[k][i] : v[k][i] * 0f;
                weights += agree ? w[k] : w[k] * 0f;
            }
            mixed = p.r(sum);
            float d = p.r(weights);
            divisor = d == 0 ? 1f : d;
        } else {
            float total = 0f;
            for (int k = 0; k < models; k++) total += v[k][i];
            mixed = p.r(total);
            divisor = constantDivisor;
        }
        float delta = mixed;
        if (normalize) delta = p.r(delta / divisor);
        if (lambda != 1) delta = p.times(delta, lambda);
        return p.r(base + delta);
    }

    private static boolean anyTrue(boolean[] b) {
        for (boolean v : b) if (v) return true;
        return false;
    }

    private static double doubleOr(Map<String, Object> params, String key) {
        Object v = params.get(key);
        return v == null ? 0 : ((Number) v).doubleValue();
    }
}
