package org.mergelab.plot;

import java.awt.Color;
import java.awt.Font;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.style.Styler;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** Heat maps drawn from long tables: one cell per (x, y) pair, coloured by a numeric column. */
public final class Heatmap {
    /** Light to dark blue: small values recede, large ones stand out, and it prints in grey. */
    static final Color[] SEQUENTIAL = {new Color(0xf7fbff), new Color(0xc6dbef), new Color(0x6baed6),
            new Color(0x2171b5), new Color(0x08306b)};

    private Heatmap() {}

    /**
     * A heat map of {@code valueColumn} with one column of cells per distinct value of {@code xColumn} (in order of
     * first appearance) and one row per distinct value of {@code yColumn} (numbers in ascending order, text in order
     * of appearance). Missing and NaN values are left blank.
     */
    public static Chart of(Table table, String xColumn, String yColumn, String valueColumn, String title,
                           String xLabel, String yLabel, String valueLabel) {
        Column<?> xc = table.column(xColumn);
        Column<?> yc = table.column(yColumn);
        NumericColumn<?> v = table.numberColumn(valueColumn);
        List<String> xs = new ArrayList<>();
        for (int i = 0; i < table.rowCount(); i++) {
            String x = xc.getString(i);
            if (!xs.contains(x)) xs.add(x);
        }
        List<String> ys = new ArrayList<>();
        if (yc instanceof NumericColumn<?> ny) {
            TreeSet<Double> sorted = new TreeSet<>();
            for (int i = 0; i < table.rowCount(); i++) if (!ny.isMissing(i)) sorted.add(ny.getDouble(i));
            for (double d : sorted) ys.add(format(d));
        } else {
            for (int i = 0; i < table.rowCount(); i++) {
                String y = yc.getString(i);
                if (!ys.contains(y)) ys.add(y);
            }
        }
        Map<String, Number[]> cells = new LinkedHashMap<>();
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < table.rowCount(); i++) {
            if (v.isMissing(i) || yc.isMissing(i)) continue;
            double value = v.getDouble(i);
            if (!Double.isFinite(value)) continue;
            String y = yc instanceof NumericColumn<?> ny ? format(ny.getDouble(i)) : yc.getString(i);
            int xi = xs.indexOf(xc.getString(i)), yi = ys.indexOf(y);
            cells.put(xi + "," + yi, new Number[] {xi, yi, value});
            min = Math.min(min, value);
            max = Math.max(max, value);
        }
        int longest = xs.stream().mapToInt(String::length).max().orElse(0);
        HeatMapChart c = new HeatMapChartBuilder().width(Math.max(640, Math.max(90, 8 * longest) * xs.size() + 300))
                .height(Math.max(360, Math.min(900, 28 * ys.size() + 160))).title(title).xAxisTitle(xLabel)
                .yAxisTitle(yLabel).build();
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotBackgroundColor(Color.WHITE);
        c.getStyler().setRangeColors(SEQUENTIAL);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setShowValue(xs.size() * ys.size() <= 120);
        c.getStyler().setValueFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        c.getStyler().setHeatMapValueDecimalPattern(pattern(min, max));
        c.getStyler().setDecimalPattern(pattern(min, max));
        c.getStyler().setDrawBorder(true);
        if (min <= max) {
            // The colour scale's legend prints its ends as plain doubles: round them outwards to a few digits.
            double span = max > min ? max - min : Math.max(1e-12, Math.abs(min) * 1e-3);
            int digits = (int) Math.ceil(-Math.log10(span)) + 1;
            c.getStyler().setMin(round(min, digits, java.math.RoundingMode.FLOOR));
            c.getStyler().setMax(round(max == min ? max + span : max, digits, java.math.RoundingMode.CEILING));
        }
        c.addSeries(valueLabel, xs, ys, new ArrayList<>(cells.values()));
        return new Chart(c);
    }

    private static double round(double v, int digits, java.math.RoundingMode mode) {
        return new java.math.BigDecimal(v).setScale(Math.max(0, digits), mode).doubleValue();
    }

    private static String format(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    /** Enough digits to tell the cells apart. */
    static String pattern(double min, double max) {
        double span = Math.max(Math.abs(max), Math.abs(min));
        double range = max - min;
        if (!(span > 0)) return "0.###";
        if (span >= 100) return "#,##0";
        double resolution = range > 0 ? range / 20 : span / 1000;
        int digits = (int) Math.max(2, Math.min(6, Math.ceil(-Math.log10(resolution))));
        return "0." + "0".repeat(digits);
    }
}
