package org.mergelab.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.DType;

class RecipeParserTest {
    /** Joins lines with '\n': line k of the recipe is element k-1. */
    static String lines(String... l) {
        return String.join("\n", l) + "\n";
    }

    private static RecipeException fails(String yaml) {
        return assertThrows(RecipeException.class, () -> Recipe.parse(yaml));
    }

    private static double num(Object o) {
        return ((Number) o).doubleValue();
    }

    @Test
    void modelsForm() {
        Recipe r = Recipe.parse(lines(
                "merge_method: linear",              // 1
                "base_model: org/base@v1.0",          // 2
                "dtype: bfloat16",                    // 3
                "out_dtype: float16",                 // 4
                "models:",                            // 5
                "  - model: org/a@main",              // 6
                "    parameters:",                    // 7
                "      weight: 0.7",                  // 8
                "  - model: ./local/b",               // 9
                "    parameters:",                    // 10
                "      weight: [0, 0.5, 1]",          // 11
                "parameters:",                        // 12
                "  normalize: false"));               // 13
        assertEquals("linear", r.mergeMethod());
        assertEquals(1, r.mergeMethodLine());
        assertEquals(new ModelRef("org/base", "v1.0", null, null), r.baseModel());
        assertEquals(2, r.baseModelLine());
        assertEquals(DType.BF16, r.dtype());
        assertEquals(DType.F16, r.outDtype());
        assertNull(r.slices());
        assertNull(r.modules());
        assertEquals(2, r.models().size());

        Recipe.ModelEntry a = r.models().get(0);
        assertEquals(new ModelRef("org/a", "main", null, null), a.model());
        assertEquals(6, a.line());
        Setting.Scalar w = assertInstanceOf(Setting.Scalar.class, a.parameters().get("weight"));
        assertEquals(0.7, num(w.value()));
        assertEquals(8, w.line());

        Recipe.ModelEntry b = r.models().get(1);
        assertEquals(ModelRef.of("./local/b"), b.model());
        assertNull(b.model().revision());
        Setting.Gradient g = assertInstanceOf(Setting.Gradient.class, b.parameters().get("weight"));
        assertEquals(3, g.values().size());
        assertEquals(0.0, num(g.values().get(0)));
        assertEquals(0.5, num(g.values().get(1)));
        assertEquals(1.0, num(g.values().get(2)));
        assertEquals(11, g.line());

        Setting.Scalar norm = assertInstanceOf(Setting.Scalar.class, r.parameters().get("normalize"));
        assertEquals(Boolean.FALSE, norm.value());
        assertEquals(List.of(new ModelRef("org/base", "v1.0", null, null), new ModelRef("org/a", "main", null, null),
                ModelRef.of("./local/b")), r.referencedModels());
        assertEquals(List.of(), r.warnings());
        assertEquals(6, r.lineOf(new ModelRef("org/a", "main", null, null)));
        assertEquals(2, r.lineOf(new ModelRef("org/base", "v1.0", null, null)));
    }

    @Test
    void modelsFormAppendsTheBaseAsAParameterlessSource() {
        Recipe r = Recipe.parse(lines(
                "merge_method: linear",
                "base_model: base",
                "models:",
                "  - model: a",
                "    parameters: {weight: 1}"));
        List<Recipe.Slice> s = r.slicesFor(m -> m.model().equals("a") ? 5 : 7);
        assertEquals(1, s.size());
        List<Recipe.SliceSource> src = s.get(0).sources();
        assertEquals(2, src.size());
        assertEquals(ModelRef.of("a"), src.get(0).model());
        assertEquals(0, src.get(0).start());
        assertEquals(5, src.get(0).end());
        assertEquals(ModelRef.of("base"), src.get(1).model());
        assertEquals(7, src.get(1).end());
        assertTrue(src.get(1).parameters().isEmpty());
    }

    @Test
    void slicesFormWithFilterListsAndABareConditional() {
        Recipe r = Recipe.parse(lines(
                "slices:",                                   // 1
                "  - sources:",                              // 2
                "      - model: m1",                         // 3
                "        layer_range: [0, 4]",               // 4
                "      - model: m2@rev2",                    // 5
                "        layer_range: [2, 6]",               // 6
                "        parameters:",                       // 7
                "          t: {filter: mlp, value: 0.9}",    // 8
                "    base_model: m1",                        // 9
                "    parameters:",                           // 10
                "      t:",                                  // 11
                "        - filter: self_attn",               // 12
                "          value: [0, 1]",                   // 13
                "        - value: 0.5",                      // 14
                "merge_method: slerp",                       // 15
                "base_model: m2@rev2"));                     // 16
        assertNull(r.models());
        assertEquals(1, r.slices().size());
        Recipe.Slice s = r.slices().get(0);
        assertEquals(2, s.line());
        assertEquals(ModelRef.of("m1"), s.baseModel());
        assertEquals(ModelRef.of("m1"), r.baseModelOf(s), "a slice's own base_model wins");
        Recipe.SliceSource s1 = s.sources().get(0), s2 = s.sources().get(1);
        assertEquals(3, s1.line());
        assertEquals(0, s1.start());
        assertEquals(4, s1.end());
        assertEquals(4, s1.length());
        assertEquals(new ModelRef("m2", "rev2", null, null), s2.model());
        assertEquals(5, s2.line());
        assertEquals(2, s2.start());
        assertEquals(6, s2.end());

        Setting.Conditionals bare = assertInstanceOf(Setting.Conditionals.class, s2.parameters().get("t"));
        assertEquals(1, bare.entries().size());
        assertEquals("mlp", bare.entries().get(0).filter());
        assertEquals(0.9, num(((Setting.Scalar) bare.entries().get(0).value()).value()));

        Setting.Conditionals list = assertInstanceOf(Setting.Conditionals.class, s.parameters().get("t"));
        assertEquals(2, list.entries().size());
        assertEquals("self_attn", list.entries().get(0).filter());
        assertEquals(12, list.entries().get(0).line());
        Setting.Gradient g = assertInstanceOf(Setting.Gradient.class, list.entries().get(0).value());
        assertEquals(2, g.values().size());
        assertNull(list.entries().get(1).filter(), "an entry without filter matches everything");
        assertEquals(0.5, num(((Setting.Scalar) list.entries().get(1).value()).value()));
        assertEquals(List.of(new ModelRef("m2", "rev2", null, null), ModelRef.of("m1")), r.referencedModels());
    }

    @Test
    void modelReferences() {
        assertEquals(new ModelRef("org/m", "refs/pr/1", null, null), ModelRef.parse("org/m@refs/pr/1"));
        assertEquals(new ModelRef("org/m", "v1", "org/lora", "v2"), ModelRef.parse("org/m@v1+org/lora@v2"));
        assertEquals("org/m@v1+org/lora@v2", ModelRef.parse("org/m@v1+org/lora@v2").toString());
        assertThrows(IllegalArgumentException.class, () -> ModelRef.parse("a@b@c"));
        assertThrows(IllegalArgumentException.class, () -> ModelRef.parse("a+b+c"));
        Recipe r = Recipe.parse(lines("merge_method: linear", "models:", "  - model: {model: org/x@dev}"));
        assertEquals(new ModelRef("org/x", "dev", null, null), r.models().get(0).model());
        RecipeException e = fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a@b@c"));
        assertEquals(3, e.line());
    }

    @Test
    void unknownTopLevelKeysAreWarningsNamingTheLine() {
        Recipe r = Recipe.parse(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "    parameters: {weight: 1}",
                "frobnicate: true",                  // 5
                "base_modle: a"));                   // 6
        assertEquals(2, r.warnings().size());
        assertTrue(r.warnings().get(0).contains("line 5") && r.warnings().get(0).contains("frobnicate"),
                r.warnings().get(0));
        assertTrue(r.warnings().get(1).contains("line 6") && r.warnings().get(1).contains("base_modle"),
                r.warnings().get(1));
        assertNull(r.baseModel());
    }

    @Test
    void yamlSyntaxErrorsNameTheLine() {
        // "mapping values are not allowed here": the second ':' on line 4.
        RecipeException e = fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "    parameters: weight: 1"));
        assertEquals(4, e.line());
        assertTrue(e.getMessage().startsWith("recipe line 4: "), e.getMessage());
        // A tab used as indentation: YAML forbids it, the scanner stops on line 3.
        RecipeException tab = fails(lines(
                "merge_method: linear",
                "models:",
                "\t- model: a"));
        assertEquals(3, tab.line(), tab.getMessage());
    }

    @Test
    void structuralErrorsNameTheLine() {
        assertEquals(2, fails(lines("merge_method: linear", "models: 5")).line());
        assertEquals(3, fails(lines(
                "merge_method: linear",
                "models:",
                "  - parameters: {weight: 1}")).line(), "an entry without model");
        assertEquals(4, fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "    weights: {weight: 1}")).line(), "unknown key inside an entry is an error, at the key");
        String slice = "slices:\n  - sources:\n      - model: a\n";
        assertEquals(4, fails(slice + "        layer_range: [0]\nmerge_method: slerp\n").line());
        assertEquals(4, fails(slice + "        layer_range: [3, 1]\nmerge_method: slerp\n").line());
        assertEquals(4, fails(slice + "        layer_range: [0, x]\nmerge_method: slerp\n").line());
        assertEquals(3, fails(slice + "merge_method: slerp\n").line(), "a source without layer_range");
        RecipeException dtype = fails(lines(
                "merge_method: linear",
                "dtype: int8",
                "models:",
                "  - model: a"));
        assertEquals(2, dtype.line());
        assertTrue(dtype.getMessage().contains("int8"), dtype.getMessage());
        assertEquals(5, fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "    parameters:",
                "      weight: [1, {filter: x, value: 2}]")).line(), "a list mixing values and conditionals");
        assertEquals(1, fails(lines("- just", "- a list")).line(), "a recipe must be a mapping");
    }

    @Test
    void wholeRecipeErrors() {
        RecipeException both = fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "slices:",
                "  - sources:",
                "      - model: a",
                "        layer_range: [0, 1]"));
        assertTrue(both.getMessage().contains("exactly one of"), both.getMessage());
        RecipeException none = fails(lines("merge_method: linear"));
        assertTrue(none.getMessage().contains("exactly one of"), none.getMessage());
        RecipeException noMethod = fails(lines("models:", "  - model: a"));
        assertTrue(noMethod.getMessage().contains("merge_method"), noMethod.getMessage());
        RecipeException both2 = fails(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "tokenizer_source: base",
                "tokenizer:",             // 5
                "  source: union"));
        assertEquals(5, both2.line());
    }

    @Test
    void yamlScalarsFollowYaml11() {
        Recipe r = Recipe.parse(lines(
                "merge_method: linear",
                "models:",
                "  - model: a",
                "    parameters:",
                "      weight: 1e-4",     // YAML 1.1 (PyYAML): not a float, because there is no '.'
                "      other: 1.0e-4",    // a float
                "      big: 1.0e4",       // a string again: PyYAML's exponent needs a sign
                "      half: .5",         // a float
                "      flag: yes",        // a YAML 1.1 boolean
                "      filt: {filter: 1e3, value: 2}"));
        var p = r.models().get(0).parameters();
        assertEquals("1e-4", ((Setting.Scalar) p.get("weight")).value());
        assertEquals(1.0e-4, num(((Setting.Scalar) p.get("other")).value()));
        assertEquals("1.0e4", ((Setting.Scalar) p.get("big")).value());
        assertEquals(0.5, num(((Setting.Scalar) p.get("half")).value()));
        assertEquals(Boolean.TRUE, ((Setting.Scalar) p.get("flag")).value());
        assertEquals("1e3", ((Setting.Conditionals) p.get("filt")).entries().get(0).filter(),
                "a filter is matched as text, so it must keep the text as written");
        // Explicitly tagged values are left alone.
        Recipe tagged = Recipe.parse(lines("merge_method: linear", "models:", "  - model: a",
                "    parameters: {weight: !!float 1e-4}"));
        assertEquals(1.0e-4, num(((Setting.Scalar) tagged.models().get(0).parameters().get("weight")).value()));
    }

    @Test
    void loadedRecipesKeepTheirTextAndNameTheirFile(@TempDir Path dir) throws IOException {
        String text = lines("# comment", "merge_method: linear", "models:", "  - model: a", "    parameters:",
                "      weight: nope");
        Path file = Files.writeString(dir.resolve("r.yml"), text);
        Recipe r = Recipe.load(file);
        assertEquals(text, r.text());
        assertEquals(file, r.file());
        assertEquals(file.toString(), r.where());
        Path bad = Files.writeString(dir.resolve("bad.yml"), lines("merge_method: linear", "models: 5"));
        RecipeException e = assertThrows(RecipeException.class, () -> Recipe.load(bad));
        assertTrue(e.getMessage().startsWith(bad + " line 2: "), e.getMessage());
    }
}
