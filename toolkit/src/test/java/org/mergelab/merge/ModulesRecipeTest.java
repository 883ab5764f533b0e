package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;

/** The {@code modules:} form of a recipe, for the single module ("default") MergeLab's architectures have. */
class ModulesRecipeTest {
    @TempDir
    static Path dir;
    static Path base;
    static Path tuned;

    @BeforeAll
    static void models() {
        base = DemoModels.ensure("stories260K", dir);
        tuned = DemoModels.ensure("stories260K-shakespeare", dir);
    }

    @Test
    void aDefaultModuleMergesLikeTheSameRecipeWithoutIt() {
        String models = "      - model: " + base + "\n        parameters: {weight: 0.7}\n"
                + "      - model: " + tuned + "\n        parameters: {weight: 0.3}\n";
        Recipe plain = Recipe.parse("merge_method: linear\nmodels:\n" + models.replace("      ", "  "));
        Recipe moduled = Recipe.parse("merge_method: linear\nmodules:\n  default:\n    models:\n"
                + models.replace("      ", "      "));
        var a = Merge.inMemory(plain).tensors();
        var b = Merge.inMemory(moduled).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String n : a.keySet()) assertArrayEquals(a.get(n).data(), b.get(n).data(), n);
    }

    @Test
    void moduleParametersRankBetweenTheSliceAndTheRecipe() {
        String slices = "    slices:\n      - sources:\n          - model: " + base + "\n            layer_range: [0, 5]\n"
                + "          - model: " + tuned + "\n            layer_range: [0, 5]\n";
        // t: the module says 0.25, the recipe 0.9: the module wins; layer_range slices update num_hidden_layers.
        Recipe r = Recipe.parse("merge_method: slerp\nbase_model: " + base + "\nparameters:\n  t: 0.9\n"
                + "modules:\n  default:\n    parameters:\n      t: 0.25\n" + slices);
        MergePlan plan = Merge.plan(r);
        assertTrue(plan.tasks().stream().allMatch(t -> ((Number) t.shared().get("t")).doubleValue() == 0.25));
        assertEquals(5, plan.outConfig().get("num_hidden_layers").asInt());
        plan.checkpoints().values().forEach(org.mergelab.io.Checkpoint::close);
    }

    @Test
    void otherModulesAreRefusedWithTheLine() {
        Recipe r = Recipe.parse("merge_method: linear\nmodules:\n  vision_tower:\n    models:\n      - model: " + base
                + "\n");
        RecipeException e = assertThrows(RecipeException.class, () -> Merge.plan(r));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("'default'"), e.getMessage());
    }
}
