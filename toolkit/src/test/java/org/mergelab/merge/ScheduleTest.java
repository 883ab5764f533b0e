package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.mergelab.hub.ModelLocator;
import org.mergelab.recipe.Recipe;
import org.mergelab.testing.Images;
import tech.tablesaw.api.Table;

class ScheduleTest {
    static final Path RECIPES = Path.of("..", "recipes");

    /** The t of one module in one layer, asserting every tensor of it gets the same. */
    static double t(Schedule s, int layer, String module) {
        Table rows = s.where(s.intColumn("layer").isEqualTo(layer).and(s.stringColumn("module").isEqualTo(module)));
        assertTrue(rows.rowCount() > 0, "no " + module + " in layer " + layer);
        Set<Double> values = new TreeSet<>(rows.doubleColumn("t").asList());
        assertEquals(1, values.size(), module + " in layer " + layer + ": " + values);
        return values.iterator().next();
    }

    @Test
    void seed000OnTheRealParentsGivesOneGradientKnotPerLayer(@TempDir Path home) throws IOException {
        TestModels.family("stories260K", home);
        TestModels.family("stories260K-shakespeare", home);
        Recipe r = Recipe.load(RECIPES.resolve("stories260K/slerp-shakespeare.yml"));
        Schedule s = Schedule.of(r, new ModelLocator(List.of(home)));
        assertEquals(List.of("t"), s.parameters());
        assertEquals(47, s.rowCount());
        // The recipe: self_attn [0, 0.5, 0.3, 0.7, 1], mlp [1, 0.5, 0.7, 0.3, 0], everything else 0.5; five layers.
        double[] attn = {0, 0.5, 0.3, 0.7, 1}, mlp = {1, 0.5, 0.7, 0.3, 0};
        for (int layer = 0; layer < 5; layer++) {
            for (String m : List.of("attn_q", "attn_k", "attn_v", "attn_o")) assertEquals(attn[layer], t(s, layer, m), 1e-15);
            for (String m : List.of("mlp_gate", "mlp_up", "mlp_down")) assertEquals(mlp[layer], t(s, layer, m), 1e-15);
            assertEquals(0.5, t(s, layer, "norm"));
            assertEquals(layer / 4.0, s.where(s.intColumn("layer").isEqualTo(layer)).doubleColumn("position").getDouble(0));
        }
        Table outside = s.where(s.intColumn("layer").isMissing());
        assertEquals(List.of("model.embed_tokens.weight", "model.norm.weight"), outside.stringColumn("name").asList());
        assertEquals(List.of(0.5, 0.5), outside.doubleColumn("t").asList());
    }

    @Test
    void theSevenBillionBenchmarkRecipeSlerpsTwoDifferentParentsOverThirtyTwoLayers(@TempDir Path dir)
            throws IOException {
        // recipes/bench/7b-two-parents-slerp.yml: seed 003's template with two different parents, which mergekit runs.
        TestModels.synthetic(dir.resolve("meta-llama/Llama-2-7b-chat-hf"), 32, 0f);
        TestModels.synthetic(dir.resolve("meta-llama/Llama-2-7b-hf"), 32, 1f);
        Path recipe = Files.copy(RECIPES.resolve("bench/7b-two-parents-slerp.yml"), dir.resolve("bench.yml"));
        Recipe r = Recipe.load(recipe);
        assertEquals(2, r.referencedModels().stream().map(m -> m.model()).distinct().count());
        Schedule s = Schedule.of(r);
        assertEquals(0, t(s, 0, "attn_q"), 1e-12);
        assertEquals(1, t(s, 31, "attn_o"), 1e-12);
        assertEquals(1, t(s, 0, "mlp_up"), 1e-12);
        assertEquals(0, t(s, 31, "mlp_down"), 1e-12);
        assertEquals(0.5, t(s, 16, "norm"));
        MergePlan plan = Merge.plan(r);
        try {
            assertEquals(2, plan.tasks().get(0).inputs().size());
        } finally {
            plan.checkpoints().values().forEach(org.mergelab.io.Checkpoint::close);
        }
    }

    @Test
    void seed000AsWrittenSpreadsItsGradientOverTwentyTwoLayers(@TempDir Path dir) throws IOException {
        // The schedule needs configs and headers only: stand-ins with TinyLlama's 22 layers and names will do.
        TestModels.synthetic(dir.resolve("TinyLlama/TinyLlama-1.1B-step-50K-105b"), 22, 0f);
        TestModels.synthetic(dir.resolve("TinyLlama/TinyLlama-1.1B-Chat-v1.0"), 22, 1f);
        Path recipe = Files.copy(RECIPES.resolve("seeds/000-tinyllama-hybrid-slerp.yml"), dir.resolve("seed000.yml"));
        Schedule s = Schedule.of(Recipe.load(recipe));
        // Layer k sits at k/21; a five-knot gradient puts knot j at 4k/21 = j and interpolates between knots.
        assertEquals(0, t(s, 0, "attn_q"), 1e-12);
        assertEquals(2.0 / 7, t(s, 3, "attn_v"), 1e-12);       // 0.5 * 12/21
        assertEquals(10.0 / 21, t(s, 5, "attn_o"), 1e-12);     // 0.5 * 20/21
        assertEquals(33.0 / 70, t(s, 6, "attn_k"), 1e-12);     // 0.5 - 0.2 * 3/21
        assertEquals(6.7 / 21, t(s, 10, "attn_q"), 1e-12);     // 0.5 - 0.2 * 19/21
        assertEquals(7.1 / 21, t(s, 11, "attn_q"), 1e-12);     // 0.3 + 0.4 * 2/21
        assertEquals(1, t(s, 21, "attn_q"), 1e-12);
        assertEquals(5.0 / 7, t(s, 3, "mlp_up"), 1e-12);       // 1 - 0.5 * 12/21
        assertEquals(14.3 / 21, t(s, 10, "mlp_down"), 1e-12);  // 0.5 + 0.2 * 19/21
        assertEquals(13.9 / 21, t(s, 11, "mlp_gate"), 1e-12);  // 0.7 - 0.4 * 2/21
        assertEquals(0, t(s, 21, "mlp_gate"), 1e-12);
        assertEquals(0.5, t(s, 7, "norm"));
        // One resolver: the table is the plan the engine executes.
        MergePlan plan = Merge.plan(Recipe.load(recipe));
        try {
            for (MergePlan.Task task : plan.tasks()) {
                assertEquals(((Number) task.shared().get("t")).doubleValue(), s.doubleColumn("t").getDouble(task.index()));
                assertEquals(task.outputName(), s.stringColumn("name").get(task.index()));
            }
        } finally {
            TestModels.close(plan);
        }
        XYChart chart = (XYChart) s.plot().xchart();
        Set<String> lines = new java.util.HashSet<>();
        chart.getSeriesCollection().forEach(x -> lines.add(x.getName()));
        assertEquals(Set.of("norm", "attn_q, attn_k, attn_v, attn_o", "mlp_up, mlp_gate, mlp_down"), lines);
        Images.assertRenders(s.plot(), "t by layer", "slerp");
    }

    @Test
    void perModelParametersGetAColumnPerModel(@TempDir Path home) throws IOException {
        TestModels.family("stories260K", home);
        TestModels.family("stories260K-shakespeare", home);
        Path recipe = Files.writeString(home.resolve("linear.yml"), """
                models:
                  - model: stories260K
                    parameters:
                      weight: [1, 0]
                  - model: stories260K-shakespeare
                    parameters:
                      weight:
                        - filter: mlp
                          value: 0.25
                        - value: 0.75
                merge_method: linear
                """);
        Schedule s = Schedule.of(Recipe.load(recipe));
        assertEquals(List.of("normalize", "weight[stories260K]", "weight[stories260K-shakespeare]"), s.parameters());
        Table l4 = s.where(s.intColumn("layer").isEqualTo(4).and(s.stringColumn("module").isEqualTo("mlp_up")));
        assertEquals(0.0, l4.doubleColumn("weight[stories260K]").getDouble(0), 1e-15);
        assertEquals(0.25, l4.doubleColumn("weight[stories260K-shakespeare]").getDouble(0));
        Table l2 = s.where(s.intColumn("layer").isEqualTo(2).and(s.stringColumn("module").isEqualTo("attn_q")));
        assertEquals(0.5, l2.doubleColumn("weight[stories260K]").getDouble(0), 1e-15);
        assertEquals(0.75, l2.doubleColumn("weight[stories260K-shakespeare]").getDouble(0));
        Images.assertRenders(s.plot("weight[stories260K-shakespeare]"), "weight[stories260K-shakespeare]", "linear");
        assertThrows(IllegalArgumentException.class, () -> s.plot("density"));
    }
}
