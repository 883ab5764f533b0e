package org.mergelab.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * A sweep's measurements, one row per (value, domain): {@code t, domain, perplexity, tokens}. {@link #plot()} draws
 * perplexity against t, one line per domain (log scale: domains differ by orders of magnitude).
 */
public final class SweepResult extends Table {
    private final String parameter;

    SweepResult(String parameter) {
        super("perplexity along " + parameter);
        this.parameter = parameter;
        addColumns(DoubleColumn.create(parameter), StringColumn.create("domain"), DoubleColumn.create("perplexity"),
                IntColumn.create("tokens"));
    }

    void add(double t, String domain, Perplexity p) {
        doubleColumn(parameter).append(t);
        stringColumn("domain").append(domain);
        doubleColumn("perplexity").append(p.perplexity());
        intColumn("tokens").append(p.scored());
    }

    /** Perplexity against the parameter, one line per domain. */
    public Chart plot() {
        Chart c = LineChart.byGroup(this, parameter, "perplexity", "domain", "perplexity per domain along "
                + parameter, parameter, "perplexity (log scale)");
        XYChart x = (XYChart) c.xchart();
        x.getStyler().setYAxisLogarithmic(true);
        x.getStyler().setXAxisDecimalPattern("0.##");
        x.getStyler().setYAxisDecimalPattern("#,##0.#");
        return c;
    }

    /** The value with the lowest perplexity on {@code domain}. */
    public double best(String domain) {
        double best = Double.NaN, lowest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < rowCount(); i++) {
            if (stringColumn("domain").get(i).equals(domain) && doubleColumn("perplexity").get(i) < lowest) {
                lowest = doubleColumn("perplexity").get(i);
                best = doubleColumn(parameter).get(i);
            }
        }
        return best;
    }

    /**
     * The value that balances the domains: lowest mean log-perplexity across them (the geometric mean of the
     * perplexities), so that no single domain's scale dominates.
     */
    public double balanced() {
        Map<Double, List<Double>> logs = new LinkedHashMap<>();
        for (int i = 0; i < rowCount(); i++) {
            logs.computeIfAbsent(doubleColumn(parameter).get(i), k -> new ArrayList<>())
                    .add(Math.log(doubleColumn("perplexity").get(i)));
        }
        double best = Double.NaN, lowest = Double.POSITIVE_INFINITY;
        for (Map.Entry<Double, List<Double>> e : logs.entrySet()) {
            double mean = e.getValue().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            if (mean < lowest) {
                lowest = mean;
                best = e.getKey();
            }
        }
        return best;
    }

    /** One row per value, one column per domain. */
    public Table wide() {
        Map<String, DoubleColumn> cols = new LinkedHashMap<>();
        List<Double> ts = new ArrayList<>();
        for (int i = 0; i < rowCount(); i++) {
            double t = doubleColumn(parameter).get(i);
            if (!ts.contains(t)) ts.add(t);
            cols.computeIfAbsent(stringColumn("domain").get(i), DoubleColumn::create);
        }
        DoubleColumn tCol = DoubleColumn.create(parameter, ts.stream().mapToDouble(Double::doubleValue).toArray());
        Table out = Table.create(name(), tCol);
        for (Map.Entry<String, DoubleColumn> e : cols.entrySet()) {
            for (double t : ts) {
                double v = Double.NaN;
                for (int i = 0; i < rowCount(); i++) {
                    if (doubleColumn(parameter).get(i) == t && stringColumn("domain").get(i).equals(e.getKey())) {
                        v = doubleColumn("perplexity").get(i);
                    }
                }
                e.getValue().append(v);
            }
            out.addColumns(e.getValue());
        }
        return out;
    }
}
