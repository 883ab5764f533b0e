package org.mergelab.merge;

import java.nio.file.Path;
import java.util.List;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * What a merge did: per tensor the method, the parameter values it used and the time it took, plus totals.
 *
 * @param output     where the model was written (null for an in-memory merge)
 * @param randomSeed the seed of the merge's random numbers ({@code --random-seed}; drawn at random when not given):
 *                   passing it again reproduces a DARE or DELLA merge exactly
 * @param random     whether the method drew random numbers
 */
public record MergeReport(Path output, String method, List<Entry> entries, long bytesRead, long bytesWritten,
                          double seconds, List<String> warnings, long randomSeed, boolean random) {
    public record Entry(String tensor, int layer, String how, String parameters, String dtype, double millis) {}

    /** One row per tensor: tensor, layer, how (method, passthrough or copy), parameters, dtype, ms. */
    public Table table() {
        Table t = Table.create("merge report");
        StringColumn tensor = StringColumn.create("tensor");
        IntColumn layer = IntColumn.create("layer");
        StringColumn how = StringColumn.create("how");
        StringColumn params = StringColumn.create("parameters");
        StringColumn dtype = StringColumn.create("dtype");
        DoubleColumn ms = DoubleColumn.create("ms");
        for (Entry e : entries) {
            tensor.append(e.tensor());
            if (e.layer() >= 0) layer.append(e.layer()); else layer.appendMissing();
            how.append(e.how());
            params.append(e.parameters());
            dtype.append(e.dtype());
            ms.append(e.millis());
        }
        return t.addColumns(tensor, layer, how, params, dtype, ms);
    }

    public String summary() {
        return String.format("%s: %d tensors, %.1f MB read, %.1f MB written in %.2f s%s%s", method, entries.size(),
                bytesRead / 1e6, bytesWritten / 1e6, seconds, random ? " (random seed " + randomSeed + ")" : "",
                output == null ? "" : " -> " + output);
    }
}
