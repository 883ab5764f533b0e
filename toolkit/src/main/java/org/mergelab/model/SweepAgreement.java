package org.mergelab.model;

import org.knowm.xchart.XYChart;
import org.mergelab.plot.Chart;
import org.mergelab.plot.LineChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How far a sweep's models are from reference models, one row per (value, reference):
 * {@code t, reference, kl, top1_agreement}. {@link #plot()} draws KL against t, one line per reference.
 */
public final class SweepAgreement extends Table {
    private final String parameter;

    SweepAgreement(String parameter) {
        super("next-token divergence along " + parameter);
        this.parameter = parameter;
        addColumns(DoubleColumn.create(parameter), StringColumn.create("reference"), DoubleColumn.create("kl"),
                DoubleColumn.create("top1_agreement"));
    }

    void add(double t, String reference, double kl, double top1) {
        doubleColumn(parameter).append(t);
        stringColumn("reference").append(reference);
        doubleColumn("kl").append(kl);
        doubleColumn("top1_agreement").append(top1);
    }

    /** KL(model at t || reference) against t, one line per reference. */
    public Chart plot() {
        return plot("kl");
    }

    /** {@code kl} or {@code top1_agreement} against t, one line per reference. */
    public Chart plot(String column) {
        String label = column.equals("kl") ? "KL(merged || reference), nats per token" : "top-1 agreement";
        Chart c = LineChart.byGroup(this, parameter, column, "reference", label + " along " + parameter, parameter,
                label);
        ((XYChart) c.xchart()).getStyler().setXAxisDecimalPattern("0.##");
        return c;
    }
}
