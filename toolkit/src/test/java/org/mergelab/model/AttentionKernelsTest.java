package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Attention's two kernels, the Vector API one and its scalar twin: the same bits, and both equal to causal softmax
 * attention computed here in double from the definition, on random keys, values and queries: head sizes of one and
 * several vectors (and one the vector kernel does not take), grouped and plain heads, a sliding window, a cache
 * already holding positions, rows that end inside and on a vector's last lane, and stale cache entries past the
 * new positions that would swamp any sum they entered.
 */
class AttentionKernelsTest {
    @ParameterizedTest(name = "heads {0}/{1} of {2}, window {3}, {4} cached + {5} new")
    @CsvSource({
        "8, 4, 8, 0, 0, 128",     // stories260K's shape, a whole prefill
        "8, 4, 8, 0, 37, 1",      // decoding after a prompt whose length is no multiple of 8
        "8, 4, 8, 0, 40, 3",      // a few new tokens after exactly five vectors of positions
        "9, 3, 64, 0, 0, 61",     // SmolLM's heads, a prefill ending mid-vector
        "4, 4, 16, 0, 11, 20",    // plain multi-head attention, two vectors per head
        "4, 2, 24, 13, 30, 17",   // a sliding window shorter than the context
        "2, 1, 8, 5, 0, 9",       // a window of five on a short prompt
        "2, 2, 8, 0, 0, 1",       // a single position: softmax of one score
        "3, 1, 12, 0, 6, 10",     // a head of 12: the scalar kernel alone
    })
    void everyPathMatchesAttentionComputedFromItsDefinition(int heads, int kvHeads, int headDim, int window,
                                                            int cached, int fresh) {
        ModelConfig c = config(heads, kvHeads, headDim);
        int cap = cached + fresh + 3; // spare positions hold stale keys and values the kernels must not read
        KvCache cache = new KvCache(c, cap);
        Random r = new Random(heads * 31L + headDim * 7L + cached + fresh);
        for (int i = 0; i < cache.keys[0].length; i++) {
            cache.keys[0][i] = (float) r.nextGaussian() * 2;
            cache.values[0][i] = (float) r.nextGaussian();
        }
        for (int i = (cached + fresh); i < cap; i++) {
            for (int g = 0; g < kvHeads; g++) {
                for (int d = 0; d < headDim; d++) {
                    cache.keys[0][g * headDim * cap + d * cap + i] = 1e30f; // stale: would swamp any sum it entered
                    cache.values[0][(g * cap + i) * headDim + d] = Float.NaN;
                }
            }
        }
        float[] q = new float[fresh * c.qDim()];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        double[] want = reference(c, cache, window, q, fresh, cached);

        float[] scalar = new float[q.length];
        Attention.attend(c, cache, 0, window, q, scalar, fresh, cached, false);
        for (int i = 0; i < q.length; i++) {
            // float32 sums of up to 130 terms of unit size
            assertEquals(want[i], scalar[i], 2e-5, "element " + i);
        }
        assertTrue(FastMath.VECTOR);
        if (VectorAttention.fits(c)) {
            float[] vector = new float[q.length];
            Attention.attend(c, cache, 0, window, q, vector, fresh, cached, true);
            for (int i = 0; i < q.length; i++) {
                assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(vector[i]),
                        "the vector kernel's element " + i + ": " + vector[i] + " against " + scalar[i]);
            }
        }
    }

    /** softmax(q k / sqrt(d)) v over the visible positions, in double. */
    private static double[] reference(ModelConfig c, KvCache cache, int window, float[] q, int n, int p0) {
        int hd = c.headDim(), cap = cache.capacity;
        double[] out = new double[q.length];
        for (int t = 0; t < n; t++) {
            int p = p0 + t, lo = window > 0 ? Math.max(0, p - window + 1) : 0;
            for (int h = 0; h < c.numHeads(); h++) {
                int g = h / c.groupSize(), qo = t * c.qDim() + h * hd;
                double[] s = new double[p + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = lo; j <= p; j++) {
                    for (int d = 0; d < hd; d++) s[j] += (double) q[qo + d] * cache.keys[0][g * hd * cap + d * cap + j];
                    s[j] /= Math.sqrt(hd);
                    max = Math.max(max, s[j]);
                }
                for (int j = lo; j <= p; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = lo; j <= p; j++) {
                    for (int e = 0; e < hd; e++) out[qo + e] += s[j] / sum * cache.values[0][(g * cap + j) * hd + e];
                }
            }
        }
        return out;
    }

    private static ModelConfig config(int heads, int kvHeads, int headDim) {
        ObjectNode j = new ObjectMapper().createObjectNode();
        j.putArray("architectures").add("LlamaForCausalLM");
        j.put("model_type", "llama");
        j.put("hidden_size", heads * headDim);
        j.put("intermediate_size", 4 * heads * headDim);
        j.put("num_attention_heads", heads);
        j.put("num_key_value_heads", kvHeads);
        j.put("head_dim", headDim);
        j.put("num_hidden_layers", 1);
        j.put("vocab_size", 32);
        j.put("max_position_embeddings", 512);
        return ModelConfig.parse(j, "test config");
    }
}
