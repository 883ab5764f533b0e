package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.io.Llama2cExporter;

final class ExportLlama2cCommand implements Main.Command {
    @Override
    public String usage() {
        return "export-llama2c MODEL_DIR OUT.bin";
    }

    @Override
    public String summary() {
        return "Write a Hugging Face Llama folder (an import or a merge of imports) as a llama2.c v0 checkpoint,\n"
                + "to run it with llama2.c's own run program.";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of(), Set.of());
        Path dir = Path.of(a.positional(0, "MODEL_DIR"));
        Path bin = Path.of(a.positional(1, "OUT.bin"));
        a.expectPositionals(2);
        Llama2cExporter.export(dir, bin);
        out.println("wrote " + bin);
        return 0;
    }
}
