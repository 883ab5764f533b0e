package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.mergelab.model.Model;
import org.mergelab.model.Perplexity;

final class EvalCommand implements Main.Command {
    @Override
    public String usage() {
        return "eval MODEL --text FILE [--window N] [--max-bytes N]";
    }

    @Override
    public String summary() {
        return "Perplexity of a model on a text file: BOS, then the text's tokens, each scored once, in consecutive\n"
                + "windows of N scored tokens, each window run from an empty cache (with the token before it as context).\n"
                + "Prints 'perplexity: X' and the token count. MODEL is a folder or a name under the model home.\n\n"
                + "  --window N      scored tokens per window (default: the model's context minus one)\n"
                + "  --max-bytes N   read only the file's first N bytes (the model cards use 40000)";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of(), Set.of("text", "window", "max-bytes"));
        String modelName = a.positional(0, "MODEL");
        a.expectPositionals(1);
        if (a.option("text") == null) throw new Args.UsageException("missing --text FILE");
        Path file = Path.of(a.option("text"));
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("text file " + file + " does not exist");
        int window = GenerateCommand.intOption(a, "window", 0);
        int maxBytes = GenerateCommand.intOption(a, "max-bytes", -1);
        Model model = Model.load(modelName);
        Perplexity p = Perplexity.of(model, Perplexity.readText(file, maxBytes), window);
        out.println(String.format(Locale.ROOT, "perplexity: %.4f", p.perplexity()));
        out.println(String.format(Locale.ROOT, "tokens: %d (BOS and the text; %d scored in windows of %d)",
                p.tokens(), p.scored(), p.window()));
        return 0;
    }
}
