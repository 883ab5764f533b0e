package org.mergelab.analysis;

import java.util.Map;
import org.mergelab.plot.Chart;
import org.mergelab.plot.Histogram;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How large task-vector entries are: per model, counts of |δ| in bins a tenth of a decade wide
 * ({@code model, low, high, count, fraction}); the first bin holds everything below 1e-8, exact zeros included,
 * and {@code zeros} says how many of those are exactly 0.
 */
public final class MagnitudeHistogram extends Table {
    private final String base;

    private MagnitudeHistogram(String title, String base) {
        super(title);
        this.base = base;
    }

    static MagnitudeHistogram of(String base, Map<String, long[]> counts, Map<String, Long> zeros) {
        MagnitudeHistogram t = new MagnitudeHistogram("task-vector magnitudes against " + base, base);
        StringColumn model = StringColumn.create("model");
        DoubleColumn low = DoubleColumn.create("low");
        DoubleColumn high = DoubleColumn.create("high");
        LongColumn count = LongColumn.create("count");
        DoubleColumn fraction = DoubleColumn.create("fraction");
        LongColumn zero = LongColumn.create("zeros");
        double[] lower = TaskVectorScan.LOWER;
        for (Map.Entry<String, long[]> e : counts.entrySet()) {
            long total = 0;
            for (long c : e.getValue()) total += c;
            long[] h = e.getValue();
            for (int b = 0; b < h.length; b++) {
                model.append(e.getKey());
                low.append(b == 0 ? 0 : lower[b]);
                high.append(b + 1 < h.length ? lower[b + 1] : Double.POSITIVE_INFINITY);
                count.append(h[b]);
                fraction.append(total == 0 ? Double.NaN : (double) h[b] / total);
                zero.append(b == 0 ? zeros.get(e.getKey()) : 0);
            }
        }
        t.addColumns(model, low, high, count, fraction, zero);
        return t;
    }

    /** The histograms on a logarithmic |δ| axis, one outline per model (the open-ended end bins left out). */
    public Chart plot() {
        Table inner = where(doubleColumn("low").isGreaterThan(0).and(doubleColumn("high").isLessThan(
                Double.POSITIVE_INFINITY)));
        return Histogram.logBins(inner, "low", "high", "fraction", "model",
                "task-vector magnitudes |δ| against " + base, "|δ| (log scale)", "fraction of entries per bin");
    }
}
