package org.mergelab.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mergelab.recipe.RecipeParserTest.lines;

import org.junit.jupiter.api.Test;

class ParameterResolverTest {
    private static final ParamSpec T = ParamSpec.sharedRequired("t", ParamSpec.Type.FLOAT);
    private static final ParamSpec WEIGHT = ParamSpec.perModelRequired("weight", ParamSpec.Type.FLOAT);
    private static final ParamSpec DENSITY = ParamSpec.perModel("density", ParamSpec.Type.FLOAT, 1.0);
    private static final ParamSpec NORMALIZE = ParamSpec.shared("normalize", ParamSpec.Type.BOOL, true);
    private static final ParamSpec LABEL = ParamSpec.shared("label", ParamSpec.Type.STRING, null);

    private static ParameterResolver.Scope scope(Recipe r) {
        return new ParameterResolver.Scope(r, r.slices().get(0), null);
    }

    /** A one-slice recipe over two 40-layer models with the given top-level parameters block. */
    private static Recipe slices(String... parameterLines) {
        StringBuilder sb = new StringBuilder(lines(
                "slices:",
                "  - sources:",
                "      - model: a",
                "        layer_range: [0, 40]",
                "      - model: b",
                "        layer_range: [0, 40]",
                "merge_method: slerp",
                "base_model: a",
                "parameters:"));
        for (String l : parameterLines) sb.append("  ").append(l).append('\n');
        return Recipe.parse(sb.toString());
    }

    private static double shared(Recipe r, ParamSpec p, String tensor, double t) {
        return ((Number) ParameterResolver.shared(p, scope(r), tensor, t)).doubleValue();
    }

    @Test
    void workedExampleOfSemantics23() {
        Recipe r = slices("t: [0, 0.5, 0.3, 0.7, 1]");
        String name = "model.layers.10.self_attn.q_proj.weight";
        // 40 layers in one slice: layer k sits at t = k/39.
        // Layer 10: t = 10/39; s = t*(5-1) = 40/39 = 1.0256...; i0 = 1, i1 = 2, f = 1/39;
        // value = (1 - 1/39)*0.5 + (1/39)*0.3 = (19 + 0.3)/39 = 19.3/39 = 0.494871794871...
        assertEquals(19.3 / 39, shared(r, T, name, 10.0 / 39), 1e-12);
        assertEquals(0.4949, shared(r, T, name, 10.0 / 39), 5e-5);
        // Layer 39: t = 1; s = 4, i0 = i1 = 4 -> the last knot, 1.
        assertEquals(1.0, shared(r, T, name, 39.0 / 39), 0.0);
        // Layer 0: the first knot.
        assertEquals(0.0, shared(r, T, name, 0.0), 0.0);
        // Layer 20: t = 20/39, s = 80/39, i0 = 2, f = 2/39: (37/39)*0.3 + (2/39)*0.7 = (11.1 + 1.4)/39 = 12.5/39.
        assertEquals(12.5 / 39, shared(r, T, name, 20.0 / 39), 1e-12);
        // Exactly on a knot: t = 0.75 -> s = 3 -> 0.7.
        assertEquals(0.7, shared(r, T, name, 0.75), 1e-15);
    }

    @Test
    void firstMatchingFilterWinsBySubstring() {
        Recipe r = slices(
                "t:",
                "  - filter: self_attn",
                "    value: 0.1",
                "  - filter: q_proj",
                "    value: 0.2",
                "  - filter: mlp",
                "    value: [1, 0]",
                "  - filter: \"*\"",
                "    value: 0.3",
                "  - value: 0.4");
        assertEquals(0.1, shared(r, T, "model.layers.0.self_attn.q_proj.weight", 0), 0.0,
                "both the first and the second filter match; the first wins");
        assertEquals(0.1, shared(r, T, "model.layers.3.self_attn.o_proj.weight", 0), 0.0);
        // Gradient inside a conditional: [1, 0] at t = 0.25 -> 0.75.
        assertEquals(0.75, shared(r, T, "model.layers.1.mlp.up_proj.weight", 0.25), 1e-15);
        assertEquals(0.3, shared(r, T, "model.norm.weight", 0), 0.0, "'*' matches anything, before the last entry");
        Recipe noStar = slices("t:", "  - filter: attn", "    value: 0.1", "  - value: 0.4");
        assertEquals(0.1, shared(noStar, T, "model.layers.0.self_attn.k_proj.weight", 0), 0.0, "substring match");
        assertEquals(0.4, shared(noStar, T, "model.embed_tokens.weight", 0), 0.0, "an entry without filter matches");
        Recipe noMatch = slices("t:", "  - filter: attn", "    value: 0.1");
        RecipeException e = assertThrows(RecipeException.class,
                () -> ParameterResolver.shared(T, scope(noMatch), "model.norm.weight", 0));
        assertTrue(e.getMessage().contains("missing required parameter 't'"), e.getMessage());
        assertNull(ParameterResolver.evaluate(noMatch.parameters().get("t"), T, "model.norm.weight", 0, "recipe"),
                "no filter matches: unset, not an error, at this level");
    }

    @Test
    void filtersAreCaseSensitiveAndNeverMatchAnEmptyName() {
        Recipe r = slices("t:", "  - filter: MLP", "    value: 0.9", "  - value: 0.1");
        assertEquals(0.1, shared(r, T, "model.layers.0.mlp.up_proj.weight", 0), 0.0);
        Recipe s = slices("t:", "  - filter: \"\"", "    value: 0.9", "  - value: 0.1");
        assertEquals(0.9, shared(s, T, "x", 0), 0.0, "the empty string is a substring of every name");
        // ...but a filter never matches an empty tensor name (mergekit: `tensor_name and filter in tensor_name`).
        assertEquals(0.1, ((Number) ParameterResolver.evaluate(s.parameters().get("t"), T, "", 0, "recipe")).doubleValue());
        Recipe only = slices("t:", "  - filter: mlp", "    value: 0.9");
        assertNull(ParameterResolver.evaluate(only.parameters().get("t"), T, "", 0, "recipe"));
    }

    @Test
    void precedenceSourceThenSliceThenTopLevelThenDefault() {
        Recipe r = Recipe.parse(lines(
                "slices:",
                "  - sources:",
                "      - model: a",
                "        layer_range: [0, 2]",
                "        parameters:",
                "          weight: 0.1",
                "          normalize: false",   // shared: a source level never applies to it
                "          t: 0.9",
                "      - model: b",
                "        layer_range: [0, 2]",
                "      - model: c",
                "        layer_range: [0, 2]",
                "        parameters:",
                "          weight: {filter: mlp, value: 0.5}",
                "    parameters:",
                "      weight: 0.2",
                "merge_method: linear",
                "parameters:",
                "  weight: 0.3",
                "  density: 0.6",
                "  normalize: true"));
        ParameterResolver.Scope s = scope(r);
        String n = "model.layers.0.self_attn.q_proj.weight";
        assertEquals(0.1, ParameterResolver.forModel(WEIGHT, s, ModelRef.of("a"), n, 0));
        assertEquals(0.2, ParameterResolver.forModel(WEIGHT, s, ModelRef.of("b"), n, 0), "slice over top level");
        // c's own conditional does not match an attention tensor: fall through to the slice's value.
        assertEquals(0.2, ParameterResolver.forModel(WEIGHT, s, ModelRef.of("c"), n, 0));
        assertEquals(0.5, ParameterResolver.forModel(WEIGHT, s, ModelRef.of("c"), "model.layers.0.mlp.up_proj.weight", 0));
        assertEquals(0.6, ParameterResolver.forModel(DENSITY, s, ModelRef.of("a"), n, 0), "top level");
        assertEquals(true, ParameterResolver.shared(NORMALIZE, s, n, 0),
                "shared parameters ignore per-model (source) settings");
        RecipeException e = assertThrows(RecipeException.class, () -> ParameterResolver.shared(T, s, n, 0));
        assertTrue(e.getMessage().contains("'t'"), "t is set only on a source, which shared lookups skip");

        Recipe bare = Recipe.parse(lines(
                "slices:",
                "  - sources:",
                "      - model: a",
                "        layer_range: [0, 2]",
                "merge_method: linear"));
        assertEquals(1.0, ParameterResolver.forModel(DENSITY, scope(bare), ModelRef.of("a"), n, 0), "default");
        assertEquals(true, ParameterResolver.shared(NORMALIZE, scope(bare), n, 0), "default");
        RecipeException missing = assertThrows(RecipeException.class,
                () -> ParameterResolver.forModel(WEIGHT, scope(bare), ModelRef.of("a"), n, 0));
        assertEquals(3, missing.line(), "a missing per-model parameter is reported at that model's source");
        assertTrue(missing.getMessage().contains("weight") && missing.getMessage().contains(n), missing.getMessage());
    }

    @Test
    void sliceLevelBeatsTopLevelForSharedParameters() {
        Recipe r = Recipe.parse(lines(
                "slices:",
                "  - sources:",
                "      - model: a",
                "        layer_range: [0, 2]",
                "    parameters:",
                "      normalize: false",
                "      t: [0.2, 0.8]",
                "merge_method: linear",
                "parameters:",
                "  normalize: true",
                "  t: 0.5"));
        assertEquals(false, ParameterResolver.shared(NORMALIZE, scope(r), "x", 0));
        // t = 0 (pre/post weights) takes the first value of a gradient; t = 1 (a single-layer slice) the last.
        assertEquals(0.2, shared(r, T, "model.embed_tokens.weight", 0.0), 0.0);
        assertEquals(0.8, shared(r, T, "model.layers.0.mlp.up_proj.weight", 1.0), 1e-15);
    }

    @Test
    void gradientOnABooleanParameterIsAnErrorNamingTheLine() {
        Recipe r = slices("t: 0.5", "normalize: [true, false]"); // the parameters block starts on line 10
        RecipeException e = assertThrows(RecipeException.class,
                () -> ParameterResolver.check(r, NORMALIZE, r.slices()));
        assertEquals(11, e.line());
        assertTrue(e.getMessage().contains("normalize"), e.getMessage());
        RecipeException atUse = assertThrows(RecipeException.class,
                () -> ParameterResolver.shared(NORMALIZE, scope(r), "x", 0.5));
        assertEquals(11, atUse.line());
    }

    @Test
    void nonNumericStringsAreRejectedWithTheLine() {
        Recipe r = slices("t: abc");
        RecipeException e = assertThrows(RecipeException.class, () -> ParameterResolver.check(r, T, r.slices()));
        assertEquals(10, e.line());
        assertTrue(e.getMessage().contains("abc"), e.getMessage());
        Recipe inGradient = slices("t: [0, half, 1]");
        assertEquals(10, assertThrows(RecipeException.class,
                () -> ParameterResolver.check(inGradient, T, inGradient.slices())).line());
        Recipe inConditional = slices("t:", "  - filter: mlp", "    value: 0.5", "  - value: lots");
        assertEquals(13, assertThrows(RecipeException.class,
                () -> ParameterResolver.check(inConditional, T, inConditional.slices())).line());
        // Java's number syntax is not YAML's: type suffixes and hex floats are not numbers in a recipe.
        for (String bad : new String[] {"2d", "0.5f", "1e-4F", "0x1p-2", "true"}) {
            Recipe b = slices("t: \"" + bad + "\"");
            assertThrows(RecipeException.class, () -> ParameterResolver.check(b, T, b.slices()), bad);
        }
        // Booleans are not numbers either.
        Recipe bool = slices("t: true");
        assertThrows(RecipeException.class, () -> ParameterResolver.check(bool, T, bool.slices()));
        // And numbers are not booleans, except 0 and 1.
        Recipe two = slices("t: 0.5", "normalize: 2");
        assertEquals(11, assertThrows(RecipeException.class,
                () -> ParameterResolver.check(two, NORMALIZE, two.slices())).line());
        Recipe one = slices("t: 0.5", "normalize: 0");
        assertEquals(false, ParameterResolver.shared(NORMALIZE, scope(one), "x", 0));
    }

    @Test
    void yaml11ExponentStringsAreNumbersForFloatParameters() {
        Recipe r = slices("t: 1e-4", "label: 1e-4");
        assertEquals(1e-4, shared(r, T, "x", 0), 0.0);
        assertEquals("1e-4", ParameterResolver.shared(LABEL, scope(r), "x", 0), "a string parameter keeps the text");
        // As gradient knots: ["1e-4", 1] at t = 0.5 -> (1e-4 + 1)/2 = 0.50005.
        Recipe g = slices("t: [1e-4, 1]");
        assertEquals(0.50005, shared(g, T, "x", 0.5), 1e-15);
        Recipe neg = slices("t: [-.5, 1.0e4]");
        assertEquals(-0.5, shared(neg, T, "x", 0), 0.0);
        assertEquals(1.0e4, shared(neg, T, "x", 1), 0.0);
    }

    @Test
    void integerParametersRejectFractions() {
        ParamSpec k = ParamSpec.shared("k", ParamSpec.Type.INT, 1);
        Recipe ok = slices("t: 0.5", "k: 3.0");
        assertEquals(3, ParameterResolver.shared(k, scope(ok), "x", 0));
        Recipe bad = slices("t: 0.5", "k: 2.5");
        assertEquals(11, assertThrows(RecipeException.class, () -> ParameterResolver.shared(k, scope(bad), "x", 0)).line());
    }
}
