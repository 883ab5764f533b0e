package org.mergelab.model;

import java.util.Arrays;

/**
 * The forward pass of a Llama-family decoder (Llama 2 and 3, Mistral, Qwen2, Qwen3): embeddings, then per layer
 * RMSNorm, grouped-query attention with rotary positions and a key/value cache, RMSNorm and a SwiGLU MLP, each with
 * a residual connection; a final RMSNorm and the LM head. Every product and sum is float32, as transformers computes
 * in float32; norms accumulate in double.
 * <p>
 * Weights are held in float32 whatever their stored dtype (4 bytes per parameter: 0.5 GB for a SmolLM-135M, fine
 * at the sizes this toolkit evaluates): the matrices off the Java heap, where BLAS reads them (see {@link Linear}),
 * norms and an untied embedding on it. A {@code Transformer} keeps no per-sequence state: each
 * sequence has its own {@link KvCache}, and several may run at once.
 */
public final class Transformer {
    private final ModelConfig config;
    /** model.embed_tokens.weight, (vocab, hidden); null when tied (rows are read from the head's transpose). */
    private final float[] embedTokens;
    private final DecoderLayer[] layers;
    /** model.norm.weight (hidden). */
    private final float[] norm;
    /** lm_head.weight (vocab, hidden), or the embedding when tied. */
    private final Linear lmHead;

    Transformer(ModelConfig config, float[] embedTokens, DecoderLayer[] layers, float[] norm, Linear lmHead) {
        this.config = config;
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
    }

    public ModelConfig config() { return config; }

    /** A cache for up to {@code capacity} positions (at most the model's context, max_position_embeddings). */
    public KvCache newCache(int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("cache capacity must be positive, not " + capacity);
        return new KvCache(config, Math.min(capacity, config.maxPositions()));
    }

    /** Runs {@code tokens} after what {@code cache} holds and returns the logits (vocab) of the last one. */
    public float[] logits(KvCache cache, int... tokens) {
        Scratch s = run(cache, tokens);
        int hidden = config.hiddenSize();
        float[] last = new float[hidden];
        rmsNorm(s.x, (tokens.length - 1) * hidden, norm, last, 0, hidden, config.rmsNormEps());
        float[] logits = new float[config.vocabSize()];
        lmHead.forward(last, 1, logits);
        return logits;
    }

    /** Runs {@code tokens} after what {@code cache} holds and returns every position's logits, (tokens, vocab). */
    public float[] logitsForAll(KvCache cache, int... tokens) {
        float[] all = new float[tokens.length * config.vocabSize()];
        logitsForAll(cache, tokens, tokens.length, (first, rows, logits) ->
                System.arraycopy(logits, 0, all, first * config.vocabSize(), rows * config.vocabSize()));
        return all;
    }

    /** Receives the logits of {@code rows} consecutive positions from {@code first} on, (rows, vocab). */
    public interface LogitsSink {
        void accept(int first, int rows, float[] logits);
    }

    /**
     * Runs {@code tokens} after what {@code cache} holds and hands every position's logits to {@code sink}, at most
     * {@code blockRows} positions at a time (so that a long window over a large vocabulary never holds them all).
     */
    public void logitsForAll(KvCache cache, int[] tokens, int blockRows, LogitsSink sink) {
        float[] h = finalHidden(cache, tokens);
        int n = tokens.length, hidden = config.hiddenSize(), vocab = config.vocabSize();
        int block = Math.max(1, Math.min(blockRows, n));
        float[] logits = new float[block * vocab];
        float[] rows = block == n ? h : new float[block * hidden];
        for (int first = 0; first < n; first += block) {
            int r = Math.min(block, n - first);
            if (rows != h) System.arraycopy(h, first * hidden, rows, 0, r * hidden);
            head(rows, r, logits);
            sink.accept(first, r, logits);
        }
    }

    /** The final hidden states (after the last norm) of {@code tokens} run after the cache, (tokens, hidden). */
    float[] finalHidden(KvCache cache, int[] tokens) {
        Scratch s = run(cache, tokens);
        int n = tokens.length, hidden = config.hiddenSize();
        float[] h = new float[n * hidden];
        rmsNormRows(s.x, norm, h, 0, n, hidden);
        return h;
    }

    /** logits (rows, vocab) = the LM head applied to final hidden states (rows, hidden). */
    void head(float[] hidden, int rows, float[] logits) {
        lmHead.forward(hidden, rows, logits);
    }

    /** The layers over {@code tokens}: the cache advances, the final hidden states are left in the scratch's x. */
    private Scratch run(KvCache cache, int[] tokens) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens to run");
        int p0 = cache.length();
        if (p0 + n > cache.capacity()) {
            throw new ContextOverflowException(p0 + n, cache.capacity(), config.maxPositions());
        }
        int vocab = config.vocabSize();
        for (int t : tokens) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        ModelConfig c = config;
        Scratch s = Scratch.of(cache, c, n);
        embed(tokens, s.x);
        for (int t = 0; t < n; t++) c.rope().angles(p0 + t, s.angles, t * c.headDim());
        // Prefill: everything but attention works row by row, so each thread takes its rows through a whole stage
        // (norms, products, rotation, cache; then the MLP and residuals), one hand-off per stage instead of one per
        // step. Decoding's few rows go through each step together, the products' columns shared over the cores.
        boolean prefill = n >= Linear.GEMM_MIN_ROWS;
        int slice = Linear.rowSlice(n);
        for (int l = 0; l < layers.length; l++) {
            DecoderLayer layer = layers[l];
            int li = l;
            if (prefill) {
                Parallel.range(n, slice, work(n, layer.qProj(), layer.kProj(), layer.vProj()),
                        (from, to) -> attentionInputs(layer, cache, li, s, from, to, p0, true));
            } else {
                attentionInputs(layer, cache, l, s, 0, n, p0, false);
            }
            Attention.attend(config, cache, l, layer.sliding() ? config.slidingWindow() : 0, s.q, s.att, n, p0);
            if (prefill) {
                Parallel.range(n, slice, work(n, layer.oProj(), layer.gateProj(), layer.upProj(), layer.downProj()),
                        (from, to) -> mlpAndResiduals(layer, s, from, to, true));
            } else {
                mlpAndResiduals(layer, s, 0, n, false);
            }
        }
        cache.advance(n);
        return s;
    }

    private void embed(int[] tokens, float[] x) {
        int hidden = config.hiddenSize();
        if (embedTokens != null) {
            for (int t = 0; t < tokens.length; t++) {
                System.arraycopy(embedTokens, tokens[t] * hidden, x, t * hidden, hidden);
            }
            return;
        }
        // Tied: the head holds the embedding (transposed, off the heap): gather the rows from it.
        for (int t = 0; t < tokens.length; t++) lmHead.column(tokens[t], x, t * hidden);
    }

    private void rmsNormRows(float[] x, float[] w, float[] out, int from, int to, int dim) {
        double eps = config.rmsNormEps();
        for (int r = from; r < to; r++) rmsNorm(x, r * dim, w, out, r * dim, dim, eps);
    }

    /**
     * Rows [from, to) up to attention: the input norm, the q/k/v products, the q/k norms (Qwen3), rotation, and the
     * new keys and values into the cache. {@code rowsHere}: the products run on this thread (a prefill's slice);
     * otherwise the rows are all of a decoding step's, the products shared over the cores.
     */
    private void attentionInputs(DecoderLayer layer, KvCache cache, int l, Scratch s, int from, int to, int p0,
                                 boolean rowsHere) {
        ModelConfig c = config;
        rmsNormRows(s.x, layer.inputLayernorm(), s.h, from, to, c.hiddenSize());
        products(s.h, from, to, new Linear[] {layer.qProj(), layer.kProj(), layer.vProj()},
                new float[][] {s.q, s.k, s.v}, rowsHere);
        if (layer.qNorm() != null) {
            rmsNormRows(s.q, layer.qNorm(), s.q, from * c.numHeads(), to * c.numHeads(), c.headDim());
            rmsNormRows(s.k, layer.kNorm(), s.k, from * c.numKvHeads(), to * c.numKvHeads(), c.headDim());
        }
        c.rope().rotate(s.q, from, to, c.numHeads(), c.qDim(), s.angles);
        c.rope().rotate(s.k, from, to, c.numKvHeads(), c.kvDim(), s.angles);
        store(cache, l, s, from, to, p0);
    }

    /** Rows [from, to) after attention: output projection, residual, norm, SwiGLU MLP, residual (as above). */
    private void mlpAndResiduals(DecoderLayer layer, Scratch s, int from, int to, boolean rowsHere) {
        int hidden = config.hiddenSize(), width = config.intermediateSize();
        products(s.att, from, to, new Linear[] {layer.oProj()}, new float[][] {s.o}, rowsHere);
        addRows(s.x, s.o, from, to, hidden);
        rmsNormRows(s.x, layer.postAttentionLayernorm(), s.h, from, to, hidden);
        products(s.h, from, to, new Linear[] {layer.gateProj(), layer.upProj()}, new float[][] {s.gate, s.up}, rowsHere);
        FastMath.swiglu(s.gate, s.up, from * width, (to - from) * width);
        products(s.gate, from, to, new Linear[] {layer.downProj()}, new float[][] {s.o}, rowsHere);
        addRows(s.x, s.o, from, to, hidden);
    }

    /** Rows [from, to) of {@code ys[k] = x W_k^T + b_k}: by sgemm on this thread, or (from 0) over the cores. */
    private static void products(float[] x, int from, int to, Linear[] layers, float[][] ys, boolean rowsHere) {
        if (rowsHere) {
            Linear.rowsOf(x, from, to, layers, ys);
        } else {
            Linear.forwardMany(x, to, layers, ys);
        }
    }

    /** A rough count of a prefill stage's multiply-adds, for {@link Parallel#range}: its products', quartered. */
    private static long work(int rows, Linear... layers) {
        long w = 0;
        for (Linear l : layers) w += (long) rows * l.in * l.out;
        return w / 4;
    }

    /**
     * transformers' RMSNorm: {@code w * (x * rsqrt(mean(x^2) + eps))}, the squares in float as torch takes them and
     * their mean accumulated in double, four partial sums so that the additions overlap (one chain of dependent
     * double additions made the norms a tenth of a small model's prefill).
     */
    static void rmsNorm(float[] x, int xo, float[] w, float[] out, int oo, int dim, double eps) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= dim; i += 4) {
            float v0 = x[xo + i], v1 = x[xo + i + 1], v2 = x[xo + i + 2], v3 = x[xo + i + 3];
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        for (; i < dim; i++) {
            float v = x[xo + i];
            s0 += v * v;
        }
        double ss = (s0 + s1) + (s2 + s3);
        float variance = (float) (ss / dim);
        float inv = (float) (1.0 / Math.sqrt(variance + (float) eps));
        for (i = 0; i < dim; i++) out[oo + i] = w[i] * (x[xo + i] * inv);
    }

    /** Rows [from, to) of the new keys and values into the cache; keys transposed, (kvHeads, headDim, capacity). */
    private void store(KvCache cache, int layer, Scratch s, int from, int to, int p0) {
        ModelConfig c = config;
        int hd = c.headDim(), cap = cache.capacity, kvDim = c.kvDim();
        float[] kt = cache.keys[layer], v = cache.values[layer], k = s.k, sv = s.v;
        for (int g = 0; g < c.numKvHeads(); g++) {
            // positions innermost: consecutive writes into the transposed keys
            for (int d = 0; d < hd; d++) {
                int dst = (g * hd + d) * cap + p0, src = g * hd + d;
                for (int t = from; t < to; t++) kt[dst + t] = k[src + t * kvDim];
            }
            for (int t = from; t < to; t++) {
                int dst = (g * cap + p0 + t) * hd, src = t * kvDim + g * hd;
                for (int d = 0; d < hd; d++) v[dst + d] = sv[src + d];
            }
        }
    }

    /** The sum of x[0..n) in double, four partial sums so that the additions overlap. */
    static double sum(float[] x, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += x[i];
            s1 += x[i + 1];
            s2 += x[i + 2];
            s3 += x[i + 3];
        }
        for (; i < n; i++) s0 += x[i];
        return (s0 + s1) + (s2 + s3);
    }

    /** Rows [from, to) of x += y, both (rows, width). */
    private static void addRows(float[] x, float[] y, int from, int to, int width) {
        for (int i = from * width; i < to * width; i++) x[i] += y[i];
    }

    /** Activations of one forward pass, kept on the cache and reused while the row count fits. */
    private static final class Scratch {
        final int rows;
        final float[] x, h, q, k, v, att, o, gate, up, angles;

        private Scratch(ModelConfig c, int rows) {
            this.rows = rows;
            int hidden = c.hiddenSize();
            x = new float[rows * hidden];
            h = new float[rows * hidden];
            o = new float[rows * hidden];
            q = new float[rows * c.qDim()];
            att = new float[rows * c.qDim()];
            k = new float[rows * c.kvDim()];
            v = new float[rows * c.kvDim()];
            gate = new float[rows * c.intermediateSize()];
            up = new float[rows * c.intermediateSize()];
            angles = new float[rows * c.headDim()];
        }

        static Scratch of(KvCache cache, ModelConfig c, int rows) {
            if (cache.scratch instanceof Scratch s && s.rows >= rows) return s;
            Scratch s = new Scratch(c, rows);
            cache.scratch = s;
            return s;
        }
    }
}
