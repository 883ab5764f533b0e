package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Greedy and sampled generation, stop tokens and the context limit. */
class GenerationTest {
    @Test
    void greedyStoryEqualsTransformersAndLlama2c() {
        // reference/stories260K-greedy.json: transformers' greedy ids from BOS, equal to llama2.c's `run` output.
        JsonNode ref = TestData.json("stories260K-greedy.json");
        Model m = TestData.model("stories260K");
        Generation g = Generator.generate(m, "", TestData.ints(ref.get("prompt_ids")), Sampling.greedy(512));
        assertArrayEquals(TestData.ints(ref.get("token_ids")), g.ids(), "345 greedy tokens");
        assertEquals("stop token 1", g.stoppedBy(), "the story ends where the next begins (BOS)");
        assertEquals(ref.get("text").asText(), g.text());
        assertEquals(ref.get("llama2c_text").asText(), g.text());
    }

    @Test
    void theSameSeedGivesTheSameText() {
        Model m = TestData.model("stories260K");
        Sampling s = Sampling.sample(60, 1.0, 42).withStopIds(List.of());
        Generation a = m.generate("Once upon a time", s), b = m.generate("Once upon a time", s);
        assertArrayEquals(a.ids(), b.ids());
        Generation c = m.generate("Once upon a time", s.withSeed(43));
        assertFalse(java.util.Arrays.equals(a.ids(), c.ids()), "another seed, another story");
        Generation greedy = m.generate("Once upon a time", Sampling.greedy(60).withStopIds(List.of()));
        assertArrayEquals(greedy.ids(), m.generate("Once upon a time", s.withTopK(1)).ids(), "top-k 1 is greedy");
        assertArrayEquals(greedy.ids(), m.generate("Once upon a time", s.withTopP(1e-6)).ids(), "tiny top-p is greedy");
    }

    @Test
    void samplingFollowsTheTemperedDistribution() {
        float[] logits = {2f, 1f, 0f, -1f};
        SplittableRandom r = new SplittableRandom(7);
        int draws = 200_000;
        Sampling s = Sampling.sample(1, 0.5, 0);
        int[] counts = new int[4];
        for (int i = 0; i < draws; i++) counts[Generator.pick(logits, s, r)]++;
        double z = 0;
        for (float l : logits) z += Math.exp(l / 0.5);
        for (int i = 0; i < 4; i++) {
            double expected = Math.exp(logits[i] / 0.5) / z;
            assertEquals(expected, counts[i] / (double) draws, 0.005, "token " + i);
        }
        int[] topK = new int[4];
        for (int i = 0; i < 10_000; i++) topK[Generator.pick(logits, s.withTopK(2), r)]++;
        assertEquals(0, topK[2] + topK[3], "top-k 2 never draws the third and fourth tokens");
        // top-p 0.9 over p = (0.865, 0.117, 0.016, 0.002) at temperature 0.5 keeps the first two
        int[] topP = new int[4];
        for (int i = 0; i < 10_000; i++) topP[Generator.pick(logits, s.withTopP(0.9), r)]++;
        assertEquals(0, topP[2] + topP[3]);
        assertTrue(topP[1] > 0);
    }

    @Test
    void stopsAtStopTokensAndAtTheContext() {
        Model m = TestData.model("stories260K");
        Generation g = m.generate("Once upon a time", Sampling.greedy(5));
        assertEquals(5, g.ids().length);
        assertEquals("max new tokens", g.stoppedBy());
        int first = g.ids()[0];
        Generation stopped = m.generate("Once upon a time", Sampling.greedy(5).withStopIds(List.of(first)));
        assertEquals(0, stopped.ids().length);
        assertEquals("stop token " + first, stopped.stoppedBy());

        Generation full = m.generate("Once upon a time", Sampling.greedy(2000).withStopIds(List.of()));
        assertEquals("context", full.stoppedBy());
        // 512 positions run (the context); the last of them predicts token 513, which is output, never run
        assertEquals(513, full.promptIds().length + full.ids().length);
    }

    @Test
    void aPromptLongerThanTheContextIsAClearError() {
        Model m = TestData.model("stories260K");
        String longPrompt = "Once upon a time there was a girl. ".repeat(80);
        ContextOverflowException e = assertThrows(ContextOverflowException.class,
                () -> m.generate(longPrompt, Sampling.greedy(10)));
        assertTrue(e.getMessage().contains("512") && e.getMessage().contains("max_position_embeddings"), e.getMessage());
        KvCache cache = m.transformer().newCache(8);
        assertThrows(ContextOverflowException.class, () -> m.transformer().logits(cache, new int[9]));
    }

    @Test
    void chatPromptsUseTheFolderTemplate() {
        Model m = TestData.model("tiny-qwen2");
        String prompt = m.chatPrompt("Hello");
        assertTrue(prompt.startsWith("<|im_start|>system") && prompt.endsWith("<|im_start|>assistant\n"), prompt);
        assertTrue(m.stopIds().contains(m.tokenizer().id("<|im_end|>").getAsInt()), "<|im_end|> ends a turn");
        Generation g = m.generate(prompt, Sampling.greedy(3).withStopIds(List.of()));
        assertEquals(3, g.ids().length);
        assertEquals(-1, m.bosId(), "Qwen2 tokenizers add no BOS");
        assertEquals(m.tokenizer().encode(prompt).length, m.encode(prompt).length);
        Model llama3 = TestData.model("tiny-llama3");
        assertEquals(llama3.tokenizer().id("<|begin_of_text|>").getAsInt(), llama3.encode("Hi")[0], "Llama 3 adds BOS");
    }
}
