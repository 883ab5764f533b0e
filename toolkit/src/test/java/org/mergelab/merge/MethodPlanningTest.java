package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.ModelLocator;
import org.mergelab.io.DType;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;

/**
 * The planner refuses what mergekit 0.1.5 refuses (input contracts, parameter ranges), before any tensor is read,
 * with the recipe line; and the methods' registry, parameters and result dtypes are mergekit's.
 */
class MethodPlanningTest {
    @TempDir
    Path tmp;

    private MergePlan plan(String text) throws IOException {
        Path f = Files.writeString(tmp.resolve("r.yml"), text);
        return Merge.plan(Recipe.load(f), new ModelLocator(List.of(MethodConformanceTest.models())));
    }

    private RecipeException refused(String text) {
        return assertThrows(RecipeException.class, () -> TestModels.close(plan(text)));
    }

    @Test
    void everyMergekitMethodIsRegistered() {
        assertEquals(List.of("linear", "slerp", "nuslerp", "multislerp", "karcher", "task_arithmetic", "ties",
                "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "sce", "ram",
                "ramplus_tl", "model_stock", "nearswap", "arcee_fusion", "passthrough"), Methods.names());
    }

    @Test
    void parameterScopesAndDefaultsAreMergekits() {
        MergeMethod ties = Methods.byName("ties").orElseThrow();
        Map<String, ParamSpec> p = new java.util.HashMap<>();
        ties.parameters().forEach(s -> p.put(s.name(), s));
        assertTrue(p.get("weight").perModel() && !p.get("weight").includeBase() && p.get("weight").required());
        assertEquals(1.0, p.get("density").defaultValue());
        assertEquals(true, p.get("normalize").defaultValue());
        assertEquals(false, p.get("rescale").defaultValue());
        MergeMethod dare = Methods.byName("dare_ties").orElseThrow();
        assertEquals(true, dare.parameters().stream().filter(s -> s.name().equals("rescale")).findFirst().orElseThrow()
                .defaultValue());
        assertEquals(0.15, Methods.byName("della").orElseThrow().parameters().stream()
                .filter(s -> s.name().equals("epsilon")).findFirst().orElseThrow().defaultValue());
        assertEquals(0.01, Methods.byName("breadcrumbs_ties").orElseThrow().parameters().stream()
                .filter(s -> s.name().equals("gamma")).findFirst().orElseThrow().defaultValue());
        assertTrue(Methods.byName("linear").orElseThrow().parameters().get(0).includeBase(), "linear weights every input");
        assertEquals(DType.F32, Methods.byName("arcee_fusion").orElseThrow().resultDtype(DType.BF16));
        assertEquals(DType.F32, Methods.byName("ramplus_tl").orElseThrow().resultDtype(DType.BF16));
        assertEquals(DType.BF16, Methods.byName("ram").orElseThrow().resultDtype(DType.BF16));
    }

    @Test
    void slerpTakesExactlyTwoModels() {
        RecipeException e = refused("""
                models:
                  - model: llama-base
                  - model: llama-a
                  - model: llama-b
                merge_method: slerp
                base_model: llama-base
                parameters: {t: 0.5}
                """);
        assertTrue(e.getMessage().contains("slerp merges exactly 2 models") && e.getMessage().contains("gives it 3"),
                e.getMessage());
        assertEquals(2, e.line());
    }

    @Test
    void nuslerpsBaseMustBeAThirdModel() {
        RecipeException e = refused("""
                models:
                  - model: llama-base
                    parameters: {weight: 0.5}
                  - model: llama-a
                    parameters: {weight: 0.5}
                merge_method: nuslerp
                base_model: llama-base
                """);
        assertTrue(e.getMessage().contains("nuslerp merges exactly 2 models besides its base model")
                && e.getMessage().contains("must be another model"), e.getMessage());
    }

    @Test
    void modelStockNeedsABaseAndTwoOthers() {
        RecipeException e = refused("""
                models:
                  - model: llama-a
                merge_method: model_stock
                base_model: llama-base
                """);
        assertTrue(e.getMessage().contains("model_stock merges at least 3 models") && e.getMessage().contains("2"),
                e.getMessage());
    }

    @Test
    void theTaskArithmeticFamilyNeedsABase() {
        RecipeException e = refused("""
                models:
                  - model: llama-a
                    parameters: {weight: 1.0}
                merge_method: ties
                """);
        assertTrue(e.getMessage().contains("ties needs a base_model"), e.getMessage());
        assertEquals(4, e.line(), "the merge_method line");
        RecipeException notAmong = refused("""
                slices:
                  - sources:
                      - model: llama-a
                        layer_range: [0, 2]
                        parameters: {weight: 1.0}
                      - model: llama-b
                        layer_range: [0, 2]
                        parameters: {weight: 1.0}
                merge_method: task_arithmetic
                base_model: llama-base
                """);
        assertTrue(notAmong.getMessage().contains("base_model llama-base is not among the models"),
                notAmong.getMessage());
        assertEquals(10, notAmong.line());
    }

    @Test
    void dellaEpsilonMustKeepDensityPlusMinusEpsilonInsideZeroOne() {
        RecipeException e = refused("""
                models:
                  - model: llama-a
                    parameters:
                      weight: 1.0
                      density: 0.6
                      epsilon: 0.45
                merge_method: della
                base_model: llama-base
                """);
        assertTrue(e.getMessage().contains("density ± epsilon") && e.getMessage().contains("llama-a"), e.getMessage());
        assertEquals(6, e.line(), "the epsilon line");
        RecipeException global = refused("""
                models:
                  - model: llama-a
                    parameters: {weight: 1.0, density: 0.1}
                merge_method: della_linear
                base_model: llama-base
                parameters:
                  epsilon: 0.15
                """);
        assertEquals(7, global.line(), "the epsilon setting under parameters:");
    }

    @Test
    void densityZeroIsWarnedAbout() throws IOException {
        MergePlan p = plan("""
                models:
                  - model: llama-a
                    parameters: {weight: 1.0, density: 0.0}
                  - model: llama-b
                    parameters: {weight: 1.0, density: 0.5}
                merge_method: ties
                base_model: llama-base
                """);
        TestModels.close(p);
        List<String> w = p.warnings().stream().filter(s -> s.contains("keeps nothing")).toList();
        assertEquals(1, w.size(), p.warnings().toString());
        assertTrue(w.get(0).contains("line 3") && w.get(0).contains("llama-a"), w.get(0));
    }

    @Test
    void arceeFusionAndRamPlusWriteFloat32LikeMergekitUnlessOutDtypeIsSet() throws IOException {
        MergePlan p = plan("""
                models:
                  - model: llama-base
                  - model: llama-a
                merge_method: arcee_fusion
                base_model: llama-base
                dtype: bfloat16
                """);
        TestModels.close(p);
        assertTrue(p.tasks().stream().allMatch(t -> t.outDtype() == DType.F32 && t.workDtype() == DType.BF16));
        MergePlan q = plan("""
                models:
                  - model: llama-a
                  - model: llama-b
                merge_method: ramplus_tl
                base_model: llama-base
                dtype: bfloat16
                out_dtype: bfloat16
                """);
        TestModels.close(q);
        assertTrue(q.tasks().stream().allMatch(t -> t.outDtype() == DType.BF16 && t.resultDtype() == DType.F32));
    }

    @Test
    void multislerpRefusesCancellingDirectionsNamingTheTensor() {
        float[] a = {1f, 2f, -1f}, b = {-1f, -2f, 1f}, c = {0f, 0f, 0f};
        TensorInputs in = new TensorInputs("model.norm.weight", new long[] {3}, List.of(a, b, c),
                List.of("x", "y", "z"), -1, Map.of("normalize_weights", true, "eps", 1e-8),
                List.of(Map.of("weight", 1.0), Map.of("weight", 1.0), Map.of("weight", 1.0)), DType.F32,
                RandomStreams.seeded(0), Set.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MultiSlerpMerge().merge(in));
        assertTrue(e.getMessage().contains("weighted sum of the input tensors is zero"), e.getMessage());
        // two cancelling models fall back to the linear average, as in mergekit
        TensorInputs two = new TensorInputs("w", new long[] {3}, List.of(a, b), List.of("x", "y"), -1,
                Map.of("normalize_weights", true, "eps", 1e-8), List.of(Map.of("weight", 1.0), Map.of("weight", 1.0)),
                DType.F32, RandomStreams.seeded(0), Set.of());
        float[] out = new MultiSlerpMerge().merge(two);
        for (float v : out) assertEquals(0f, v, 0f);
    }
}
