package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Perplexity reproduces the stories260K model cards' matrix (five models, four held-out texts, first 40,000 bytes,
 * BOS then the text, windows of 256): equal to transformers' within 1e-5 relative, and to the card's printed values
 * once rounded to two decimals. Reference: reference/forward/perplexity-matrix.json (make_forward_reference.py).
 */
class PerplexityTest {
    @Test
    void reproducesTheModelCardMatrix() {
        JsonNode ref = TestData.json("forward/perplexity-matrix.json");
        JsonNode card = ref.get("card").get("values");
        double worst = 0;
        StringBuilder table = new StringBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("models").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            Model model = TestData.model(m.getKey());
            table.append(String.format("%-24s", m.getKey()));
            int k = 0;
            for (JsonNode text : ref.get("texts")) {
                JsonNode want = m.getValue().get(text.get("label").asText());
                Perplexity p = Perplexity.of(model, TestData.text(text.get("path").asText(), 40_000), 256);
                assertEquals(want.get("tokens").asInt(), p.tokens(), m.getKey() + " on " + text.get("label"));
                assertEquals(want.get("scored").asInt(), p.scored());
                double rel = Math.abs(p.perplexity() - want.get("perplexity").asDouble()) / want.get("perplexity").asDouble();
                worst = Math.max(worst, rel);
                assertTrue(rel < 1e-5, m.getKey() + " on " + text.get("label") + ": " + p.perplexity() + " vs transformers "
                        + want.get("perplexity").asDouble());
                double printed = card.get(m.getKey()).get(k++).asDouble();
                assertEquals(printed, Math.round(p.perplexity() * 100) / 100.0, 1e-9,
                        m.getKey() + " on " + text.get("label") + " vs the model card");
                table.append(String.format("  %10.4f", p.perplexity()));
            }
            table.append('\n');
        }
        System.out.print(table);
        System.out.printf("perplexity: largest relative difference from transformers %.2g%n", worst);
    }

    @Test
    void windowsMustFitTheContext() {
        Model m = TestData.model("stories260K");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Perplexity.of(m, "Once upon a time", 600));
        assertTrue(e.getMessage().contains("600") && e.getMessage().contains("512"), e.getMessage());
        Perplexity whole = Perplexity.of(m, "Once upon a time there was a girl.", 0);
        assertEquals(511, whole.window(), "the default window is the context minus the one token of context");
        Perplexity small = Perplexity.of(m, "Once upon a time there was a girl.", 3);
        assertEquals(whole.scored(), small.scored(), "every token after BOS is scored once, whatever the window");
        assertTrue(small.perplexity() > whole.perplexity(), "less context, higher perplexity");
    }
}
