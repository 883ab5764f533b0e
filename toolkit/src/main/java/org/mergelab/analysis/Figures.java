package org.mergelab.analysis;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mergelab.arch.ModuleKind;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** The divergence figures as table columns, shared by the per-tensor, per-layer and per-module tables. */
final class Figures {
    /** The figure columns, in table order. */
    static final List<String> COLUMNS = List.of("cosine", "l2", "rel_change", "norm_a", "norm_b", "angle_deg",
            "norm_ratio", "sign_flip", "nonfinite_a", "nonfinite_b");

    private Figures() {}

    static Column<?>[] columns(List<TensorPairStats> stats) {
        DoubleColumn cosine = DoubleColumn.create("cosine");
        DoubleColumn l2 = DoubleColumn.create("l2");
        DoubleColumn rel = DoubleColumn.create("rel_change");
        DoubleColumn normA = DoubleColumn.create("norm_a");
        DoubleColumn normB = DoubleColumn.create("norm_b");
        DoubleColumn angle = DoubleColumn.create("angle_deg");
        DoubleColumn ratio = DoubleColumn.create("norm_ratio");
        DoubleColumn flip = DoubleColumn.create("sign_flip");
        LongColumn nfA = LongColumn.create("nonfinite_a");
        LongColumn nfB = LongColumn.create("nonfinite_b");
        for (TensorPairStats s : stats) {
            cosine.append(s.cosine());
            l2.append(s.l2());
            rel.append(s.relChange());
            normA.append(s.normA());
            normB.append(s.normB());
            angle.append(s.angleDegrees());
            ratio.append(s.normRatio());
            flip.append(s.signFlipFraction());
            nfA.append(s.nonFiniteA());
            nfB.append(s.nonFiniteB());
        }
        return new Column<?>[] {cosine, l2, rel, normA, normB, angle, ratio, flip, nfA, nfB};
    }

    /** Sums stats per module label (in the order a layer computes them): module, tensors, numel and the figures. */
    static Table rollUp(String title, StringColumn modules, List<TensorPairStats> stats) {
        Map<String, TensorPairStats> sums = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < stats.size(); i++) {
            sums.merge(modules.get(i), stats.get(i), TensorPairStats::plus);
            counts.merge(modules.get(i), 1, Integer::sum);
        }
        List<String> order = new ArrayList<>(sums.keySet());
        order.sort(Comparator.comparingInt(Figures::moduleOrder));
        StringColumn module = StringColumn.create("module");
        IntColumn tensors = IntColumn.create("tensors");
        LongColumn numel = LongColumn.create("numel");
        List<TensorPairStats> rows = new ArrayList<>();
        for (String m : order) {
            module.append(m);
            tensors.append(counts.get(m));
            numel.append(sums.get(m).numel());
            rows.add(sums.get(m));
        }
        Table t = Table.create(title, module, tensors, numel);
        t.addColumns(columns(rows));
        return t;
    }

    /** Modules in the order a layer computes them, then "all". */
    static int moduleOrder(String label) {
        for (ModuleKind k : ModuleKind.values()) {
            if (k.label().equals(label)) return k.ordinal();
        }
        return Integer.MAX_VALUE;
    }

    /** A readable axis label for a figure column. */
    static String label(String column) {
        return switch (column) {
            case "cosine" -> "cosine similarity";
            case "l2" -> "L2 distance ‖b − a‖";
            case "rel_change" -> "relative change ‖b − a‖ / ‖a‖";
            case "angle_deg" -> "angle between a and b (degrees)";
            case "norm_ratio" -> "norm ratio ‖b‖ / ‖a‖";
            case "sign_flip" -> "fraction of elements with flipped sign";
            case "norm_a" -> "‖a‖";
            case "norm_b" -> "‖b‖";
            default -> column;
        };
    }
}
