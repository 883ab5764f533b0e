package org.mergelab.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.mergelab.arch.ModuleKind;
import org.mergelab.io.Checkpoint;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Task vectors δᵢ = tunedᵢ − base of one base and N fine-tunes, measured before any merge: one row per (model, tensor)
 * with
 * <ul>
 *   <li>{@code norm} ‖δ‖ and {@code rel_norm} ‖δ‖ / ‖base‖;</li>
 *   <li>{@code sparse_0} (exact zeros) and {@code sparse_<τ>}: the fraction of entries with |δ| ≤ τ for each
 *       threshold;</li>
 *   <li>{@code top1_mass}, {@code top10_mass}: the share of Σ|δ| the largest 1% / 10% of entries carry;</li>
 *   <li>{@code kurtosis}: excess kurtosis of the entries (0 for a Gaussian; large when a few entries dominate);</li>
 *   <li>{@code ties_kept}, {@code ties_norm_kept}, {@code ties_mass_kept}: what TIES's magnitude trimming at the
 *       options' density keeps: the fraction of entries, of ‖δ‖ and of Σ|δ| (the top k = max(1, ⌊density·n⌋)
 *       entries, as mergekit's {@code magnitude});</li>
 *   <li>{@code dare_kept}, {@code dare_norm_kept}, {@code dare_norm_rescaled}: what DARE's random drop at its density
 *       keeps, with a seeded mask (mergekit draws a fresh one every merge: these are one draw, close to the
 *       expectations density and √density), and the norm after mergekit's L1 rescaling when {@code rescale} is on;</li>
 *   <li>{@code nonfinite}: elements where base or fine-tune is NaN or infinite (counted as no change).</li>
 * </ul>
 * Also: the cosines between task vectors (per tensor, per layer, whole model) as {@link CosineMatrix} tables, TIES's
 * sign conflicts among the models, and the distribution of |δ|.
 *
 * <pre>{@code
 * var tv = TaskVectors.of(base, shakespeare, babi, fables);
 * tv.cosineMatrix().plot()
 * tv.signConflicts().byLayer()
 * tv.magnitudes().plot()
 * }</pre>
 */
public final class TaskVectors extends Table {
    /**
     * @param tiesDensity the fraction of each task vector TIES keeps (its {@code density})
     * @param dareDensity the fraction DARE keeps
     * @param dareRescale whether DARE rescales what it keeps to the original L1 norm (mergekit's {@code rescale})
     * @param dareSeed    the seed of DARE's mask
     * @param thresholds  the |δ| thresholds of the {@code sparse_*} columns
     */
    public record Options(double tiesDensity, double dareDensity, boolean dareRescale, long dareSeed,
                          double[] thresholds) {
        public Options {
            thresholds = thresholds.clone();
            Arrays.sort(thresholds);
            for (double d : new double[] {tiesDensity, dareDensity}) {
                if (!(d >= 0 && d <= 1)) throw new IllegalArgumentException("density must be in [0, 1], not " + d);
            }
        }

        /** TIES and DARE at density 0.2, DARE rescaled, thresholds 1e-5, 1e-4 and 1e-3. */
        public static Options defaults() {
            return new Options(0.2, 0.2, true, 1, new double[] {1e-5, 1e-4, 1e-3});
        }

        public Options withDensity(double density) {
            return new Options(density, density, dareRescale, dareSeed, thresholds);
        }

        public Options withTiesDensity(double density) {
            return new Options(density, dareDensity, dareRescale, dareSeed, thresholds);
        }

        public Options withDareDensity(double density) {
            return new Options(tiesDensity, density, dareRescale, dareSeed, thresholds);
        }

        public Options withDareRescale(boolean rescale) {
            return new Options(tiesDensity, dareDensity, rescale, dareSeed, thresholds);
        }

        public Options withThresholds(double... t) {
            return new Options(tiesDensity, dareDensity, dareRescale, dareSeed, t);
        }

        @Override
        public double[] thresholds() {
            return thresholds.clone();
        }
    }

    private final String base;
    private final List<String> models;
    private final Options options;
    private final List<TaskVectorScan.TensorStats> stats;
    private final Table unmatched;

    private TaskVectors(String base, List<String> models, Options options, List<TaskVectorScan.TensorStats> stats,
                        Table unmatched) {
        super("task vectors against " + base);
        this.base = base;
        this.models = List.copyOf(models);
        this.options = options;
        this.stats = stats;
        this.unmatched = unmatched;
        StringColumn model = StringColumn.create("model");
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn norm = DoubleColumn.create("norm");
        DoubleColumn rel = DoubleColumn.create("rel_norm");
        DoubleColumn zero = DoubleColumn.create("sparse_0");
        double[] th = options.thresholds();
        DoubleColumn[] sparse = new DoubleColumn[th.length];
        for (int k = 0; k < th.length; k++) sparse[k] = DoubleColumn.create("sparse_" + format(th[k]));
        DoubleColumn top1 = DoubleColumn.create("top1_mass");
        DoubleColumn top10 = DoubleColumn.create("top10_mass");
        DoubleColumn kurt = DoubleColumn.create("kurtosis");
        DoubleColumn tiesKept = DoubleColumn.create("ties_kept");
        DoubleColumn tiesNorm = DoubleColumn.create("ties_norm_kept");
        DoubleColumn tiesMass = DoubleColumn.create("ties_mass_kept");
        DoubleColumn dareKept = DoubleColumn.create("dare_kept");
        DoubleColumn dareNorm = DoubleColumn.create("dare_norm_kept");
        DoubleColumn dareRescaled = DoubleColumn.create("dare_norm_rescaled");
        LongColumn nonFinite = LongColumn.create("nonfinite");
        for (int m = 0; m < models.size(); m++) {
            for (TaskVectorScan.TensorStats t : stats) {
                TaskVectorScan.ModelStats s = t.models[m];
                model.append(models.get(m));
                name.append(t.name);
                OptionalInt l = ModuleKind.layerOf(t.name);
                if (l.isPresent()) layer.append(l.getAsInt()); else layer.appendMissing();
                module.append(ModuleKind.of(t.name).label());
                numel.append(t.numel);
                double n = t.numel;
                norm.append(Math.sqrt(s.sumSq));
                rel.append(ratio(Math.sqrt(s.sumSq), Math.sqrt(s.sumSqBase)));
                zero.append(s.zeros / n);
                for (int k = 0; k < th.length; k++) sparse[k].append(s.below[k] / n);
                top1.append(ratio(s.top1Abs, s.sumAbs));
                top10.append(ratio(s.top10Abs, s.sumAbs));
                kurt.append(s.m2 == 0 ? Double.NaN : n * s.m4 / (s.m2 * s.m2) - 3);
                tiesKept.append(s.tiesKept / n);
                tiesNorm.append(ratio(Math.sqrt(s.tiesSq), Math.sqrt(s.sumSq)));
                tiesMass.append(ratio(s.tiesAbs, s.sumAbs));
                dareKept.append(s.dareKept / n);
                double kept = ratio(Math.sqrt(s.dareSq), Math.sqrt(s.sumSq));
                dareNorm.append(kept);
                dareRescaled.append(options.dareRescale() ? rescaled(s, kept) : kept);
                nonFinite.append(s.nonFinite);
            }
        }
        addColumns(model, name, layer, module, numel, norm, rel, zero);
        addColumns(sparse);
        addColumns(top1, top10, kurt, tiesKept, tiesNorm, tiesMass, dareKept, dareNorm, dareRescaled, nonFinite);
    }

    /** mergekit's L1 rescale: × ‖δ‖₁ / ‖mask·δ‖₁, skipped when either is below 1e-7. */
    private static double rescaled(TaskVectorScan.ModelStats s, double kept) {
        double eps = 1e-7;
        if (s.sumAbs < eps || s.dareAbs < eps) return kept;
        return kept * s.sumAbs / s.dareAbs;
    }

    private static double ratio(double a, double b) {
        return b == 0 ? Double.NaN : a / b;
    }

    static String format(double threshold) {
        String s = String.format(Locale.ROOT, "%.0e", threshold);
        return s.replace("e-0", "e-").replace("e+0", "e");
    }

    /** Opens the folders: one base and one or more fine-tunes of it. */
    public static TaskVectors of(Path base, Path... tuned) {
        return of(Options.defaults(), base, tuned);
    }

    public static TaskVectors of(String base, String... tuned) {
        return of(Path.of(base), Arrays.stream(tuned).map(Path::of).toArray(Path[]::new));
    }

    public static TaskVectors of(Options options, Path base, Path... tuned) {
        if (tuned.length == 0) throw new IllegalArgumentException("give at least one fine-tune of " + base);
        List<Checkpoint> opened = new ArrayList<>();
        try (Checkpoint b = Checkpoint.open(base)) {
            for (Path t : tuned) opened.add(Checkpoint.open(t));
            return of(b, opened, options);
        } finally {
            opened.forEach(Checkpoint::close);
        }
    }

    /**
     * Measures the task vectors of {@code tuned} against {@code base} over the tensors every model holds with the
     * base's shape; the others are listed in {@link #unmatched()}.
     */
    public static TaskVectors of(Checkpoint base, List<Checkpoint> tuned, Options options) {
        Matching match = Matching.of(base, tuned);
        List<String> common = new ArrayList<>();
        for (int i = 0; i < match.names.size(); i++) {
            if (match.models.get(i).length == tuned.size()) common.add(match.names.get(i));
        }
        StringColumn uModel = StringColumn.create("model");
        Table un = null;
        for (int k = 0; k < tuned.size(); k++) {
            Table u = match.unmatched.get(k);
            for (int i = 0; i < u.rowCount(); i++) uModel.append(tuned.get(k).name());
            un = un == null ? u.copy() : un.append(u);
        }
        un.insertColumn(0, uModel);
        if (tuned.size() > 1) {
            // A tensor one fine-tune lacks has no task vector there, so the whole row set skips it; say so.
            for (int i = 0; i < match.names.size(); i++) {
                if (match.models.get(i).length != tuned.size()) {
                    un.stringColumn("model").append("(all)");
                    un.stringColumn("name").append(match.names.get(i));
                    un.stringColumn("reason").append("not comparable in every fine-tune");
                }
            }
        }
        List<TaskVectorScan.TensorStats> stats = TaskVectorScan.run(base, tuned, common, options);
        return new TaskVectors(base.name(), tuned.stream().map(Checkpoint::name).toList(), options, stats,
                un.setName("tensors not analysed"));
    }

    public String base() {
        return base;
    }

    public List<String> models() {
        return models;
    }

    public Options options() {
        return options;
    }

    /** Tensors left out: model, name, reason. */
    public Table unmatched() {
        return unmatched;
    }

    /**
     * One row per model, the whole model at once, each tensor trimmed or dropped on its own as a merge does:
     * {@code model, numel, norm, rel_norm, ties_kept, ties_norm_kept, ties_mass_kept, dare_kept, dare_norm_kept,
     * dare_norm_rescaled, nonfinite}.
     */
    public Table totals() {
        StringColumn model = StringColumn.create("model");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn norm = DoubleColumn.create("norm");
        DoubleColumn rel = DoubleColumn.create("rel_norm");
        DoubleColumn tiesKept = DoubleColumn.create("ties_kept");
        DoubleColumn tiesNorm = DoubleColumn.create("ties_norm_kept");
        DoubleColumn tiesMass = DoubleColumn.create("ties_mass_kept");
        DoubleColumn dareKept = DoubleColumn.create("dare_kept");
        DoubleColumn dareNorm = DoubleColumn.create("dare_norm_kept");
        DoubleColumn dareRescaled = DoubleColumn.create("dare_norm_rescaled");
        LongColumn nonFinite = LongColumn.create("nonfinite");
        for (int m = 0; m < models.size(); m++) {
            long n = 0, kept = 0, dKept = 0, bad = 0;
            double sq = 0, base2 = 0, abs = 0, tSq = 0, tAbs = 0, dSq = 0, dRescaledSq = 0;
            for (TaskVectorScan.TensorStats t : stats) {
                TaskVectorScan.ModelStats s = t.models[m];
                n += t.numel;
                kept += s.tiesKept;
                dKept += s.dareKept;
                bad += s.nonFinite;
                sq += s.sumSq;
                base2 += s.sumSqBase;
                abs += s.sumAbs;
                tSq += s.tiesSq;
                tAbs += s.tiesAbs;
                dSq += s.dareSq;
                double f = options.dareRescale() ? rescaled(s, 1) : 1;
                dRescaledSq += s.dareSq * f * f;
            }
            model.append(models.get(m));
            numel.append(n);
            norm.append(Math.sqrt(sq));
            rel.append(ratio(Math.sqrt(sq), Math.sqrt(base2)));
            tiesKept.append((double) kept / n);
            tiesNorm.append(ratio(Math.sqrt(tSq), Math.sqrt(sq)));
            tiesMass.append(ratio(tAbs, abs));
            dareKept.append((double) dKept / n);
            dareNorm.append(ratio(Math.sqrt(dSq), Math.sqrt(sq)));
            dareRescaled.append(ratio(Math.sqrt(dRescaledSq), Math.sqrt(sq)));
            nonFinite.append(bad);
        }
        return Table.create("task vectors against " + base + ", whole model (TIES density " + options.tiesDensity()
                        + ", DARE density " + options.dareDensity() + ")", model, numel, norm, rel, tiesKept, tiesNorm,
                tiesMass, dareKept, dareNorm, dareRescaled, nonFinite);
    }

    /** Norms rolled up per model, layer and module (with an "all" row per layer): ‖δ‖ and ‖δ‖ / ‖base‖. */
    public LayerNorms byLayer() {
        StringColumn model = StringColumn.create("model");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        IntColumn tensors = IntColumn.create("tensors");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn norm = DoubleColumn.create("norm");
        DoubleColumn rel = DoubleColumn.create("rel_norm");
        for (int m = 0; m < models.size(); m++) {
            Map<Integer, Map<String, double[]>> sums = new TreeMap<>();
            for (TaskVectorScan.TensorStats t : stats) {
                OptionalInt l = ModuleKind.layerOf(t.name);
                if (l.isEmpty()) continue;
                for (String mod : new String[] {ModuleKind.of(t.name).label(), "all"}) {
                    double[] acc = sums.computeIfAbsent(l.getAsInt(), k -> new TreeMap<>(
                            java.util.Comparator.comparingInt(Figures::moduleOrder))).computeIfAbsent(mod,
                            k -> new double[4]);
                    acc[0]++;
                    acc[1] += t.numel;
                    acc[2] += t.models[m].sumSq;
                    acc[3] += t.models[m].sumSqBase;
                }
            }
            for (var e : sums.entrySet()) {
                for (var mm : e.getValue().entrySet()) {
                    double[] a = mm.getValue();
                    model.append(models.get(m));
                    layer.append(e.getKey());
                    module.append(mm.getKey());
                    tensors.append((int) a[0]);
                    numel.append((long) a[1]);
                    norm.append(Math.sqrt(a[2]));
                    rel.append(ratio(Math.sqrt(a[2]), Math.sqrt(a[3])));
                }
            }
        }
        return new LayerNorms(Table.create("task-vector norms by layer against " + base, model, layer, module,
                tensors, numel, norm, rel));
    }

    /** The per-layer norms, with a chart: relative norm of each whole layer, one line per model. */
    public static final class LayerNorms extends Table {
        private LayerNorms(Table t) {
            super(t.name());
            for (var c : t.columns()) addColumns(c);
        }

        public Chart plot() {
            return plot("rel_norm");
        }

        /** {@code norm} or {@code rel_norm} of each whole layer, one line per model. */
        public Chart plot(String column) {
            Table whole = where(stringColumn("module").isEqualTo("all"));
            String label = column.equals("rel_norm") ? "‖δ‖ / ‖base‖" : "‖δ‖";
            return LineChart.byGroup(whole, "layer", column, "model", "task-vector size by layer (" + label + ")",
                    "layer", label);
        }
    }

    /** Cosines between the models' task vectors over the whole model. */
    public CosineMatrix cosineMatrix() {
        return cosineMatrix("whole model", t -> true);
    }

    /** Cosines between the task vectors over one layer's tensors. */
    public CosineMatrix cosineMatrix(int layer) {
        return cosineMatrix("layer " + layer, t -> ModuleKind.layerOf(t).equals(OptionalInt.of(layer)));
    }

    /** Cosines over the tensors whose name contains {@code filter} ("self_attn", "mlp", one tensor's full name). */
    public CosineMatrix cosineMatrix(String filter) {
        return cosineMatrix("tensors matching '" + filter + "'", t -> t.contains(filter));
    }

    private CosineMatrix cosineMatrix(String scope, Predicate<String> tensors) {
        int n = models.size();
        double[][] dots = new double[n][n];
        boolean any = false;
        for (TaskVectorScan.TensorStats t : stats) {
            if (!tensors.test(t.name)) continue;
            any = true;
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) dots[i][j] += t.dots[i][j];
        }
        if (!any) throw new IllegalArgumentException("no analysed tensor in scope " + scope);
        return new CosineMatrix("task-vector cosines against " + base + ", " + scope, models, dots);
    }

    /** Pairwise task-vector cosines per tensor: name, layer, module, model_a, model_b, cosine. */
    public Table cosines() {
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        StringColumn a = StringColumn.create("model_a");
        StringColumn b = StringColumn.create("model_b");
        DoubleColumn cos = DoubleColumn.create("cosine");
        for (TaskVectorScan.TensorStats t : stats) {
            for (int i = 0; i < models.size(); i++) {
                for (int j = i + 1; j < models.size(); j++) {
                    name.append(t.name);
                    OptionalInt l = ModuleKind.layerOf(t.name);
                    if (l.isPresent()) layer.append(l.getAsInt()); else layer.appendMissing();
                    module.append(ModuleKind.of(t.name).label());
                    a.append(models.get(i));
                    b.append(models.get(j));
                    cos.append(CosineMatrix.cosine(t.dots, i, j));
                }
            }
        }
        return Table.create("task-vector cosines per tensor", name, layer, module, a, b, cos);
    }

    /** Pairwise task-vector cosines per layer (all of a layer's tensors as one vector), with a chart. */
    public LayerCosines cosinesByLayer() {
        Map<Integer, double[][]> byLayer = new TreeMap<>();
        int n = models.size();
        for (TaskVectorScan.TensorStats t : stats) {
            OptionalInt l = ModuleKind.layerOf(t.name);
            if (l.isEmpty()) continue;
            double[][] d = byLayer.computeIfAbsent(l.getAsInt(), k -> new double[n][n]);
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) d[i][j] += t.dots[i][j];
        }
        IntColumn layer = IntColumn.create("layer");
        StringColumn pair = StringColumn.create("pair");
        StringColumn a = StringColumn.create("model_a");
        StringColumn b = StringColumn.create("model_b");
        DoubleColumn cos = DoubleColumn.create("cosine");
        for (var e : byLayer.entrySet()) {
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    layer.append(e.getKey());
                    pair.append(models.get(i) + " · " + models.get(j));
                    a.append(models.get(i));
                    b.append(models.get(j));
                    cos.append(CosineMatrix.cosine(e.getValue(), i, j));
                }
            }
        }
        return new LayerCosines(Table.create("task-vector cosines by layer against " + base, layer, pair, a, b, cos));
    }

    /** Per-layer cosines between task vectors, with a chart: one line per pair of models. */
    public static final class LayerCosines extends Table {
        private LayerCosines(Table t) {
            super(t.name());
            for (var c : t.columns()) addColumns(c);
        }

        public Chart plot() {
            return LineChart.byGroup(this, "layer", "cosine", "pair", "cosine between task vectors, by layer",
                    "layer", "cosine of δᵢ and δⱼ");
        }
    }

    /**
     * TIES's sign statistics among the models, per tensor: {@code conflict}, the fraction of entries where the task
     * vectors' (non-zero) signs disagree; {@code conflict_trimmed}, the same after each is trimmed to its top
     * {@code tiesDensity}; {@code dropped_mass}, the share of the trimmed Σ|δ| whose sign loses TIES's election (the
     * sign of the sum, models weighted equally) and is left out of the merge.
     */
    public SignConflicts signConflicts() {
        List<String> names = new ArrayList<>();
        List<long[]> counts = new ArrayList<>();
        List<double[]> mass = new ArrayList<>();
        for (TaskVectorScan.TensorStats t : stats) {
            names.add(t.name);
            counts.add(new long[] {t.numel, t.conflicts, t.conflictsTrimmed});
            mass.add(new double[] {t.trimmedAbs, t.droppedAbs});
        }
        return SignConflicts.perTensor(base, models, options.tiesDensity(), names, counts, mass);
    }

    /** The distribution of |δ| over all analysed tensors, per model, in tenth-of-a-decade bins. */
    public MagnitudeHistogram magnitudes() {
        Map<String, long[]> counts = new LinkedHashMap<>();
        Map<String, Long> zeros = new LinkedHashMap<>();
        for (int m = 0; m < models.size(); m++) {
            long[] h = new long[TaskVectorScan.HIST_BINS];
            long z = 0;
            for (TaskVectorScan.TensorStats t : stats) {
                long[] th = t.models[m].histogram;
                for (int b = 0; b < h.length; b++) h[b] += th[b];
                z += t.models[m].zeros;
            }
            counts.put(models.get(m), h);
            zeros.put(models.get(m), z);
        }
        return MagnitudeHistogram.of(base, counts, zeros);
    }
}
