package org.mergelab.plot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.XYChart;
import org.mergelab.testing.Images;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** The chart kinds on small hand-made tables: what they draw, and that odd inputs still draw. */
class ChartKindsTest {
    @Test
    void heatmapPutsOneCellPerRowAndSkipsMissingValues() {
        Table t = Table.create("t", StringColumn.create("module", List.of("q", "k", "q", "k")),
                IntColumn.create("layer", 0, 0, 1, 1), DoubleColumn.create("v", 0.1, Double.NaN, 0.3, 0.4));
        Chart c = Heatmap.of(t, "module", "layer", "v", "values by layer", "module", "layer", "v");
        HeatMapChart h = (HeatMapChart) c.xchart();
        assertEquals(List.of("q", "k"), h.getHeatMapSeries().getXData());
        assertEquals(List.of("0", "1"), h.getHeatMapSeries().getYData());
        assertEquals(3, h.getHeatMapSeries().getHeatData().size(), "the NaN cell is left blank");
        Images.assertRenders(c, "values by layer");
        // A constant map still has a colour scale.
        Table flat = Table.create("t", StringColumn.create("x", List.of("a", "b")), IntColumn.create("y", 0, 0),
                DoubleColumn.create("v", 2.0, 2.0));
        Images.assertRenders(Heatmap.of(flat, "x", "y", "v", "flat", "x", "y", "v"), "flat");
    }

    @Test
    void stepChartHoldsEachValueOverItsLayer() {
        Table t = Table.create("t", StringColumn.create("g", List.of("a", "a", "a")), IntColumn.create("layer", 0, 1, 2),
                DoubleColumn.create("v", 0, 0.5, 1));
        Chart c = StepChart.byGroup(t, "layer", "v", "g", "steps", "layer", "v");
        XYChart xy = (XYChart) c.xchart();
        double[] x = xy.getSeries("a").getXData();
        double[] y = xy.getSeries("a").getYData();
        assertArrayEquals(new double[] {-0.5, 0, 0.5, 0.5, 1, 1.5, 1.5, 2, 2.5}, x);
        assertArrayEquals(new double[] {0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1}, y);
        Images.assertRenders(c, "steps");
    }

    @Test
    void logHistogramOutlinesTheNonEmptyRange() {
        Table t = Table.create("t", StringColumn.create("m", List.of("a", "a", "a", "a")),
                DoubleColumn.create("low", 1e-4, 1e-3, 1e-2, 1e-1), DoubleColumn.create("high", 1e-3, 1e-2, 1e-1, 1),
                DoubleColumn.create("f", 0, 0.25, 0.75, 0));
        Chart c = Histogram.logBins(t, "low", "high", "f", "m", "magnitudes", "|x|", "fraction");
        XYChart xy = (XYChart) c.xchart();
        assertTrue(xy.getStyler().isXAxisLogarithmic());
        // Only the two non-empty bins: an outline through their edges.
        assertArrayEquals(new double[] {1e-3, 1e-2, 1e-2, 1e-1}, xy.getSeries("a").getXData());
        assertArrayEquals(new double[] {0.25, 0.25, 0.75, 0.75}, xy.getSeries("a").getYData());
        Images.assertRenders(c, "magnitudes");
    }
}
