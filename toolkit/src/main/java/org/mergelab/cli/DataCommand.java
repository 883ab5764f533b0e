package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.hub.DataManifest;
import org.mergelab.hub.SharedData;
import tech.tablesaw.api.Table;

final class DataCommand implements Main.Command {
    @Override
    public String usage() {
        return "data [DATA_DIR]";
    }

    @Override
    public String summary() {
        return "Check the data folder ($MERGELAB_DATA, default ../shared beside the checkout) against\n"
                + "datasets/manifest.json: every model and corpus present, with the right size and sha256.\n"
                + "Exits 1 if anything is missing or differs; the table says where each file comes from.";
    }

    @Override
    public int run(List<String> argv, PrintStream out) {
        Args a = Args.parse(argv, Set.of(), Set.of());
        a.expectPositionals(1);
        Path root = a.positionals().isEmpty() ? SharedData.root() : Path.of(a.positional(0, "DATA_DIR"));
        Table t = DataManifest.load().check(root);
        out.println(t.selectColumns("path", "status", "licence").printAll());
        long bad = t.stringColumn("status").asList().stream().filter(s -> !s.equals("ok")).count();
        out.println(bad == 0 ? "all " + t.rowCount() + " files present and intact in " + root
                : bad + " of " + t.rowCount() + " files missing or different in " + root
                + "; datasets/manifest.json gives each one's origin");
        return bad == 0 ? 0 : 1;
    }
}
