package org.mergelab.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.Table;

/** Line charts drawn from tables: one series per group, x and y from numeric columns. */
public final class LineChart {
    /** A palette that stays distinguishable for the dozen modules a model has, and in print. */
    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf), new Color(0x393b79), new Color(0xad494a)};

    private LineChart() {}

    /**
     * One line per distinct value of {@code groupColumn}, plotting {@code yColumn} against {@code xColumn}; rows with
     * a missing x or y are skipped.
     */
    public static Chart byGroup(Table table, String xColumn, String yColumn, String groupColumn, String title,
                                String xLabel, String yLabel) {
        XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel)
                .build();
        style(c);
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        NumericColumn<?> x = table.numberColumn(xColumn);
        NumericColumn<?> y = table.numberColumn(yColumn);
        for (Row r : table) {
            int i = r.getRowNumber();
            if (x.isMissing(i) || y.isMissing(i)) continue;
            String g = table.column(groupColumn).getString(i);
            series.computeIfAbsent(g, k -> new ArrayList<>()).add(new double[] {x.getDouble(i), y.getDouble(i)});
        }
        int k = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            List<double[]> pts = e.getValue();
            pts.sort((p, q) -> Double.compare(p[0], q[0]));
            double[] xs = pts.stream().mapToDouble(p -> p[0]).toArray();
            double[] ys = pts.stream().mapToDouble(p -> p[1]).toArray();
            XYSeries s = c.addSeries(e.getKey(), xs, ys);
            s.setLineColor(PALETTE[k % PALETTE.length]);
            s.setMarkerColor(PALETTE[k % PALETTE.length]);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setLineStyle(new BasicStroke(2f));
            k++;
        }
        return new Chart(c);
    }

    static void style(XYChart c) {
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setPlotBackgroundColor(Color.WHITE);
        c.getStyler().setPlotGridLinesColor(new Color(0xdddddd));
        c.getStyler().setMarkerSize(6);
        c.getStyler().setDecimalPattern("#0.####");
        c.getStyler().setXAxisDecimalPattern("#0");
    }
}
