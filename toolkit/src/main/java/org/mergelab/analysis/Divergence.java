package org.mergelab.analysis;

import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.mergelab.arch.ModuleKind;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.TensorInfo;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How far one checkpoint is from another, tensor by tensor: a Tablesaw table with one row per tensor the two share
 * ({@code name, layer, module, shape, numel, cosine, l2, rel_change, norm_a, norm_b, angle_deg, norm_ratio,
 * sign_flip, nonfinite_a, nonfinite_b}, where {@code l2 = ‖b − a‖}, {@code rel_change = ‖b − a‖ / ‖a‖},
 * {@code norm_ratio = ‖b‖ / ‖a‖} and {@code sign_flip} is the fraction of elements with a·b &lt; 0). The checkpoints
 * are streamed in chunks on every core; sums are accumulated in double. NaN or infinite elements are left out of the
 * figures and counted in {@code nonfinite_a} / {@code nonfinite_b}.
 *
 * <pre>{@code
 * var d = Divergence.between(base, tuned);
 * d.byLayer().plot();
 * d.byLayer().heatmap("rel_change");
 * }</pre>
 */
public final class Divergence extends Table {
    private final String nameA;
    private final String nameB;
    private final List<TensorPairStats> stats;
    private final Table unmatched;

    Divergence(String nameA, String nameB, List<Row> rows, Table unmatched) {
        super("divergence of " + nameB + " from " + nameA);
        this.nameA = nameA;
        this.nameB = nameB;
        this.unmatched = unmatched;
        this.stats = rows.stream().map(Row::stats).toList();
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        StringColumn shape = StringColumn.create("shape");
        LongColumn numel = LongColumn.create("numel");
        for (Row r : rows) {
            name.append(r.name());
            if (r.layer().isPresent()) layer.append(r.layer().getAsInt()); else layer.appendMissing();
            module.append(r.module().label());
            shape.append(TensorInfo.shapeString(r.shape()));
            numel.append(r.stats().numel());
        }
        addColumns(name, layer, module, shape, numel);
        addColumns(Figures.columns(stats));
    }

    record Row(String name, OptionalInt layer, ModuleKind module, long[] shape, TensorPairStats stats) {}

    /** Opens two checkpoint folders and compares them. */
    public static Divergence between(Path a, Path b) {
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            return between(ca, cb);
        }
    }

    public static Divergence between(String a, String b) {
        return between(Path.of(a), Path.of(b));
    }

    /**
     * Compares every tensor the two checkpoints share; tensors in only one, with different shapes, or not floating
     * point are listed in {@link #unmatched()} (as is a difference of architecture).
     */
    public static Divergence between(Checkpoint a, Checkpoint b) {
        return Divergences.compare(a, List.of(b)).pair(0);
    }

    /** The reference model's name (a). */
    public String modelA() { return nameA; }

    /** The compared model's name (b). */
    public String modelB() { return nameB; }

    /** Tensors present in only one model, with mismatched shapes, or not floating point: name and reason. */
    public Table unmatched() { return unmatched; }

    /** The raw sums behind row {@code i}, for roll-ups. */
    TensorPairStats stats(int i) { return stats.get(i); }

    /** The same figures per layer and module (plus an "all" row per layer), and a chart of them. */
    public LayerDivergence byLayer() {
        return LayerDivergence.of(this);
    }

    /**
     * The same figures per module over all layers (every attn_q together, every mlp_down together...), plus the
     * tensors outside the layers (embeddings, final norm, head) under their own module.
     */
    public Table byModule() {
        return Figures.rollUp(name() + " by module", stringColumn("module"), stats);
    }

    /** The whole model as one vector: cosine, l2 and relative change over every compared tensor. */
    public TensorPairStats total() {
        return stats.stream().reduce(TensorPairStats.ZERO, TensorPairStats::plus);
    }

    /** Tensors holding NaN or infinite values: name and how many in each model (they are left out of the figures). */
    public Table nonFinite() {
        return where(longColumn("nonfinite_a").isGreaterThan(0).or(longColumn("nonfinite_b").isGreaterThan(0)))
                .selectColumns("name", "numel", "nonfinite_a", "nonfinite_b").setName("tensors with NaN or Inf");
    }
}
