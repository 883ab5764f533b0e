package org.mergelab.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import org.mergelab.model.Generation;
import org.mergelab.model.Model;
import org.mergelab.model.Sampling;

final class GenerateCommand implements Main.Command {
    @Override
    public String usage() {
        return "generate MODEL --prompt TEXT [--max-new-tokens N] [--temperature T [--top-p P] [--top-k K] [--seed S]]"
                + " [--chat] [--stats]";
    }

    @Override
    public String summary() {
        return "Print what a model writes after a prompt: greedy unless --temperature is given.\n"
                + "MODEL is a Hugging Face folder, or a folder name under the model home ($MERGELAB_MODELS).\n\n"
                + "  --max-new-tokens N   at most N new tokens (default 128); stops earlier at EOS\n"
                + "  --temperature T      sample at temperature T (> 0) instead of greedy decoding\n"
                + "  --top-p P, --top-k K keep only the most likely tokens (nucleus / top-k sampling)\n"
                + "  --seed S             the sampler's seed (default 0: the same command prints the same text)\n"
                + "  --chat               wrap the prompt in the model's chat template as a user message\n"
                + "  --stats              print prompt length, tokens/s and why generation stopped (to stderr)";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("chat", "stats"),
                Set.of("prompt", "max-new-tokens", "temperature", "top-p", "top-k", "seed"));
        String modelName = a.positional(0, "MODEL");
        a.expectPositionals(1);
        String prompt = a.option("prompt");
        if (prompt == null) throw new Args.UsageException("missing --prompt TEXT");
        int maxNew = intOption(a, "max-new-tokens", 128);
        Sampling s = Sampling.greedy(maxNew);
        if (a.option("temperature") != null) {
            double temperature = doubleOption(a, "temperature");
            if (temperature <= 0) throw new Args.UsageException("--temperature must be > 0 (leave it out for greedy)");
            s = Sampling.sample(maxNew, temperature, Long.parseLong(a.option("seed", "0")));
            if (a.option("top-p") != null) s = s.withTopP(doubleOption(a, "top-p"));
            if (a.option("top-k") != null) s = s.withTopK(intOption(a, "top-k", 0));
        } else if (a.option("top-p") != null || a.option("top-k") != null || a.option("seed") != null) {
            throw new Args.UsageException("--top-p, --top-k and --seed need --temperature");
        }
        Model model = Model.load(modelName);
        String text = a.flag("chat") ? model.chatPrompt(prompt) : prompt;
        Generation g = model.generate(text, s);
        out.println(g.text());
        if (a.flag("stats")) {
            System.err.printf("%s: %d prompt tokens, %d new (%s); prefill %.1f tokens/s, decode %.1f tokens/s%n",
                    model.name(), g.promptIds().length, g.ids().length, g.stoppedBy(), g.prefillTokensPerSecond(),
                    g.decodeTokensPerSecond());
        }
        return 0;
    }

    static int intOption(Args a, String name, int fallback) {
        String v = a.option(name);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--" + name + " expects an integer, not '" + v + "'");
        }
    }

    static double doubleOption(Args a, String name) {
        String v = a.option(name);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--" + name + " expects a number, not '" + v + "'");
        }
    }
}
