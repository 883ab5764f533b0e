package org.mergelab.analysis;

import java.util.List;
import org.mergelab.plot.Chart;
import org.mergelab.plot.Heatmap;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Cosines between task vectors as a matrix: a {@code model} column and one column per model. Near 0: the fine-tunes
 * moved in unrelated directions (they can be added with little interference); clearly positive: they share a
 * direction; negative: they pull against each other.
 */
public final class CosineMatrix extends Table {
    private final List<String> models;

    CosineMatrix(String title, List<String> models, double[][] dots) {
        super(title);
        this.models = List.copyOf(models);
        StringColumn model = StringColumn.create("model", models);
        addColumns(model);
        for (int j = 0; j < models.size(); j++) {
            DoubleColumn c = DoubleColumn.create(models.get(j));
            for (int i = 0; i < models.size(); i++) c.append(cosine(dots, i, j));
            addColumns(c);
        }
    }

    static double cosine(double[][] dots, int i, int j) {
        double d = Math.sqrt(dots[i][i]) * Math.sqrt(dots[j][j]);
        return d == 0 ? Double.NaN : Math.max(-1, Math.min(1, dots[i][j] / d));
    }

    public List<String> models() {
        return models;
    }

    /** The cosine of model {@code a}'s task vector with model {@code b}'s. */
    public double get(String a, String b) {
        int i = models.indexOf(a);
        if (i < 0 || !models.contains(b)) throw new IllegalArgumentException("models here: " + models);
        return doubleColumn(b).getDouble(i);
    }

    /**
     * The matrix as a heat map, values written in the cells. The diagonal (always 1) is left blank so the colour
     * scale spans the cosines between different models.
     */
    public Chart plot() {
        StringColumn a = StringColumn.create("model_a");
        StringColumn b = StringColumn.create("model_b");
        DoubleColumn cos = DoubleColumn.create("cosine");
        for (String x : models) {
            for (int i = models.size() - 1; i >= 0; i--) {
                a.append(x);
                b.append(models.get(i));
                cos.append(models.get(i).equals(x) ? Double.NaN : get(models.get(i), x));
            }
        }
        return Heatmap.of(Table.create(name(), a, b, cos), "model_a", "model_b", "cosine", name(), "task vector",
                "task vector", "cosine");
    }
}
