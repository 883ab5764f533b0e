package org.mergelab.model;

/**
 * Causal softmax attention of n new queries over every cached position (keys further back than a sliding window
 * masked), grouped-query: query head h reads key/value head h / groupSize. One pass per query and head: its scores
 * against the visible keys only (a causal prefill skips the half of Q K^T that sgemm would compute and the mask would
 * throw away), the softmax's exponentials, and the weighted sum of values, in place on the Java heap. With small
 * heads, staging operands off the heap for two sgemm calls per head cost more than the arithmetic: at head dimension
 * 8 (stories260K) a prefill spent half its time in attention that way.
 * <p>
 * {@link VectorAttention} runs each row eight lanes at a time where the JVM has the Vector API and the head is whole
 * vectors; {@link #row} here is its twin, the same operations in the same order per lane, so the same bits on any
 * JVM. The sums are float32 as transformers' are; the exponentials are {@link FastMath#exp}'s and their sum is
 * accumulated in double; the output is normalized once, {@code (sum_j e_j v_j) / sum_j e_j}. The order:
 * <ul>
 *   <li>score j: a fused multiply-add per head dimension, in order from 0, of the key and the query times
 *       1/sqrt(headDim) (scaling the query rather than every score: one multiplication per dimension, not per
 *       position);</li>
 *   <li>scores are taken in blocks of eight positions: a row's last block reaches up to seven positions past the
 *       visible ones, into later positions or the cache's slack ({@link KvCache#SLACK}); those scores become −inf,
 *       whose exponential is FastMath.exp's floor, 1e-38, which leaves a sum of at least 1 (the maximum's own e^0)
 *       unchanged in double;</li>
 *   <li>the sum: four double partial sums, partial i adding positions 8b + i, then 8b + 4 + i, of each block b;
 *       then (s0 + s1) + (s2 + s3);</li>
 *   <li>output element e: four float partial sums, partial i adding e_j v_j for j = i mod 4 over the whole groups
 *       of four positions, the last one to three positions into partial 0; then ((a0 + a1) + (a2 + a3)) / sum.</li>
 * </ul>
 */
final class Attention {
    /** Positions per block of scores (the Vector API kernel's lanes). */
    static final int BLOCK = 8;

    private Attention() {}

    /**
     * @param q      the new queries, (n, heads * headDim), rotated
     * @param out    receives the attention output, (n, heads * headDim)
     * @param window sliding window in positions, or 0
     * @param p0     the position of the first new query (its key is already in the cache)
     */
    static void attend(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int n, int p0) {
        attend(c, cache, layer, window, q, out, n, p0, FastMath.VECTOR && VectorAttention.fits(c));
    }

    /** {@link #attend}, with the Vector API kernel or without. */
    static void attend(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int n, int p0,
                       boolean vector) {
        int heads = c.numHeads(), hd = c.headDim();
        long visible = (long) n * (p0 + (n + 1) / 2);
        if (window > 0) visible = Math.min(visible, (long) n * window);
        // per visible score: a multiply-add per head dimension for the score, one for the value sum, and the exp
        long work = heads * visible * (2L * hd + 16);
        Parallel.range(heads, 1, work, (from, to) -> {
            float[] scores = new float[cache.capacity + BLOCK], more = vector ? new float[cache.capacity + BLOCK] : null;
            float[] inverses = new float[2];
            Scratch scratch = vector ? null : new Scratch(cache.capacity, hd);
            for (int h = from; h < to; h++) {
                for (int t = 0; t < n; ) {
                    int p = p0 + t;
                    if (!vector) {
                        row(c, cache, layer, window, q, out, h, t++, p, scores, scratch);
                    } else if (t + 1 < n && (window == 0 || p + 2 <= window)) {
                        VectorAttention.twoRows(c, cache, layer, q, out, h, t, p, scores, more, inverses);
                        t += 2;
                    } else {
                        VectorAttention.row(c, cache, layer, window, q, out, h, t++, p, scores);
                    }
                }
            }
        });
    }

    /** The scalar kernel's buffers, one set per thread. */
    static final class Scratch {
        final float[] keys, exponents, value, p0, p1, p2, p3;

        Scratch(int capacity, int headDim) {
            keys = new float[capacity + BLOCK];
            exponents = new float[capacity + BLOCK];
            value = new float[headDim];
            p0 = new float[headDim];
            p1 = new float[headDim];
            p2 = new float[headDim];
            p3 = new float[headDim];
        }
    }

    /**
     * One query (row t, position p) of head h, into scores {@code sc}. Every loop that should vectorize indexes its
     * arrays from 0 (C2 leaves a loop scalar when one array is read at an offset: measured five times slower), so key
     * rows and value rows are first copied into the scratch.
     */
    static void row(ModelConfig c, KvCache cache, int layer, int window, float[] q, float[] out, int h, int t, int p,
                    float[] sc, Scratch x) {
        int hd = c.headDim(), cap = cache.capacity;
        int g = h / c.groupSize();
        float[] kt = cache.keys[layer], v = cache.values[layer];
        int lo = window > 0 ? Math.max(0, p - window + 1) : 0;
        int len = p - lo + 1;
        int qo = t * c.qDim() + h * hd;
        int kRow = g * hd * cap + lo;
        int blocks = blocks(len);

        float[] keys = x.keys;
        java.util.Arrays.fill(sc, 0, blocks, 0f);
        float scale = scale(hd);
        for (int d = 0; d < hd; d++) {
            float qd = q[qo + d] * scale;
            System.arraycopy(kt, kRow + d * cap, keys, 0, blocks);
            for (int j = 0; j < blocks; j++) sc[j] = Math.fma(keys[j], qd, sc[j]);
        }
        for (int j = len; j < blocks; j++) sc[j] = Float.NEGATIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < blocks; j++) max = Math.max(max, sc[j]);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < blocks; j++) sc[j] -= max;
        FastMath.expInPlace(sc, blocks, x.exponents);
        for (int j = 0; j < blocks; j += BLOCK) {
            s0 = s0 + sc[j] + sc[j + 4];
            s1 = s1 + sc[j + 1] + sc[j + 5];
            s2 = s2 + sc[j + 2] + sc[j + 6];
            s3 = s3 + sc[j + 3] + sc[j + 7];
        }
        float inv = (float) (1.0 / ((s0 + s1) + (s2 + s3)));

        float[] value = x.value, a0 = x.p0, a1 = x.p1, a2 = x.p2, a3 = x.p3;
        java.util.Arrays.fill(a0, 0f);
        java.util.Arrays.fill(a1, 0f);
        java.util.Arrays.fill(a2, 0f);
        java.util.Arrays.fill(a3, 0f);
        int vo = (g * cap + lo) * hd, j = 0;
        for (; j + 4 <= len; j += 4, vo += 4 * hd) {
            for (int i = 0; i < 4; i++) {
                float w = sc[j + i];
                float[] a = i == 0 ? a0 : i == 1 ? a1 : i == 2 ? a2 : a3;
                System.arraycopy(v, vo + i * hd, value, 0, hd);
                for (int e = 0; e < hd; e++) a[e] = Math.fma(value[e], w, a[e]);
            }
        }
        for (; j < len; j++, vo += hd) {
            float w = sc[j];
            System.arraycopy(v, vo, value, 0, hd);
            for (int e = 0; e < hd; e++) a0[e] = Math.fma(value[e], w, a0[e]);
        }
        for (int e = 0; e < hd; e++) out[qo + e] = ((a0[e] + a1[e]) + (a2[e] + a3[e])) * inv;
    }

    /** A row of {@code len} positions rounded up to whole blocks. */
    static int blocks(int len) {
        return (len + BLOCK - 1) / BLOCK * BLOCK;
    }

    /** 1/sqrt(headDim) in float, by which the queries are scaled. */
    static float scale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim));
    }
}
