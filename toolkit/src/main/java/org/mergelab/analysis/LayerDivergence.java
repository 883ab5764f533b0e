package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.mergelab.plot.Chart;
import org.mergelab.plot.Heatmap;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Divergence rolled up per layer: one row per (layer, module) and one "all" row per layer, with
 * {@code layer, module, tensors, numel} and the figures of {@link Divergence} ({@code cosine, l2, rel_change,
 * norm_a, norm_b, angle_deg, norm_ratio, sign_flip, nonfinite_a, nonfinite_b}). A module's cosine is the cosine
 * of its tensors taken together as one vector (from summed dot products and squared norms), not a mean of cosines.
 */
public final class LayerDivergence extends Table {
    private final String nameA;
    private final String nameB;

    private LayerDivergence(String nameA, String nameB) {
        super("divergence of " + nameB + " from " + nameA + " by layer");
        this.nameA = nameA;
        this.nameB = nameB;
    }

    static LayerDivergence of(Divergence d) {
        List<TensorPairStats> stats = new ArrayList<>();
        for (int i = 0; i < d.rowCount(); i++) stats.add(d.stats(i));
        LayerDivergence t = new LayerDivergence(d.modelA(), d.modelB());
        fill(t, d.intColumn("layer"), d.stringColumn("module"), stats);
        return t;
    }

    /** Adds {@code layer, module, tensors, numel} and the figure columns to {@code t}, summing stats per layer. */
    static void fill(Table t, IntColumn layers, StringColumn modules, List<TensorPairStats> stats) {
        Map<Integer, Map<String, TensorPairStats>> byLayer = new TreeMap<>();
        Map<Integer, Map<String, Integer>> counts = new TreeMap<>();
        for (int i = 0; i < stats.size(); i++) {
            if (layers.isMissing(i)) continue;
            int layer = layers.getInt(i);
            for (String m : new String[] {modules.get(i), "all"}) {
                byLayer.computeIfAbsent(layer, k -> new LinkedHashMap<>()).merge(m, stats.get(i), TensorPairStats::plus);
                counts.computeIfAbsent(layer, k -> new LinkedHashMap<>()).merge(m, 1, Integer::sum);
            }
        }
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        IntColumn tensors = IntColumn.create("tensors");
        LongColumn numel = LongColumn.create("numel");
        List<TensorPairStats> rows = new ArrayList<>();
        for (Map.Entry<Integer, Map<String, TensorPairStats>> e : byLayer.entrySet()) {
            List<Map.Entry<String, TensorPairStats>> ordered = new ArrayList<>(e.getValue().entrySet());
            ordered.sort(Comparator.comparingInt(m -> Figures.moduleOrder(m.getKey())));
            for (Map.Entry<String, TensorPairStats> m : ordered) {
                layer.append(e.getKey());
                module.append(m.getKey());
                tensors.append(counts.get(e.getKey()).get(m.getKey()));
                numel.append(m.getValue().numel());
                rows.add(m.getValue());
            }
        }
        t.addColumns(layer, module, tensors, numel);
        t.addColumns(Figures.columns(rows));
    }

    /** Cosine similarity by layer, one line per module. */
    public Chart plot() {
        return plot("cosine");
    }

    /** {@code column} (cosine, l2, rel_change, angle_deg, norm_ratio, sign_flip...) by layer, one line per module. */
    public Chart plot(String column) {
        String label = Figures.label(column);
        return LineChart.byGroup(this, "layer", column, "module", label + ": " + nameB + " vs " + nameA, "layer", label);
    }

    /** Relative change as a layer × module heat map: where the model moved, at a glance. */
    public Chart heatmap() {
        return heatmap("rel_change");
    }

    /** {@code column} as a layer × module heat map (the "all" rows left out). */
    public Chart heatmap(String column) {
        Table cells = where(stringColumn("module").isNotEqualTo("all"));
        String label = Figures.label(column);
        return Heatmap.of(cells, "module", "layer", column, label + ": " + nameB + " vs " + nameA, "module", "layer",
                label);
    }
}
