package org.mergelab.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.mergelab.arch.ModuleKind;
import org.mergelab.io.Checkpoint;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The geometry of interpolating between two models, tensor by tensor, for seeing SLERP against linear interpolation
 * on real weights. Each tensor is one vector, as SLERP treats it. Per tensor: both norms, the cosine and angle
 * between them, the norm of the linear midpoint ½(a + b) and of the SLERP midpoint, their ratio (how much linear
 * interpolation shrinks the weights: ‖½(a + b)‖ = ½‖a‖√(2 + 2cos θ) for equal norms), and whether mergekit's
 * SLERP would fall back to linear interpolation because the two are nearly colinear (|cos θ| &gt; 0.9995).
 *
 * <p>Everything comes from three sums per tensor (⟨a, a⟩, ⟨b, b⟩, ⟨a, b⟩), so {@link #curve()} gives both
 * interpolants at any list of t exactly, without building them: for p = α a + β b,
 * ‖p‖² = α²⟨a, a⟩ + 2αβ⟨a, b⟩ + β²⟨b, b⟩. SLERP's coefficients are mergekit's:
 * α = sin((1 − t)θ) / sin θ, β = sin(tθ) / sin θ, or 1 − t and t when it falls back. (The merge engine computes
 * cos θ in float32 from normalised elements, as mergekit does; here it is exact in double, which can only matter for
 * a tensor within about 1e-6 of the threshold.)
 *
 * <pre>{@code
 * var g = Geometry.between(base, tuned);
 * g.plot()                                           // whole-model norm over t: linear dips, SLERP does not
 * g.plot("model.layers.0.self_attn.v_proj.weight")   // one tensor
 * }</pre>
 */
public final class Geometry extends Table {
    /** mergekit's bound on |cos θ| above which SLERP interpolates linearly instead. */
    public static final double COLINEAR_THRESHOLD = 0.9995;
    /** Norms at or below this count as 1 when mergekit normalises (a zero tensor is not divided by zero). */
    static final double EPS = 1e-8;
    /** The curve's default t values: 0, 0.05, ..., 1. */
    public static final double[] DEFAULT_T = grid(20);
    static final String WHOLE_MODEL = "(whole model)";

    private final String nameA;
    private final String nameB;
    private final List<String> names;
    private final List<TensorPairStats> stats;
    private final double[] ts;
    private final Table unmatched;

    private Geometry(String nameA, String nameB, List<String> names, List<TensorPairStats> stats, double[] ts,
                     Table unmatched) {
        super("interpolation geometry: " + nameA + " (t = 0) to " + nameB + " (t = 1)");
        this.nameA = nameA;
        this.nameB = nameB;
        this.names = List.copyOf(names);
        this.stats = List.copyOf(stats);
        this.ts = ts.clone();
        this.unmatched = unmatched;
        StringColumn name = StringColumn.create("name");
        IntColumn layer = IntColumn.create("layer");
        StringColumn module = StringColumn.create("module");
        LongColumn numel = LongColumn.create("numel");
        DoubleColumn normA = DoubleColumn.create("norm_a");
        DoubleColumn normB = DoubleColumn.create("norm_b");
        DoubleColumn cosine = DoubleColumn.create("cosine");
        DoubleColumn angle = DoubleColumn.create("angle_deg");
        DoubleColumn midLinear = DoubleColumn.create("mid_norm_linear");
        DoubleColumn midSlerp = DoubleColumn.create("mid_norm_slerp");
        DoubleColumn ratio = DoubleColumn.create("mid_norm_ratio");
        BooleanColumn colinear = BooleanColumn.create("colinear_fallback");
        LongColumn nonFinite = LongColumn.create("nonfinite");
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            TensorPairStats s = stats.get(i);
            name.append(n);
            OptionalInt l = ModuleKind.layerOf(n);
            if (l.isPresent()) layer.append(l.getAsInt()); else layer.appendMissing();
            module.append(ModuleKind.of(n).label());
            numel.append(s.numel());
            normA.append(s.normA());
            normB.append(s.normB());
            cosine.append(s.cosine());
            angle.append(s.angleDegrees());
            double lin = Interpolant.linear(0.5).norm(s);
            double sl = Interpolant.slerp(0.5, s).norm(s);
            midLinear.append(lin);
            midSlerp.append(sl);
            ratio.append(sl == 0 ? Double.NaN : lin / sl);
            colinear.append(fallsBack(s));
            nonFinite.append(s.nonFinite());
        }
        addColumns(name, layer, module, numel, normA, normB, cosine, angle, midLinear, midSlerp, ratio, colinear,
                nonFinite);
    }

    /** Opens two checkpoint folders: {@code a} is t = 0 (mergekit's base), {@code b} is t = 1. */
    public static Geometry between(Path a, Path b) {
        return between(a, b, DEFAULT_T);
    }

    public static Geometry between(String a, String b) {
        return between(Path.of(a), Path.of(b));
    }

    /** As {@link #between(Path, Path)}, with the curve at the given t values. */
    public static Geometry between(Path a, Path b, double... ts) {
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            return between(ca, cb, ts);
        }
    }

    public static Geometry between(Checkpoint a, Checkpoint b, double... ts) {
        if (ts.length == 0) throw new IllegalArgumentException("give at least one t");
        Matching m = Matching.of(a, List.of(b));
        TensorPairStats[][] s = PairScan.run(a, List.of(b), m.names, m.models);
        List<TensorPairStats> stats = new ArrayList<>();
        for (TensorPairStats[] row : s) stats.add(row[0]);
        double[] sorted = ts.clone();
        Arrays.sort(sorted);
        return new Geometry(a.name(), b.name(), m.names, stats, sorted, m.unmatched.get(0));
    }

    /** Tensors not compared (only in one model, different shapes...): name and reason. */
    public Table unmatched() {
        return unmatched;
    }

    /** Whether mergekit's SLERP would interpolate this pair linearly: |cos θ| over the threshold. */
    static boolean fallsBack(TensorPairStats s) {
        return Math.abs(engineCosine(s)) > COLINEAR_THRESHOLD;
    }

    /** cos θ as SLERP computes it: with norms at or below EPS taken as 1, clamped to [−1, 1]. */
    static double engineCosine(TensorPairStats s) {
        double na = s.normA() > EPS ? s.normA() : 1, nb = s.normB() > EPS ? s.normB() : 1;
        return Math.max(-1, Math.min(1, s.dot() / (na * nb)));
    }

    /** An interpolant α a + β b, and what it looks like from the three sums. */
    record Interpolant(double alpha, double beta) {
        static Interpolant linear(double t) {
            return new Interpolant(1 - t, t);
        }

        static Interpolant slerp(double t, TensorPairStats s) {
            if (fallsBack(s)) return linear(t);
            double theta = Math.acos(engineCosine(s));
            double sin = Math.sin(theta);
            return new Interpolant(Math.sin((1 - t) * theta) / sin, Math.sin(t * theta) / sin);
        }

        double normSquared(TensorPairStats s) {
            return Math.max(0, alpha * alpha * s.sumSqA() + 2 * alpha * beta * s.dot() + beta * beta * s.sumSqB());
        }

        double norm(TensorPairStats s) {
            return Math.sqrt(normSquared(s));
        }

        /** ⟨p, a⟩. */
        double dotA(TensorPairStats s) {
            return alpha * s.sumSqA() + beta * s.dot();
        }

        /** ⟨p, b⟩. */
        double dotB(TensorPairStats s) {
            return alpha * s.dot() + beta * s.sumSqB();
        }
    }

    /**
     * Both interpolants at every t, per tensor and for the whole model (each tensor interpolated on its own, as a
     * merge does, then all taken as one vector): {@code name, t, method, norm, cos_a, cos_b} plus
     * {@code norm_parents}, (1 − t)‖a‖ + t‖b‖, the norm a merge would have if interpolating kept the scale.
     */
    public Table curve() {
        StringColumn name = StringColumn.create("name");
        DoubleColumn t = DoubleColumn.create("t");
        StringColumn method = StringColumn.create("method");
        DoubleColumn norm = DoubleColumn.create("norm");
        DoubleColumn cosA = DoubleColumn.create("cos_a");
        DoubleColumn cosB = DoubleColumn.create("cos_b");
        DoubleColumn parents = DoubleColumn.create("norm_parents");
        TensorPairStats total = stats.stream().reduce(TensorPairStats.ZERO, TensorPairStats::plus);
        for (int i = 0; i <= names.size(); i++) {
            boolean whole = i == names.size();
            for (double tt : ts) {
                for (String m : new String[] {"linear", "slerp"}) {
                    double nn, pa, pb, refNorm;
                    TensorPairStats s = whole ? total : stats.get(i);
                    if (whole) {
                        nn = 0;
                        pa = 0;
                        pb = 0;
                        for (TensorPairStats x : stats) {
                            Interpolant p = m.equals("linear") ? Interpolant.linear(tt) : Interpolant.slerp(tt, x);
                            nn += p.normSquared(x);
                            pa += p.dotA(x);
                            pb += p.dotB(x);
                        }
                        nn = Math.sqrt(nn);
                    } else {
                        Interpolant p = m.equals("linear") ? Interpolant.linear(tt) : Interpolant.slerp(tt, s);
                        nn = p.norm(s);
                        pa = p.dotA(s);
                        pb = p.dotB(s);
                    }
                    refNorm = (1 - tt) * s.normA() + tt * s.normB();
                    name.append(whole ? WHOLE_MODEL : names.get(i));
                    t.append(tt);
                    method.append(m);
                    norm.append(nn);
                    cosA.append(nn == 0 || s.sumSqA() == 0 ? Double.NaN : pa / (nn * s.normA()));
                    cosB.append(nn == 0 || s.sumSqB() == 0 ? Double.NaN : pb / (nn * s.normB()));
                    parents.append(refNorm);
                }
            }
        }
        return Table.create("linear and SLERP interpolants, " + nameA + " to " + nameB, name, t, method, norm, cosA,
                cosB, parents);
    }

    /** The whole model's norm over t, linear against SLERP. */
    public Chart plot() {
        return plot(WHOLE_MODEL);
    }

    /** One tensor's norm over t (its full name), linear against SLERP, with the norm interpolated between parents. */
    public Chart plot(String tensor) {
        if (!tensor.equals(WHOLE_MODEL) && !names.contains(tensor)) {
            throw new IllegalArgumentException("no tensor '" + tensor + "' here; e.g. " + names.get(0));
        }
        Table c = curve();
        Table rows = c.where(c.stringColumn("name").isEqualTo(tensor));
        StringColumn series = StringColumn.create("series");
        DoubleColumn t = DoubleColumn.create("t");
        DoubleColumn norm = DoubleColumn.create("norm");
        for (int i = 0; i < rows.rowCount(); i++) {
            series.append(rows.stringColumn("method").get(i).equals("linear") ? "linear: (1 − t)·a + t·b"
                    : "SLERP (mergekit)");
            t.append(rows.doubleColumn("t").getDouble(i));
            norm.append(rows.doubleColumn("norm").getDouble(i));
        }
        for (int i = 0; i < rows.rowCount(); i += 2) {
            series.append("(1 − t)·‖a‖ + t·‖b‖");
            t.append(rows.doubleColumn("t").getDouble(i));
            norm.append(rows.doubleColumn("norm_parents").getDouble(i));
        }
        String what = tensor.equals(WHOLE_MODEL) ? "whole model" : tensor;
        Chart chart = LineChart.byGroup(Table.create("norm over t", series, t, norm), "t", "norm", "series",
                "norm of the interpolant p(t), " + what, "t (0: " + nameA + ", 1: " + nameB + ")", "‖p(t)‖");
        org.knowm.xchart.XYChart xy = (org.knowm.xchart.XYChart) chart.xchart();
        xy.getStyler().setXAxisDecimalPattern("0.0#");
        // The reference line goes underneath, thin and dashed: SLERP should be seen following it.
        org.knowm.xchart.XYSeries ref = xy.getSeries("(1 − t)·‖a‖ + t·‖b‖");
        ref.setLineColor(java.awt.Color.GRAY);
        ref.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
                10f, new float[] {6f, 4f}, 0f));
        ref.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        return chart;
    }

    /** The angle between the parents by layer, one line per module: where SLERP and linear differ most. */
    public Chart angles() {
        return LineChart.byGroup(where(intColumn("layer").isNotMissing()), "layer", "angle_deg", "module",
                "angle between " + nameA + " and " + nameB + " by layer", "layer", "angle θ (degrees)");
    }

    private static double[] grid(int steps) {
        double[] g = new double[steps + 1];
        for (int i = 0; i <= steps; i++) g[i] = (double) i / steps;
        return g;
    }
}
