package org.mergelab.merge;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mergelab.arch.ModuleKind;
import org.mergelab.hub.ModelLocator;
import org.mergelab.io.Checkpoint;
import org.mergelab.plot.Chart;
import org.mergelab.plot.StepChart;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.Recipe;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/**
 * A recipe's parameter values for every output tensor, exactly as the merge will use them: the table is read off
 * the {@link MergePlan} that {@link Merge#run} executes, so gradients, filters and per-model settings are resolved
 * once, by the engine's own {@link org.mergelab.recipe.ParameterResolver}. Columns: {@code name, layer, module, kind,
 * position} (the layer's place in its slice, 0 to 1, where gradients are evaluated), then one column per parameter:
 * {@code t} for a shared one, {@code weight[model]} for a per-model one. Nothing is read but headers.
 *
 * <p>It lives in the merge package because it is a view of a merge plan; the analysis package reads checkpoints and
 * never depends on the merge engine.
 *
 * <pre>{@code
 * Schedule.of(Recipe.load(Path.of("recipes/stories260K/slerp-shakespeare.yml"))).plot()
 * }</pre>
 */
public final class Schedule extends Table {
    private final List<String> parameters;
    private final String method;

    private Schedule(String title, String method, List<String> parameters) {
        super(title);
        this.method = method;
        this.parameters = List.copyOf(parameters);
    }

    /** Plans the recipe (finding its models as {@link Merge#plan(Recipe)} does) and tabulates the plan. */
    public static Schedule of(Recipe recipe) {
        return closing(Merge.plan(recipe));
    }

    /** Plans the recipe with models found by {@code locator}. */
    public static Schedule of(Recipe recipe, ModelLocator locator) {
        return closing(Merge.plan(recipe, locator));
    }

    private static Schedule closing(MergePlan plan) {
        try {
            return of(plan);
        } finally {
            plan.checkpoints().values().forEach(Checkpoint::close);
        }
    }

    /** The parameter values of every task of a plan. */
    public static Schedule of(MergePlan plan) {
        Map<String, ParamSpec> specs = new LinkedHashMap<>();
        for (ParamSpec p : plan.method().parameters()) specs.put(p.name(), p);
        // Columns in the order the plan meets them: shared parameters, then per-model ones model by model.
        Map<String, Column<?>> columns = new LinkedHashMap<>();
        for (MergePlan.Task task : plan.tasks()) {
            task.shared().forEach((k, v) -> columns.computeIfAbsent(k, c -> column(c, specs.get(k))));
            for (MergePlan.Input in : task.inputs()) {
                in.parameters().forEach((k, v) -> columns.computeIfAbsent(k + "[" + in.model() + "]",
                        c -> column(c, specs.get(k))));
            }
        }
        Schedule s = new Schedule(plan.method().name() + " schedule of " + plan.recipe().where(), plan.method().name(),
                new ArrayList<>(columns.keySet()));
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        StringColumn kind = StringColumn.create("kind");
        DoubleColumn position = DoubleColumn.create("position");
        for (MergePlan.Task task : plan.tasks()) {
            name.append(task.outputName());
            if (task.layer() >= 0) layer.append(task.layer()); else layer.appendMissing();
            module.append(ModuleKind.of(task.outputName()).label());
            kind.append(task.kind().name().toLowerCase(java.util.Locale.ROOT));
            position.append(task.t());
            Map<String, Object> values = new LinkedHashMap<>(task.shared());
            for (MergePlan.Input in : task.inputs()) {
                in.parameters().forEach((k, v) -> values.put(k + "[" + in.model() + "]", v));
            }
            for (Map.Entry<String, Column<?>> c : columns.entrySet()) append(c.getValue(), values.get(c.getKey()));
        }
        s.addColumns(name, layer, module, kind, position);
        columns.values().forEach(s::addColumns);
        return s;
    }

    /** Numbers and booleans (as 0 or 1) in a number column, strings as text; unset values are missing. */
    private static Column<?> column(String name, ParamSpec spec) {
        return spec != null && spec.type() == ParamSpec.Type.STRING ? StringColumn.create(name) : DoubleColumn.create(name);
    }

    private static void append(Column<?> c, Object v) {
        if (c instanceof DoubleColumn d) {
            if (v instanceof Number n) d.append(n.doubleValue());
            else if (v instanceof Boolean b) d.append(b ? 1 : 0);
            else d.appendMissing();
        } else if (c instanceof StringColumn sc) {
            if (v == null) sc.appendMissing(); else sc.append(v.toString());
        }
    }

    /** The merge method the schedule is for. */
    public String method() {
        return method;
    }

    /** The parameter columns, in table order: "t", or "weight[model]" and so on. */
    public List<String> parameters() {
        return parameters;
    }

    /** The first parameter's schedule (t for SLERP, the first model's weight for linear...). */
    public Chart plot() {
        if (parameters.isEmpty()) throw new IllegalStateException(method + " takes no parameters: nothing to plot");
        return plot(parameters.get(0));
    }

    /**
     * One parameter by layer as step lines. Modules that get the same value at every layer share a line (for a
     * recipe with filters, that is one line per filter: attention, MLP, the rest), labelled with the modules.
     */
    public Chart plot(String parameter) {
        if (!parameters.contains(parameter) || !(column(parameter) instanceof DoubleColumn)) {
            throw new IllegalArgumentException("no numeric parameter column '" + parameter + "'; columns: " + parameters);
        }
        DoubleColumn values = doubleColumn(parameter);
        IntColumn layers = intColumn("layer");
        StringColumn modules = stringColumn("module");
        Map<String, Map<Integer, Double>> byModule = new LinkedHashMap<>();
        for (int i = 0; i < rowCount(); i++) {
            if (layers.isMissing(i) || values.isMissing(i)) continue;
            byModule.computeIfAbsent(modules.get(i), k -> new LinkedHashMap<>()).merge(layers.getInt(i),
                    values.getDouble(i), (a, b) -> a.equals(b) ? a : Double.NaN);
        }
        Map<Map<Integer, Double>, List<String>> groups = new LinkedHashMap<>();
        byModule.forEach((m, series) -> groups.computeIfAbsent(series, k -> new ArrayList<>()).add(m));
        StringColumn group = StringColumn.create("group");
        IntColumn layer = IntColumn.create("layer");
        DoubleColumn value = DoubleColumn.create("value");
        groups.forEach((series, mods) -> series.forEach((l, v) -> {
            group.append(String.join(", ", mods));
            layer.append(l);
            value.append(v);
        }));
        return StepChart.byGroup(Table.create(name(), group, layer, value), "layer", "value", "group",
                parameter + " by layer (" + method + ", as the merge will use it)", "layer", parameter);
    }
}
