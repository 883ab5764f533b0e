package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mergelab.plot.Chart;
import tech.tablesaw.api.Table;

/**
 * Sweeps merge in memory and evaluate: SLERP at t = 0 is the base and at t = 1 the fine-tune, bit for bit, so their
 * perplexities equal the parents'; in between, the curve moves from one domain's specialist to the other's.
 */
class SweepTest {
    @Test
    void slerpSweepRunsFromTheBaseToTheFineTune() {
        String base = TestData.folder("stories260K").toString();
        String tuned = TestData.folder("stories260K-shakespeare").toString();
        Map<String, String> domains = new LinkedHashMap<>();
        domains.put("TinyStories", TestData.text("tinystories_valid_sample/tinystories_val_prefix.txt", 6000));
        domains.put("Shakespeare", TestData.text("splits/shakespeare_eval.txt", 6000));
        Sweep sweep = Sweep.slerp(base, tuned, 0, 0.5, 1);
        SweepResult r = sweep.perplexity(domains, 256);
        assertEquals(6, r.rowCount());
        assertEquals(List.of("t", "domain", "perplexity", "tokens"), r.columnNames());
        Model b = TestData.model("stories260K"), s = TestData.model("stories260K-shakespeare");
        for (String d : domains.keySet()) {
            assertEquals(Perplexity.of(b, domains.get(d), 256).perplexity(), value(r, 0, d), 0, "t=0 is the base");
            assertEquals(Perplexity.of(s, domains.get(d), 256).perplexity(), value(r, 1, d), 0, "t=1 is the fine-tune");
        }
        assertEquals(0.0, r.best("TinyStories"));
        assertEquals(1.0, r.best("Shakespeare"));
        double mid = r.balanced();
        assertTrue(mid >= 0 && mid <= 1);
        Table wide = r.wide();
        assertEquals(List.of("t", "TinyStories", "Shakespeare"), wide.columnNames());
        assertEquals(3, wide.rowCount());
        Chart chart = r.plot();
        assertEquals(2, ((org.knowm.xchart.XYChart) chart.xchart()).getSeriesCollection().size(), "one line per domain");
        assertTrue(chart.png().length > 1000);

        SweepAgreement ag = sweep.agreement(List.of(b, s), domains.get("TinyStories").substring(0, 1500), 256);
        assertEquals(6, ag.rowCount(), "three values, two references");
        for (int i = 0; i < ag.rowCount(); i++) {
            double t = ag.doubleColumn("t").get(i);
            boolean same = t == 0 && ag.stringColumn("reference").get(i).equals("stories260K")
                    || t == 1 && ag.stringColumn("reference").get(i).equals("stories260K-shakespeare");
            if (same) {
                assertEquals(0, ag.doubleColumn("kl").get(i), 1e-9, "the sweep's end is its parent");
                assertEquals(1.0, ag.doubleColumn("top1_agreement").get(i));
            } else {
                assertTrue(ag.doubleColumn("kl").get(i) > 0.01);
            }
        }
        assertTrue(ag.plot().png().length > 1000);

        Table gen = sweep.generations(List.of("Once upon a time"), Sampling.greedy(12), 0, 1);
        assertEquals(List.of("prompt", "t=0.0", "t=1.0"), gen.columnNames());
        assertEquals(b.generate("Once upon a time", Sampling.greedy(12)).text(), gen.stringColumn("t=0.0").get(0));
    }

    @Test
    void linearSweepAtOneHalfIsTheLinearRecipe() {
        String base = TestData.folder("stories260K").toString();
        String tuned = TestData.folder("stories260K-shakespeare").toString();
        String text = TestData.text("splits/shakespeare_eval.txt", 3000);
        Model half = Sweep.linear(base, tuned, 0.5).at(0.5);
        Model recipe = Sweep.recipe("models:\n  - model: " + base + "\n    parameters:\n      weight: 0.5\n  - model: "
                + tuned + "\n    parameters:\n      weight: 0.5\nmerge_method: linear\ndtype: float32\n# ${t}\n", 0.5).at(0.5);
        assertEquals(Perplexity.of(recipe, text, 256).perplexity(), Perplexity.of(half, text, 256).perplexity(), 0);
        assertEquals("t=0.5", half.name());
    }

    private static double value(SweepResult r, double t, String domain) {
        for (int i = 0; i < r.rowCount(); i++) {
            if (r.doubleColumn("t").get(i) == t && r.stringColumn("domain").get(i).equals(domain)) {
                return r.doubleColumn("perplexity").get(i);
            }
        }
        throw new AssertionError("no row for t=" + t + ", " + domain);
    }
}
