package org.mergelab.analysis;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import org.mergelab.arch.ModuleKind;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Where the fine-tunes' task vectors disagree in sign, tensor by tensor ({@code name, layer, module, numel,
 * conflict, conflict_trimmed, dropped_mass}; see {@link TaskVectors#signConflicts()}), with roll-ups by layer and
 * over the whole model.
 */
public final class SignConflicts extends Table {
    private final String base;
    private final double density;
    private final long[][] counts;
    private final double[][] mass;

    private SignConflicts(String title, String base, double density, long[][] counts, double[][] mass) {
        super(title);
        this.base = base;
        this.density = density;
        this.counts = counts;
        this.mass = mass;
    }

    static SignConflicts perTensor(String base, List<String> models, double density, List<String> names,
                                   List<long[]> counts, List<double[]> mass) {
        SignConflicts t = new SignConflicts("sign conflicts among " + String.join(", ", models) + " (task vectors"
                + " against " + base + ", trimmed to density " + density + ")", base, density,
                counts.toArray(new long[0][]), mass.toArray(new double[0][]));
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        for (String n : names) {
            name.append(n);
            OptionalInt l = ModuleKind.layerOf(n);
            if (l.isPresent()) layer.append(l.getAsInt()); else layer.appendMissing();
            module.append(ModuleKind.of(n).label());
        }
        t.addColumns(name, layer, module);
        t.addColumns(figures(t.counts, t.mass));
        return t;
    }

    private static tech.tablesaw.columns.Column<?>[] figures(long[][] counts, double[][] mass) {
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn conflict = DoubleColumn.create("conflict");
        DoubleColumn trimmed = DoubleColumn.create("conflict_trimmed");
        DoubleColumn dropped = DoubleColumn.create("dropped_mass");
        for (int i = 0; i < counts.length; i++) {
            numel.append(counts[i][0]);
            conflict.append(counts[i][0] == 0 ? Double.NaN : (double) counts[i][1] / counts[i][0]);
            trimmed.append(counts[i][0] == 0 ? Double.NaN : (double) counts[i][2] / counts[i][0]);
            dropped.append(mass[i][0] == 0 ? Double.NaN : mass[i][1] / mass[i][0]);
        }
        return new tech.tablesaw.columns.Column<?>[] {numel, conflict, trimmed, dropped};
    }

    /** The whole model's rates: one row. */
    public Table total() {
        long[] c = new long[3];
        double[] m = new double[2];
        for (int i = 0; i < counts.length; i++) {
            for (int k = 0; k < 3; k++) c[k] += counts[i][k];
            m[0] += mass[i][0];
            m[1] += mass[i][1];
        }
        Table t = Table.create("sign conflicts over the whole model");
        t.addColumns(figures(new long[][] {c}, new double[][] {m}));
        return t;
    }

    /** The rates per layer (all of a layer's tensors together), with a chart. */
    public Layers byLayer() {
        Map<Integer, long[]> c = new TreeMap<>();
        Map<Integer, double[]> m = new TreeMap<>();
        IntColumn layers = intColumn("layer");
        for (int i = 0; i < rowCount(); i++) {
            if (layers.isMissing(i)) continue;
            long[] cc = c.computeIfAbsent(layers.getInt(i), k -> new long[3]);
            double[] mm = m.computeIfAbsent(layers.getInt(i), k -> new double[2]);
            for (int k = 0; k < 3; k++) cc[k] += counts[i][k];
            mm[0] += mass[i][0];
            mm[1] += mass[i][1];
        }
        IntColumn layer = IntColumn.create("layer");
        c.keySet().forEach(layer::append);
        Layers t = new Layers(name() + " by layer", density);
        t.addColumns(layer);
        t.addColumns(figures(c.values().toArray(new long[0][]), m.values().toArray(new double[0][])));
        return t;
    }

    /** Sign conflicts per layer. */
    public static final class Layers extends Table {
        private final double density;

        private Layers(String name, double density) {
            super(name);
            this.density = density;
        }

        /** Conflict rates by layer before and after trimming, and the share of trimmed mass TIES drops. */
        public Chart plot() {
            StringColumn series = StringColumn.create("series");
            IntColumn layer = IntColumn.create("layer");
            DoubleColumn value = DoubleColumn.create("value");
            String[][] cols = {{"conflict", "signs disagree (all entries)"},
                    {"conflict_trimmed", "signs disagree after trimming to density " + density},
                    {"dropped_mass", "trimmed |δ| mass that loses the sign election"}};
            for (String[] c : cols) {
                for (int i = 0; i < rowCount(); i++) {
                    series.append(c[1]);
                    layer.append(intColumn("layer").getInt(i));
                    value.append(doubleColumn(c[0]).getDouble(i));
                }
            }
            return LineChart.byGroup(Table.create(name(), series, layer, value), "layer", "value", "series",
                    "TIES sign conflicts by layer", "layer", "fraction");
        }
    }
}
