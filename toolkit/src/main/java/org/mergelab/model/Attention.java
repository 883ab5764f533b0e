package org.mergelab.model;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Causal softmax attention of n new queries over every cached position (keys further back than a sliding window
 * masked), grouped-query: query head h reads key/value head h / groupSize. A few queries (decoding) run in plain
 * Java, each head's scores a sum of scaled key rows; many (prefill) run as two sgemm per head, scores = Q K^T and
 * out = P V, with the masked softmax between them in Java.
 */
final class Attention {
    /** From this many new queries on, two sgemm per head; below, plain Java. */
    static final int BLAS_MIN_ROWS = 8;

    private Attention() {}

    /**
     * @param q      the new queries, (n, heads * headDim), rotated
     * @param out    receives the attention output, (n, heads * headDim)
     * @param window sliding window in positions, or 0
     * @param p0     the position of the first new query (its key is already in the cache)
     */
    static void attend(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int n, int p0) {
        if (n >= BLAS_MIN_ROWS) {
            withBlas(c, cache, layer, window, q, out, n, p0);
        } else {
            inJava(c, cache, layer, window, q, out, n, p0);
        }
    }

    private static void inJava(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int n,
                               int p0) {
        int heads = c.numHeads();
        long work = (long) heads * n * (p0 + n) * c.headDim() * 2;
        Parallel.range(heads, 1, work, (from, to) -> {
            float[] scores = new float[cache.capacity], exponents = new float[cache.capacity];
            for (int h = from; h < to; h++) head(c, cache, layer, window, q, out, h, n, p0, scores, exponents);
        });
    }

    private static void head(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] att, int h,
                             int n, int p0, float[] sc, float[] exponents) {
        int hd = c.headDim(), cap = cache.capacity, qDim = c.qDim();
        int g = h / c.groupSize();
        float[] kt = cache.keys[layer], v = cache.values[layer];
        int kBase = g * hd * cap, vBase = g * cap * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int t = 0; t < n; t++) {
            int p = p0 + t;
            int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
            int len = p - lo + 1;
            int qo = t * qDim + h * hd;
            Arrays.fill(sc, 0, len, 0f);
            int d = 0;
            for (; d + 4 <= hd; d += 4) {
                float q0 = q[qo + d], q1 = q[qo + d + 1], q2 = q[qo + d + 2], q3 = q[qo + d + 3];
                int k0 = kBase + d * cap + lo, k1 = k0 + cap, k2 = k1 + cap, k3 = k2 + cap;
                for (int j = 0; j < len; j++) {
                    sc[j] = Math.fma(q3, kt[k3 + j], Math.fma(q2, kt[k2 + j], Math.fma(q1, kt[k1 + j],
                            Math.fma(q0, kt[k0 + j], sc[j]))));
                }
            }
            for (; d < hd; d++) {
                float qd = q[qo + d];
                int k0 = kBase + d * cap + lo;
                for (int j = 0; j < len; j++) sc[j] += qd * kt[k0 + j];
            }
            softmax(sc, len, scale, exponents);
            Arrays.fill(att, qo, qo + hd, 0f);
            int j = 0;
            for (; j + 4 <= len; j += 4) {
                float w0 = sc[j], w1 = sc[j + 1], w2 = sc[j + 2], w3 = sc[j + 3];
                int v0 = vBase + (lo + j) * hd, v1 = v0 + hd, v2 = v1 + hd, v3 = v2 + hd;
                for (int e = 0; e < hd; e++) {
                    att[qo + e] = Math.fma(w3, v[v3 + e], Math.fma(w2, v[v2 + e], Math.fma(w1, v[v1 + e],
                            Math.fma(w0, v[v0 + e], att[qo + e]))));
                }
            }
            for (; j < len; j++) {
                float wj = sc[j];
                int vo = vBase + (lo + j) * hd;
                for (int e = 0; e < hd; e++) att[qo + e] += wj * v[vo + e];
            }
        }
    }

    /** In place: softmax(scale * x[0..len)), the denominator summed in double. */
    static void softmax(float[] x, int len, float scale, float[] exponents) {
        if (FastMath.VECTOR) {
            VectorExp.softmax(x, len, scale);
            return;
        }
        softmaxScalar(x, len, scale, exponents);
    }

    /** {@link #softmax} without the Vector API: the operations and order {@link VectorExp#softmax} keeps. */
    static void softmaxScalar(float[] x, int len, float scale, float[] exponents) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            x[j] *= scale;
            max = Math.max(max, x[j]);
        }
        for (int j = 0; j < len; j++) x[j] -= max;
        FastMath.expInPlace(x, len, exponents);
        float inv = (float) (1.0 / Transformer.sum(x, len));
        for (int j = 0; j < len; j++) x[j] *= inv;
    }

    private static void withBlas(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int n,
                                 int p0) {
        int heads = c.numHeads(), hd = c.headDim(), cap = cache.capacity, qDim = c.qDim(), kvDim = c.kvDim();
        int len = p0 + n;
        float scale = (float) (1.0 / Math.sqrt(hd));
        // Queries, keys and values staged once (buffers 3 to 6 of this thread; the layers use 0 and 1), then the heads
        // shared out over the threads, each with its own score buffers, writing disjoint columns of the output.
        FloatPointer pq = Blas.stage(3, q, n * qDim);
        FloatPointer pk = Blas.stage(4, cache.keys[layer], kvDim * cap);
        FloatPointer pv = Blas.stage(5, cache.values[layer], kvDim * cap);
        FloatPointer po = Blas.buffer(6, (long) n * qDim);
        Parallel.range(heads, 1, (long) heads * n * len * hd * 4, (from, to) -> {
            FloatPointer ps = Blas.buffer(7, (long) n * len);
            float[] scores = new float[n * len], row = new float[len], exponents = new float[len];
            for (int h = from; h < to; h++) {
                int g = h / c.groupSize();
                // scores (n, len) = Q_h (n, hd; rows qDim apart) x K_g^T, K_g^T stored as (hd, cap)
                Blas.sgemm(n, len, hd, pq, (long) h * hd, qDim, pk, (long) g * hd * cap, cap, ps, 0, len);
                ps.get(scores, 0, n * len);
                for (int t = 0; t < n; t++) {
                    int p = p0 + t;
                    int lo = window > 0 ? Math.max(0, p - window + 1) : 0, visible = p - lo + 1, at = t * len;
                    System.arraycopy(scores, at + lo, row, 0, visible);
                    softmax(row, visible, scale, exponents);
                    java.util.Arrays.fill(scores, at, at + len, 0f);
                    System.arraycopy(row, 0, scores, at + lo, visible);
                }
                ps.put(scores, 0, n * len);
                // out_h (n, hd; rows qDim apart) = P (n, len) x V_g (len, hd)
                Blas.sgemm(n, hd, len, ps, 0, len, pv, (long) g * cap * hd, hd, po, (long) h * hd, qDim);
            }
        });
        po.get(out, 0, n * qDim);
    }
}
