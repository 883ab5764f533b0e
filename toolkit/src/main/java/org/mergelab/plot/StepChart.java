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

/**
 * Step lines drawn from tables: a value held over each integer x (a layer) from x − ½ to x + ½, one line per group.
 * Values that change by layer read as what they are, one number per layer, not a slope between layers.
 */
public final class StepChart {
    private StepChart() {}

    /** One step line per distinct {@code groupColumn}; rows with a missing x or y are skipped. x must be whole numbers. */
    public static Chart byGroup(Table table, String xColumn, String yColumn, String groupColumn, String title,
                                String xLabel, String yLabel) {
        NumericColumn<?> x = table.numberColumn(xColumn);
        NumericColumn<?> y = table.numberColumn(yColumn);
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (int i = 0; i < table.rowCount(); i++) {
            if (x.isMissing(i) || y.isMissing(i)) continue;
            series.computeIfAbsent(table.column(groupColumn).getString(i), k -> new ArrayList<>())
                    .add(new double[] {x.getDouble(i), y.getDouble(i)});
        }
        XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel)
                .build();
        LineChart.style(c);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (List<double[]> pts : series.values()) {
            for (double[] p : pts) {
                lo = Math.min(lo, p[0]);
                hi = Math.max(hi, p[0]);
            }
        }
        if (lo <= hi) {
            // Whole numbers at both ends keep the ticks on whole layers.
            c.getStyler().setXAxisMin(lo - 1);
            c.getStyler().setXAxisMax(hi + 1);
        }
        c.getStyler().setXAxisTickMarkSpacingHint(30);
        c.getStyler().setXAxisDecimalPattern("0");
        int k = 0;
        float[] widths = {4.5f, 3f, 2f, 1.5f};
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            List<double[]> pts = e.getValue();
            pts.sort((p, q) -> Double.compare(p[0], q[0]));
            double[] xs = new double[pts.size() * 3];
            double[] ys = new double[pts.size() * 3];
            for (int i = 0; i < pts.size(); i++) {
                for (int j = 0; j < 3; j++) {
                    xs[3 * i + j] = pts.get(i)[0] + (j - 1) * 0.5;
                    ys[3 * i + j] = pts.get(i)[1];
                }
            }
            XYSeries s = c.addSeries(e.getKey(), xs, ys);
            s.setLineColor(LineChart.PALETTE[k % LineChart.PALETTE.length]);
            s.setMarker(SeriesMarkers.NONE);
            // Lines that coincide over some layers stay visible: earlier series are drawn wider, underneath.
            s.setLineStyle(new BasicStroke(widths[Math.min(k, widths.length - 1)]));
            k++;
        }
        return new Chart(c);
    }
}
