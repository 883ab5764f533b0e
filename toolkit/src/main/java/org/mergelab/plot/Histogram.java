package org.mergelab.plot;

import java.awt.BasicStroke;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;

/** Histograms drawn from binned tables: one outline per group, so several distributions overlay legibly. */
public final class Histogram {
    private Histogram() {}

    /**
     * Outlines of binned counts on a logarithmic x axis: each row is a bin {@code [low, high)} with height
     * {@code valueColumn}; one outline per distinct {@code groupColumn}. Empty bins at either end (empty in every
     * group) are cut off so the axis spans where the data is. Bin edges must be positive.
     */
    public static Chart logBins(Table table, String lowColumn, String highColumn, String valueColumn,
                                String groupColumn, String title, String xLabel, String yLabel) {
        NumericColumn<?> lo = table.numberColumn(lowColumn);
        NumericColumn<?> hi = table.numberColumn(highColumn);
        NumericColumn<?> v = table.numberColumn(valueColumn);
        double first = Double.POSITIVE_INFINITY, last = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < table.rowCount(); i++) {
            if (v.getDouble(i) > 0) {
                first = Math.min(first, lo.getDouble(i));
                last = Math.max(last, hi.getDouble(i));
            }
        }
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (int i = 0; i < table.rowCount(); i++) {
            double l = lo.getDouble(i), h = hi.getDouble(i);
            if (l < first || h > last || !(l > 0)) continue;
            series.computeIfAbsent(table.column(groupColumn).getString(i), k -> new ArrayList<>())
                    .add(new double[] {l, h, v.getDouble(i)});
        }
        XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel)
                .build();
        LineChart.style(c);
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setXAxisDecimalPattern("0.#E0");
        int k = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            List<double[]> bins = e.getValue();
            bins.sort((p, q) -> Double.compare(p[0], q[0]));
            double[] xs = new double[bins.size() * 2];
            double[] ys = new double[bins.size() * 2];
            for (int b = 0; b < bins.size(); b++) {
                xs[2 * b] = bins.get(b)[0];
                xs[2 * b + 1] = bins.get(b)[1];
                ys[2 * b] = bins.get(b)[2];
                ys[2 * b + 1] = bins.get(b)[2];
            }
            XYSeries s = c.addSeries(e.getKey(), xs, ys);
            s.setLineColor(LineChart.PALETTE[k % LineChart.PALETTE.length]);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineStyle(new BasicStroke(2f));
            k++;
        }
        return new Chart(c);
    }
}
