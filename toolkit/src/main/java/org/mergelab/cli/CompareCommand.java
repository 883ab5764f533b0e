package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.analysis.Divergence;
import org.mergelab.analysis.LayerDivergence;
import org.mergelab.analysis.TensorPairStats;
import tech.tablesaw.api.Table;

final class CompareCommand implements Main.Command {
    @Override
    public String usage() {
        return "compare A B [--csv FILE] [--layers-csv FILE] [--png FILE] [--svg FILE] [--top N]";
    }

    @Override
    public String summary() {
        return "How far model B is from model A, tensor by tensor (cosine, L2, relative change, norms).\n"
                + "A and B are Hugging Face folders (or .safetensors files).\n\n"
                + "  --csv FILE         the per-tensor table\n"
                + "  --layers-csv FILE  the per-layer, per-module table\n"
                + "  --png FILE         the chart of cosine similarity by layer, one line per module (--svg likewise)\n"
                + "  --top N            how many of the most changed tensors to print (default 10)";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of(), Set.of("csv", "layers-csv", "png", "svg", "top"));
        Path pa = Path.of(a.positional(0, "model A"));
        Path pb = Path.of(a.positional(1, "model B"));
        a.expectPositionals(2);
        Divergence d = Divergence.between(pa, pb);
        LayerDivergence layers = d.byLayer();
        TensorPairStats total = d.total();
        out.printf("%s vs %s: %d tensors compared, whole-model cosine %.6f, relative change %.4f%n", d.modelB(),
                d.modelA(), d.rowCount(), total.cosine(), total.relChange());
        if (d.unmatched().rowCount() > 0) {
            out.println(d.unmatched().rowCount() + " tensors not compared:");
            out.println(d.unmatched().print());
        }
        int top = Integer.parseInt(a.option("top", "10"));
        if (top > 0 && d.rowCount() > 0) {
            Table most = d.sortDescendingOn("rel_change").first(top).selectColumns("name", "cosine", "rel_change");
            out.println("most changed tensors:");
            out.println(most.printAll());
        }
        if (a.option("csv") != null) {
            d.write().csv(a.option("csv"));
            out.println("wrote " + a.option("csv"));
        }
        if (a.option("layers-csv") != null) {
            layers.write().csv(a.option("layers-csv"));
            out.println("wrote " + a.option("layers-csv"));
        }
        for (String fmt : List.of("png", "svg")) {
            if (a.option(fmt) != null) {
                layers.plot().save(Path.of(a.option(fmt)));
                out.println("wrote " + a.option(fmt));
            }
        }
        return 0;
    }
}
