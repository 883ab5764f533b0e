package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Logits equal transformers' (float32) within 1e-4 absolute, at every reference position and for every vocabulary
 * entry, whether the prompt runs as one batched prefill or token by token through the cache; argmax equal at every
 * position; greedy continuations equal. Models: the tiny Llama-3 (llama3 rope scaling, tied, bf16), Qwen2 (q/k/v
 * biases, padded vocab, bf16), Qwen3 (q/k norms, head_dim 32, fp16) and Mistral (sliding window 16, fp32) folders,
 * the stories260K family (base and three fine-tunes) and llama2xs. Reference: reference/forward/forward-logits.json
 * (make_forward_reference.py).
 */
class ForwardConformanceTest {
    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3", "tiny-mistral", "stories260K",
            "stories260K-shakespeare", "stories260K-babi", "stories260K-fables", "llama2xs"})
    void logitsMatchTransformers(String name) {
        JsonNode ref = TestData.json("forward/forward-logits.json").get("models").get(name);
        Model model = TestData.model(name);
        int[] ids = TestData.ints(ref.get("ids"));
        assertArrayEquals(ids, model.encode(ref.get("prompt").asText()), name + ": our tokenizer's ids");

        Transformer t = model.transformer();
        int vocab = model.config().vocabSize();
        float[] prefill = t.logitsForAll(t.newCache(ids.length), ids);
        KvCache cache = t.newCache(ids.length);
        float[][] stepwise = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) stepwise[i] = t.logits(cache, ids[i]);

        double maxPrefill = 0, maxDecode = 0;
        for (JsonNode p : ref.get("positions")) {
            int pos = p.asInt();
            JsonNode row = ref.get("logits").get(Integer.toString(pos));
            assertEquals(vocab, row.size(), name + ": reference row length");
            for (int v = 0; v < vocab; v++) {
                double want = row.get(v).asDouble();
                maxPrefill = Math.max(maxPrefill, Math.abs(prefill[pos * vocab + v] - want));
                maxDecode = Math.max(maxDecode, Math.abs(stepwise[pos][v] - want));
            }
        }
        System.out.printf("%s: logits max abs error vs transformers %.3g (prefill), %.3g (token by token)%n", name,
                maxPrefill, maxDecode);
        assertTrue(maxPrefill <= TOLERANCE, name + ": prefill logits differ by " + maxPrefill);
        assertTrue(maxDecode <= TOLERANCE, name + ": token-by-token logits differ by " + maxDecode);

        int[] argmax = TestData.ints(ref.get("argmax"));
        for (int i = 0; i < ids.length; i++) {
            float[] row = java.util.Arrays.copyOfRange(prefill, i * vocab, (i + 1) * vocab);
            assertEquals(argmax[i], Generator.argmax(row), name + ": argmax at position " + i);
        }

        float[] blocked = new float[prefill.length];
        t.logitsForAll(t.newCache(ids.length), ids, 7, (first, rows, logits) ->
                System.arraycopy(logits, 0, blocked, first * vocab, rows * vocab));
        // (the same sums; sgemm may block a 7-row product differently from a whole one, shared out over the threads
        // by rows: differences in the last bits, a few units of 2e-6 at logits of about 20)
        assertArrayEquals(prefill, blocked, 5e-5f, name + ": logits handed out 7 positions at a time");

        int[] shortIds = TestData.ints(ref.get("short_ids"));
        assertArrayEquals(shortIds, model.encode(ref.get("short_prompt").asText()));
        Generation g = Generator.generate(model, ref.get("short_prompt").asText(), shortIds,
                Sampling.greedy(20).withStopIds(List.of()));
        assertArrayEquals(TestData.ints(ref.get("greedy")), g.ids(), name + ": greedy continuation");
    }
}
