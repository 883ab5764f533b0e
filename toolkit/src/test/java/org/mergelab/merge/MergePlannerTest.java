package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.DType;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;

/** Planning real recipes over the stories260K family (5 layers, dim 64, FFN 172, tied embeddings). */
class MergePlannerTest {
    @TempDir
    static Path home;
    @TempDir
    Path dir;

    static Path base, shakespeare, xs;
    private static String previousHome;

    @BeforeAll
    static void importModels() throws IOException {
        base = TestModels.family("stories260K", home);
        shakespeare = TestModels.family("stories260K-shakespeare", home);
        xs = TestModels.llama2xs(home);
        previousHome = System.getProperty("mergelab.models");
        System.setProperty("mergelab.models", home.toString());
    }

    @AfterAll
    static void restoreHome() {
        if (previousHome == null) System.clearProperty("mergelab.models");
        else System.setProperty("mergelab.models", previousHome);
    }

    /** stories260K's tensors in mergekit's planning order (llama.json: pre-weights, layer template, post-weights). */
    static List<String> storiesTensorNames() {
        List<String> names = new ArrayList<>();
        names.add("model.embed_tokens.weight");
        for (int l = 0; l < 5; l++) {
            String p = "model.layers." + l + ".";
            for (String w : List.of("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                    "self_attn.o_proj", "post_attention_layernorm", "mlp.up_proj", "mlp.gate_proj", "mlp.down_proj")) {
                names.add(p + w + ".weight");
            }
        }
        names.add("model.norm.weight"); // lm_head is tied (absent) in every input, so it is skipped
        return names;
    }

    private static MergePlan.Task task(MergePlan plan, String name) {
        return plan.tasks().stream().filter(t -> t.outputName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no task " + name));
    }

    private static double t(MergePlan plan, String name) {
        return ((Number) task(plan, name).shared().get("t")).doubleValue();
    }

    private MergePlan plan(String text) throws IOException {
        return Merge.plan(TestModels.recipe(dir, "recipe.yml", text));
    }

    private RecipeException planFails(String text) throws IOException {
        Recipe r = TestModels.recipe(dir, "recipe.yml", text);
        RecipeException e = assertThrows(RecipeException.class, () -> TestModels.close(Merge.plan(r)));
        assertTrue(e.getMessage().startsWith(dir.resolve("recipe.yml") + " line " + e.line() + ": "),
                "the message names the recipe file and line: " + e.getMessage());
        return e;
    }

    @Test
    void seed000StyleSlerpPlan() throws IOException {
        MergePlan plan = plan(String.join("\n",
                "slices:",
                "  - sources:",
                "      - model: stories260K",
                "        layer_range: [0, 5]",
                "      - model: stories260K-shakespeare",
                "        layer_range: [0, 5]",
                "merge_method: slerp",
                "base_model: stories260K",
                "parameters:",
                "  t:",
                "    - filter: self_attn",
                "      value: [0, 0.5, 0.3, 0.7, 1]",
                "    - filter: mlp",
                "      value: [1, 0.5, 0.7, 0.3, 0]",
                "    - value: 0.5",
                "dtype: bfloat16", ""));
        try {
            assertEquals(47, plan.tasks().size());
            assertEquals(storiesTensorNames(), plan.tasks().stream().map(MergePlan.Task::outputName).toList());
            // Five layers in one slice: layer k at t = k/4, so each layer sits exactly on gradient knot k.
            double[] attn = {0, 0.5, 0.3, 0.7, 1};
            double[] mlp = {1, 0.5, 0.7, 0.3, 0};
            for (int k = 0; k < 5; k++) {
                String p = "model.layers." + k + ".";
                for (String w : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                    MergePlan.Task task = task(plan, p + "self_attn." + w + ".weight");
                    assertEquals(k, task.layer());
                    assertEquals(k / 4.0, task.t(), 0.0);
                    assertEquals(attn[k], t(plan, task.outputName()), 1e-12, task.outputName());
                }
                for (String w : List.of("up_proj", "gate_proj", "down_proj")) {
                    assertEquals(mlp[k], t(plan, p + "mlp." + w + ".weight"), 1e-12);
                }
                // The norms match neither filter (input_layernorm does not contain "self_attn"): 0.5.
                assertEquals(0.5, t(plan, p + "input_layernorm.weight"), 0.0);
                assertEquals(0.5, t(plan, p + "post_attention_layernorm.weight"), 0.0);
            }
            assertEquals(0.5, t(plan, "model.embed_tokens.weight"), 0.0);
            assertEquals(0.5, t(plan, "model.norm.weight"), 0.0);
            assertEquals(-1, task(plan, "model.norm.weight").layer());
            for (MergePlan.Task task : plan.tasks()) {
                assertEquals(MergePlan.Kind.MERGE, task.kind());
                assertEquals(2, task.inputs().size());
                assertEquals(0, task.baseIndex(), "stories260K is the first source and the base");
                assertEquals(DType.BF16, task.workDtype());
                assertEquals(DType.BF16, task.outDtype());
                assertEquals(task.outputName(), task.inputs().get(1).tensorName());
            }
            assertEquals("[512, 64]", org.mergelab.io.TensorInfo.shapeString(task(plan, "model.embed_tokens.weight").shape()));
            assertEquals("[172, 64]", org.mergelab.io.TensorInfo.shapeString(task(plan, "model.layers.3.mlp.up_proj.weight").shape()));
            assertEquals("bfloat16", plan.outConfig().get("torch_dtype").asText());
            assertEquals(5, plan.outConfig().get("num_hidden_layers").asInt());
            assertEquals(base.toAbsolutePath(), plan.donorCheckpoint().dir());
            assertEquals(List.of(), plan.warnings());
        } finally {
            TestModels.close(plan);
        }
    }

    @Test
    void preAndPostWeightsUseTZeroAndModelsFormSpansAllLayers() throws IOException {
        MergePlan plan = plan(String.join("\n",
                "models:",
                "  - model: " + base,
                "  - model: " + shakespeare,
                "merge_method: slerp",
                "base_model: " + base,
                "parameters:",
                "  t: [0.2, 0.8]", ""));
        try {
            assertEquals(47, plan.tasks().size());
            // Layers: t = k/4, value 0.2 + 0.6 t. Embeddings and final norm: t = 0 -> 0.2.
            assertEquals(0.2, t(plan, "model.embed_tokens.weight"), 1e-12);
            assertEquals(0.2, t(plan, "model.norm.weight"), 1e-12);
            assertEquals(0.2, t(plan, "model.layers.0.mlp.down_proj.weight"), 1e-12);
            assertEquals(0.35, t(plan, "model.layers.1.mlp.down_proj.weight"), 1e-12);
            assertEquals(0.5, t(plan, "model.layers.2.self_attn.q_proj.weight"), 1e-12);
            assertEquals(0.8, t(plan, "model.layers.4.input_layernorm.weight"), 1e-12);
            assertEquals(0.0, task(plan, "model.embed_tokens.weight").t(), 0.0);
            // No dtype in the recipe: tensors keep the checkpoint's float32 and config.json keeps its torch_dtype.
            assertEquals(DType.F32, task(plan, "model.norm.weight").outDtype());
            assertEquals("float32", plan.outConfig().get("torch_dtype").asText());
        } finally {
            TestModels.close(plan);
        }
    }

    @Test
    void singleLayerSlicesUseTOneAndReindexLayers() throws IOException {
        StringBuilder sb = new StringBuilder("slices:\n");
        for (int l : new int[] {0, 2, 4}) {
            sb.append("  - sources:\n");
            sb.append("      - model: stories260K\n        layer_range: [").append(l).append(", ").append(l + 1).append("]\n");
            sb.append("      - model: stories260K-shakespeare\n        layer_range: [").append(l).append(", ")
                    .append(l + 1).append("]\n");
        }
        sb.append("merge_method: slerp\nbase_model: stories260K\nparameters:\n  t: [0.2, 0.8]\n");
        MergePlan plan = plan(sb.toString());
        try {
            // 1 + 3*9 + 1 tensors; output layers 0, 1, 2 read input layers 0, 2, 4.
            assertEquals(29, plan.tasks().size());
            assertEquals(3, plan.outConfig().get("num_hidden_layers").asInt());
            MergePlan.Task mid = task(plan, "model.layers.1.self_attn.o_proj.weight");
            assertEquals("model.layers.2.self_attn.o_proj.weight", mid.inputs().get(0).tensorName());
            assertEquals("model.layers.4.mlp.gate_proj.weight",
                    task(plan, "model.layers.2.mlp.gate_proj.weight").inputs().get(1).tensorName());
            for (int l = 0; l < 3; l++) {
                MergePlan.Task k = task(plan, "model.layers." + l + ".self_attn.k_proj.weight");
                assertEquals(1.0, k.t(), 0.0, "a one-layer slice sits at t = 1");
                assertEquals(0.8, t(plan, k.outputName()), 1e-12);
            }
            assertEquals(0.2, t(plan, "model.embed_tokens.weight"), 1e-12);
            assertEquals(0.2, t(plan, "model.norm.weight"), 1e-12);
        } finally {
            TestModels.close(plan);
        }
    }

    @Test
    void fortyLayerWorkedExample() throws IOException {
        Path a = TestModels.synthetic(dir.resolve("a40"), 40, 1f);
        Path b = TestModels.synthetic(dir.resolve("b40"), 40, 2f);
        MergePlan plan = plan(String.join("\n",
                "models:",
                "  - model: " + a,
                "  - model: " + b,
                "merge_method: slerp",
                "base_model: " + a,
                "parameters:",
                "  t: [0, 0.5, 0.3, 0.7, 1]", ""));
        try {
            assertEquals(1 + 40 * 9 + 1, plan.tasks().size());
            MergePlan.Task l10 = task(plan, "model.layers.10.self_attn.q_proj.weight");
            assertEquals(10.0 / 39, l10.t(), 1e-15);
            // s = 4·10/39 = 40/39, i0 = 1, f = 1/39: 0.5·38/39 + 0.3/39 = 19.3/39 = 0.49487...
            assertEquals(19.3 / 39, t(plan, l10.outputName()), 1e-12);
            assertEquals(0.4949, t(plan, l10.outputName()), 5e-5);
            assertEquals(1.0, t(plan, "model.layers.39.mlp.down_proj.weight"), 0.0);
            assertEquals(0.0, t(plan, "model.layers.0.mlp.down_proj.weight"), 0.0);
        } finally {
            TestModels.close(plan);
        }
    }

    private static final String TWO_MODELS = "models:\n  - model: stories260K\n  - model: stories260K-shakespeare\n";

    @Test
    void unknownMergeMethod() throws IOException {
        RecipeException e = planFails(TWO_MODELS + "merge_method: tie_dye\nbase_model: stories260K\n");
        assertEquals(4, e.line());
        assertTrue(e.getMessage().contains("tie_dye"), e.getMessage());
    }

    @Test
    void missingModelFolder() throws IOException {
        Path missing = dir.resolve("no-such-model");
        RecipeException e = planFails("merge_method: linear\nmodels:\n  - model: stories260K\n"
                + "    parameters: {weight: 1}\n  - model: " + missing + "\n    parameters: {weight: 1}\n");
        assertEquals(5, e.line());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        RecipeException relative = planFails("merge_method: linear\nmodels:\n  - model: stories260K\n"
                + "    parameters: {weight: 1}\n  - model: stories999K\n    parameters: {weight: 1}\n");
        assertEquals(5, relative.line());
        assertTrue(relative.getMessage().contains("stories999K"), relative.getMessage());
    }

    @Test
    void slerpWithThreeModels() throws IOException {
        Path fables = TestModels.family("stories260K-fables", home);
        RecipeException e = planFails(TWO_MODELS + "  - model: " + fables + "\nmerge_method: slerp\n"
                + "base_model: stories260K\nparameters:\n  t: 0.5\n");
        assertEquals(2, e.line(), "reported at the first entry of the models list");
        assertTrue(e.getMessage().contains("exactly 2") && e.getMessage().contains("3"), e.getMessage());
    }

    @Test
    void slerpWithoutBaseModel() throws IOException {
        RecipeException e = planFails(TWO_MODELS + "merge_method: slerp\nparameters:\n  t: 0.5\n");
        assertEquals(4, e.line(), "reported at merge_method");
        assertTrue(e.getMessage().contains("base_model"), e.getMessage());
        RecipeException notAmong = planFails(TWO_MODELS + "merge_method: slerp\nbase_model: stories260K-babi\n"
                + "parameters:\n  t: 0.5\n");
        // The base is appended to a models: list, making three inputs: rejected either way, at a line.
        assertTrue(notAmong.line() > 0, notAmong.getMessage());
    }

    @Test
    void layerRangePastTheLastLayer() throws IOException {
        RecipeException e = planFails(String.join("\n",
                "slices:",
                "  - sources:",
                "      - model: stories260K",
                "        layer_range: [1, 6]",
                "      - model: stories260K-shakespeare",
                "        layer_range: [0, 5]",
                "merge_method: slerp",
                "base_model: stories260K",
                "parameters: {t: 0.5}", ""));
        assertEquals(3, e.line());
        assertTrue(e.getMessage().contains("[1, 6]") && e.getMessage().contains("5 layers"), e.getMessage());
    }

    @Test
    void sliceSourcesOfDifferentLengths() throws IOException {
        RecipeException e = planFails(String.join("\n",
                "merge_method: slerp",
                "base_model: stories260K",
                "parameters: {t: 0.5}",
                "slices:",
                "  - sources:",
                "      - model: stories260K",
                "        layer_range: [0, 3]",
                "      - model: stories260K-shakespeare",
                "        layer_range: [0, 4]", ""));
        assertEquals(5, e.line());
        assertTrue(e.getMessage().contains("same number of layers"), e.getMessage());
    }

    @Test
    void parentsWithDifferentShapesNameTheTensor() throws IOException {
        // stories260K has FFN width 172, llama2xs 192; everything before the first MLP matrix has equal shapes.
        RecipeException e = planFails("merge_method: linear\nmodels:\n  - model: stories260K\n"
                + "    parameters: {weight: 0.5}\n  - model: " + xs + "\n    parameters: {weight: 0.5}\n");
        assertTrue(e.getMessage().contains("model.layers.0.mlp.up_proj.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("[172, 64]") && e.getMessage().contains("[192, 64]"), e.getMessage());
        assertTrue(e.line() == 3 || e.line() == 5, "at one of the two models: " + e.line());
    }

    @Test
    void missingRequiredParameter() throws IOException {
        RecipeException e = planFails("merge_method: linear\nmodels:\n  - model: stories260K\n"
                + "    parameters: {weight: 0.5}\n  - model: stories260K-shakespeare\n");
        assertEquals(5, e.line(), "at the model that lacks it");
        assertTrue(e.getMessage().contains("'weight'"), e.getMessage());
        // base_model not listed is appended without parameters: linear then lacks its weight too (as in mergekit).
        RecipeException base = planFails("merge_method: linear\nbase_model: stories260K-babi\nmodels:\n"
                + "  - model: stories260K\n    parameters: {weight: 0.5}\n");
        assertEquals(2, base.line());
        assertTrue(base.getMessage().contains("stories260K-babi"), base.getMessage());
        RecipeException slerpT = planFails(TWO_MODELS + "merge_method: slerp\nbase_model: stories260K\n");
        assertTrue(slerpT.getMessage().contains("'t'"), slerpT.getMessage());
    }

    @Test
    void parameterTypeErrorsAreFoundAtPlanTime() throws IOException {
        RecipeException e = planFails("merge_method: linear\nmodels:\n  - model: stories260K\n"
                + "    parameters: {weight: 1}\nparameters:\n  normalize: [true, false]\n");
        assertEquals(6, e.line());
        RecipeException s = planFails(TWO_MODELS + "merge_method: slerp\nbase_model: stories260K\n"
                + "parameters:\n  t: halfway\n");
        assertEquals(7, s.line());
    }

    @Test
    void unknownParametersAreWarnings() throws IOException {
        MergePlan plan = plan(TWO_MODELS + "merge_method: slerp\nbase_model: stories260K\nparameters:\n"
                + "  t: 0.5\n  weight: 0.3\n");
        try {
            Predicate<String> w = s -> s.contains("line 8") && s.contains("'weight'");
            assertTrue(plan.warnings().stream().anyMatch(w), plan.warnings().toString());
        } finally {
            TestModels.close(plan);
        }
    }
}
