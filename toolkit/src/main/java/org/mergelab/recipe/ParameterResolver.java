package org.mergelab.recipe;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decides the value a parameter takes for one tensor, as mergekit does: the first level that sets it wins, from the
 * slice sources of the model in question (where {@code models:} parameters land), to the slice, the module and the
 * recipe's top-level {@code parameters}, then the method's default. Gradients are evaluated at the layer's position
 * {@code t} in its slice; filters match substrings of the tensor name. The merge engine and the schedule table both
 * use this one resolver, so what a table shows is what a merge does.
 */
public final class ParameterResolver {
    /** Where a tensor sits in a recipe: its slice (and module, if any). */
    public record Scope(Recipe recipe, Recipe.Slice slice, Recipe.Module module) {}

    private ParameterResolver() {}

    /** A parameter looked up once per tensor, matched against the output tensor name. */
    public static Object shared(ParamSpec p, Scope scope, String outputName, double t) {
        for (Level level : levels(scope, null)) {
            Object v = evaluateIn(level, p, outputName, t, scope.recipe().where());
            if (v != null) return v;
        }
        if (p.required()) {
            throw new RecipeException(scope.recipe().where(), scope.slice().line(),
                    "missing required parameter '" + p.name() + "' for " + outputName);
        }
        return p.defaultValue();
    }

    /** A per-model parameter, matched against that model's input tensor name. */
    public static Object forModel(ParamSpec p, Scope scope, ModelRef model, String inputName, double t) {
        for (Level level : levels(scope, model)) {
            Object v = evaluateIn(level, p, inputName, t, scope.recipe().where());
            if (v != null) return v;
        }
        if (p.required()) {
            int line = scope.slice().sources().stream().filter(s -> s.model().equals(model)).mapToInt(
                    Recipe.SliceSource::line).findFirst().orElse(scope.slice().line());
            throw new RecipeException(scope.recipe().where(), line,
                    "missing required parameter '" + p.name() + "' for model " + model + " (tensor " + inputName + ")");
        }
        return p.defaultValue();
    }

    private record Level(Map<String, Setting> settings) {}

    private static List<Level> levels(Scope scope, ModelRef model) {
        List<Level> out = new ArrayList<>();
        if (model != null) {
            for (Recipe.SliceSource s : scope.slice().sources()) {
                if (s.model().equals(model)) out.add(new Level(s.parameters()));
            }
        }
        out.add(new Level(scope.slice().parameters()));
        if (scope.module() != null) out.add(new Level(scope.module().parameters()));
        out.add(new Level(scope.recipe().parameters()));
        return out;
    }

    private static Object evaluateIn(Level level, ParamSpec p, String tensorName, double t, String where) {
        Setting s = level.settings().get(p.name());
        return s == null ? null : evaluate(s, p, tensorName, t, where);
    }

    /**
     * A setting's value for a tensor at position {@code t}, or null when a conditional list has no matching filter
     * (the lookup then falls through to the next level).
     */
    public static Object evaluate(Setting s, ParamSpec p, String tensorName, double t, String where) {
        if (s instanceof Setting.Scalar sc) {
            return ParamValues.validate(p, sc.value(), where, sc.line());
        }
        if (s instanceof Setting.Gradient g) {
            if (g.values().isEmpty()) return null;
            if (!p.numeric()) {
                throw new RecipeException(where, g.line(), "parameter '" + p.name() + "' is "
                        + ParamValues.describe(p.type()) + ": a gradient (a list of values) works only for numeric"
                        + " parameters");
            }
            List<Double> v = new ArrayList<>();
            for (Object o : g.values()) v.add(((Number) ParamValues.validate(p, o, where, g.line())).doubleValue());
            double scaled = t * (v.size() - 1);
            int i0 = (int) scaled;
            int i1 = Math.min(v.size() - 1, i0 + 1);
            double frac = scaled - i0;
            double result = (1 - frac) * v.get(i0) + frac * v.get(i1);
            return ParamValues.validate(p, result, where, g.line());
        }
        for (Setting.Conditional c : ((Setting.Conditionals) s).entries()) {
            String f = c.filter();
            if (f == null || f.equals("*") || (!tensorName.isEmpty() && tensorName.contains(f))) {
                return evaluate(c.value(), p, tensorName, t, where);
            }
        }
        return null;
    }

    /** Checks every setting of {@code p} anywhere in the recipe, so type mistakes fail before any tensor is merged. */
    public static void check(Recipe recipe, ParamSpec p, List<Recipe.Slice> slices) {
        List<Map<String, Setting>> all = new ArrayList<>();
        all.add(recipe.parameters());
        if (recipe.modules() != null) all.add(recipe.singleModule().parameters());
        for (Recipe.Slice s : slices) {
            all.add(s.parameters());
            s.sources().forEach(src -> all.add(src.parameters()));
        }
        for (Map<String, Setting> m : all) {
            Setting s = m.get(p.name());
            if (s != null) checkSetting(s, p, recipe.where());
        }
    }

    private static void checkSetting(Setting s, ParamSpec p, String where) {
        if (s instanceof Setting.Conditionals cs) {
            for (Setting.Conditional c : cs.entries()) checkSetting(c.value(), p, where);
        } else {
            evaluate(s, p, "", 0.0, where);
        }
    }
}
