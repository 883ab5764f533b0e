package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import org.mergelab.arch.ModuleKind;
import java.util.Map;
import java.util.TreeMap;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Divergence rolled up per layer: one row per (layer, module) and one "all" row per layer, with
 * {@code layer, module, tensors, numel, cosine, l2, rel_change, norm_a, norm_b}. A module's cosine is the cosine
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
        Map<Integer, Map<String, TensorPairStats>> byLayer = new TreeMap<>();
        Map<Integer, Map<String, Integer>> counts = new TreeMap<>();
        IntColumn layers = d.intColumn("layer");
        StringColumn modules = d.stringColumn("module");
        for (int i = 0; i < d.rowCount(); i++) {
            if (layers.isMissing(i)) continue;
            int layer = layers.getInt(i);
            for (String m : new String[] {modules.get(i), "all"}) {
                byLayer.computeIfAbsent(layer, k -> new LinkedHashMap<>()).merge(m, d.stats(i), TensorPairStats::plus);
                counts.computeIfAbsent(layer, k -> new LinkedHashMap<>()).merge(m, 1, Integer::sum);
            }
        }
        LayerDivergence t = new LayerDivergence(d.modelA(), d.modelB());
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        IntColumn tensors = IntColumn.create("tensors");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn cosine = DoubleColumn.create("cosine");
        DoubleColumn l2 = DoubleColumn.create("l2");
        DoubleColumn rel = DoubleColumn.create("rel_change");
        DoubleColumn normA = DoubleColumn.create("norm_a");
        DoubleColumn normB = DoubleColumn.create("norm_b");
        for (Map.Entry<Integer, Map<String, TensorPairStats>> e : byLayer.entrySet()) {
            List<Map.Entry<String, TensorPairStats>> ordered = new ArrayList<>(e.getValue().entrySet());
            ordered.sort(Comparator.comparingInt(m -> moduleOrder(m.getKey())));
            for (Map.Entry<String, TensorPairStats> m : ordered) {
                TensorPairStats s = m.getValue();
                layer.append(e.getKey());
                module.append(m.getKey());
                tensors.append(counts.get(e.getKey()).get(m.getKey()));
                numel.append(s.numel());
                cosine.append(s.cosine());
                l2.append(s.l2());
                rel.append(s.relChange());
                normA.append(s.normA());
                normB.append(s.normB());
            }
        }
        t.addColumns(layer, module, tensors, numel, cosine, l2, rel, normA, normB);
        return t;
    }

    /** Modules in the order a layer computes them, then the whole layer. */
    private static int moduleOrder(String label) {
        for (ModuleKind k : ModuleKind.values()) {
            if (k.label().equals(label)) return k.ordinal();
        }
        return Integer.MAX_VALUE;
    }

    /** Cosine similarity by layer, one line per module. */
    public Chart plot() {
        return plot("cosine");
    }

    /** {@code column} (cosine, l2, rel_change, norm_a, norm_b) by layer, one line per module. */
    public Chart plot(String column) {
        String label = switch (column) {
            case "cosine" -> "cosine similarity";
            case "l2" -> "L2 distance ‖b − a‖";
            case "rel_change" -> "relative change ‖b − a‖ / ‖a‖";
            default -> column;
        };
        return LineChart.byGroup(this, "layer", column, "module",
                label + ": " + nameB + " vs " + nameA, "layer", label);
    }
}
