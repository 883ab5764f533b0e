package org.mergelab.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mergelab.arch.ModuleKind;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.TensorInfo;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Two or more models against one reference (a base and its fine-tunes, say), in one pass: the reference is read
 * once and each chunk of it is compared with the same chunk of every model. One row per (model, tensor) with the
 * columns of {@link Divergence} after a leading {@code model} column.
 *
 * <pre>{@code
 * var d = Divergences.against(base, shakespeare, babi, fables);
 * d.totals()                        // one row per model: which moved most
 * d.byLayer().plot("rel_change")    // one line per model
 * d.pair("stories260K-babi").byLayer().heatmap()
 * }</pre>
 */
public final class Divergences extends Table {
    private final String reference;
    private final List<String> models;
    private final List<Divergence> pairs;
    private final Table unmatched;

    private Divergences(String reference, List<String> models, List<Divergence> pairs) {
        super("divergence from " + reference);
        this.reference = reference;
        this.models = List.copyOf(models);
        this.pairs = List.copyOf(pairs);
        StringColumn model = StringColumn.create("model");
        StringColumn uModel = StringColumn.create("model");
        Table rows = null;
        Table un = null;
        for (int k = 0; k < pairs.size(); k++) {
            Divergence p = pairs.get(k);
            for (int i = 0; i < p.rowCount(); i++) model.append(models.get(k));
            rows = rows == null ? p.copy() : rows.append(p);
            for (int i = 0; i < p.unmatched().rowCount(); i++) uModel.append(models.get(k));
            un = un == null ? p.unmatched().copy() : un.append(p.unmatched());
        }
        addColumns(model);
        for (var c : rows.columns()) addColumns(c.copy());
        un.insertColumn(0, uModel);
        this.unmatched = un.setName("tensors not compared");
    }

    /** Opens the checkpoint folders and compares every model with the reference. */
    public static Divergences against(Path reference, Path... models) {
        if (models.length == 0) throw new IllegalArgumentException("give at least one model to compare with " + reference);
        List<Checkpoint> opened = new ArrayList<>();
        try (Checkpoint ref = Checkpoint.open(reference)) {
            for (Path m : models) opened.add(Checkpoint.open(m));
            return against(ref, opened);
        } finally {
            opened.forEach(Checkpoint::close);
        }
    }

    public static Divergences against(String reference, String... models) {
        return against(Path.of(reference), java.util.Arrays.stream(models).map(Path::of).toArray(Path[]::new));
    }

    public static Divergences against(Checkpoint reference, List<Checkpoint> models) {
        return compare(reference, models);
    }

    static Divergences compare(Checkpoint reference, List<Checkpoint> others) {
        Matching m = Matching.of(reference, others);
        TensorPairStats[][] stats = PairScan.run(reference, others, m.names, m.models);
        List<Divergence> pairs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int k = 0; k < others.size(); k++) {
            List<Divergence.Row> rows = new ArrayList<>();
            for (int t = 0; t < m.names.size(); t++) {
                if (stats[t][k] == null) continue;
                String n = m.names.get(t);
                TensorInfo info = reference.info(n);
                rows.add(new Divergence.Row(n, ModuleKind.layerOf(n), ModuleKind.of(n), info.shape(), stats[t][k]));
            }
            pairs.add(new Divergence(reference.name(), others.get(k).name(), rows, m.unmatched.get(k)));
            names.add(others.get(k).name());
        }
        return new Divergences(reference.name(), names, pairs);
    }

    public String reference() {
        return reference;
    }

    /** The compared models' names, in the order given. */
    public List<String> models() {
        return models;
    }

    /** The two-model table of one compared model against the reference. */
    public Divergence pair(String model) {
        int i = models.indexOf(model);
        if (i < 0) throw new IllegalArgumentException("no model '" + model + "' here; models: " + models);
        return pairs.get(i);
    }

    public Divergence pair(int index) {
        return pairs.get(index);
    }

    /** What could not be compared, per model: model, name, reason. */
    public Table unmatched() {
        return unmatched;
    }

    /** Each model as one vector against the reference: one row per model with every figure. */
    public Table totals() {
        StringColumn model = StringColumn.create("model");
        LongColumn numel = LongColumn.create("numel");
        List<TensorPairStats> totals = new ArrayList<>();
        for (int k = 0; k < pairs.size(); k++) {
            model.append(models.get(k));
            TensorPairStats t = pairs.get(k).total();
            numel.append(t.numel());
            totals.add(t);
        }
        Table t = Table.create("whole-model divergence from " + reference, model, numel);
        t.addColumns(Figures.columns(totals));
        return t;
    }

    /** Per layer and module for every model: {@code model, layer, module, tensors, numel} and the figures. */
    public Layers byLayer() {
        return new Layers(this);
    }

    /** The per-layer table of {@link Divergences}, with charts comparing the models. */
    public static final class Layers extends Table {
        private final Divergences from;

        private Layers(Divergences from) {
            super("divergence from " + from.reference + " by layer");
            this.from = from;
            StringColumn model = StringColumn.create("model");
            Table all = null;
            for (int k = 0; k < from.pairs.size(); k++) {
                LayerDivergence l = from.pairs.get(k).byLayer();
                for (int i = 0; i < l.rowCount(); i++) model.append(from.models.get(k));
                all = all == null ? l.copy() : all.append(l);
            }
            addColumns(model);
            for (var c : all.columns()) addColumns(c.copy());
        }

        /** Relative change of each whole layer, one line per model: which fine-tune moved most, and where. */
        public Chart plot() {
            return plot("rel_change");
        }

        /** {@code column} of each whole layer (module "all"), one line per model. */
        public Chart plot(String column) {
            Table whole = where(stringColumn("module").isEqualTo("all"));
            String label = Figures.label(column);
            return LineChart.byGroup(whole, "layer", column, "model", label + " by layer, against " + from.reference,
                    "layer", label);
        }

        /** One model's {@code column} by layer, one line per module. */
        public Chart plot(String model, String column) {
            return from.pair(model).byLayer().plot(column);
        }

        /** One model's {@code column} as a layer × module heat map. */
        public Chart heatmap(String model, String column) {
            return from.pair(model).byLayer().heatmap(column);
        }
    }
}
