package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/**
 * N models on the same inputs: KL divergence and top-1 agreement equal transformers' (reference/forward/
 * comparison.json); perplexity and generation tables agree with the single-model API.
 */
class ComparisonTest {
    @Test
    void klAndTop1AgreementMatchTransformers() {
        JsonNode ref = TestData.json("forward/comparison.json");
        Comparison cmp = Comparison.of(TestData.model("stories260K"), TestData.model("stories260K-shakespeare"),
                TestData.model("stories260K-fables"));
        Table t = cmp.agreement(TestData.text(ref.get("text").asText(), ref.get("first_bytes").asInt()),
                ref.get("window").asInt());
        assertEquals(6, t.rowCount(), "every ordered pair");
        int positions = ref.get("positions").asInt();
        for (JsonNode pair : ref.get("pairs")) {
            int row = -1;
            for (int i = 0; i < t.rowCount(); i++) {
                if (t.stringColumn("model_a").get(i).equals(pair.get("model_a").asText())
                        && t.stringColumn("model_b").get(i).equals(pair.get("model_b").asText())) row = i;
            }
            assertTrue(row >= 0, pair.toString());
            assertEquals(positions, t.intColumn("positions").get(row));
            double kl = t.doubleColumn("kl_a_b").get(row), want = pair.get("kl_a_b").asDouble();
            assertEquals(want, kl, 1e-5 * want, pair + " KL");
            assertEquals(pair.get("top1_agreement").asDouble(), t.doubleColumn("top1_agreement").get(row),
                    1.0 / positions, pair + " top-1 agreement (at most one position apart: argmax ties)");
        }
    }

    @Test
    void perplexityAndGenerationTablesAgreeWithTheModels() {
        Model base = TestData.model("stories260K"), tuned = TestData.model("stories260K-shakespeare");
        Comparison cmp = Comparison.of(base, tuned);
        Map<String, String> texts = new LinkedHashMap<>();
        texts.put("TinyStories", TestData.text("tinystories_valid_sample/tinystories_val_prefix.txt", 3000));
        texts.put("Shakespeare", TestData.text("splits/shakespeare_eval.txt", 3000));
        Table ppl = cmp.perplexitiesOfTexts(texts, 256);
        assertEquals(List.of("model", "TinyStories", "Shakespeare"), ppl.columnNames());
        assertEquals(Perplexity.of(tuned, texts.get("Shakespeare"), 256).perplexity(),
                ppl.doubleColumn("Shakespeare").get(1), 0);
        assertTrue(ppl.doubleColumn("TinyStories").get(0) < ppl.doubleColumn("TinyStories").get(1),
                "the base knows TinyStories better");
        assertTrue(ppl.doubleColumn("Shakespeare").get(1) < ppl.doubleColumn("Shakespeare").get(0),
                "the fine-tune knows Shakespeare better");

        Table gen = cmp.generations(List.of("Once upon a time", "ROMEO:"), Sampling.greedy(20));
        assertEquals(List.of("prompt", "stories260K", "stories260K-shakespeare"), gen.columnNames());
        assertEquals(tuned.generate("ROMEO:", Sampling.greedy(20)).text(), gen.stringColumn("stories260K-shakespeare").get(1));
        Table self = Comparison.of(base, base).agreement("Once upon a time, there was a girl.", 0);
        assertEquals(0, self.doubleColumn("kl_a_b").get(0), 1e-9, "a model against itself");
        assertEquals(1.0, self.doubleColumn("top1_agreement").get(0));
        assertTrue(self.stringColumn("model_a").get(0).endsWith("#1"), "duplicate names are told apart");
    }

    @Test
    void modelsThatTokenizeDifferentlyCannotBeCompared() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Comparison.of(
                TestData.model("stories260K"), TestData.model("tiny-llama3")).agreement("Once upon a time", 0));
        assertTrue(e.getMessage().contains("tokenizes the text differently"), e.getMessage());
    }
}
