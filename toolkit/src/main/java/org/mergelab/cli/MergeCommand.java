package org.mergelab.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.merge.Correction;
import org.mergelab.merge.Merge;
import org.mergelab.merge.MergeOptions;
import org.mergelab.merge.MergePlan;
import org.mergelab.merge.MergeReport;
import org.mergelab.io.Checkpoint;
import org.mergelab.recipe.Recipe;

final class MergeCommand implements Main.Command {
    @Override
    public String usage() {
        return "merge RECIPE.yml OUT_DIR [--dry-run] [--force] [--out-shard-size SIZE] [--threads N] [--quiet]\n"
                + "       [--no-copy-tokenizer] [--no-write-model-card] [--random-seed N] [--correct NAME[,NAME]]\n"
                + "       [--allow-crimes] [--no-safe-serialization]";
    }

    @Override
    public String summary() {
        return "Merge models as a mergekit recipe says (the same YAML mergekit-yaml reads).\n"
                + "Models are local Hugging Face folders: a path, a path relative to the recipe, or a folder name\n"
                + "under $MERGELAB_MODELS (default ~/.cache/mergelab/models, where `mergelab demo` imports the\n"
                + "stories260K family). OUT_DIR is written under a temporary name and appears only when complete.\n\n"
                + "  --dry-run              print the plan (one line per tensor: inputs, parameters) and stop\n"
                + "  --force                replace an existing OUT_DIR, once the new one is complete\n"
                + "  --out-shard-size SIZE  largest output shard in bytes, with k/m/b suffixes (default 5B)\n"
                + "  --threads N            worker threads (default: all cores)\n"
                + "  --no-copy-tokenizer    do not copy the base model's tokenizer files\n"
                + "  --no-write-model-card  do not write README.md and mergekit_config.yml\n"
                + "  --random-seed N        seed of the random numbers of dare_ties, dare_linear, della, della_linear\n"
                + "                         and arcee_fusion: the same seed gives the same merge, whatever --threads\n"
                + "                         (default: a random seed, printed with the result)\n"
                + "  --correct NAME[,NAME]  fix mergekit behaviours (by default MergeLab reproduces mergekit 0.1.5):\n"
                + corrections()
                + "  --allow-crimes         merge models of different architectures (tensor names and shapes must\n"
                + "                         still match), with the base model's layout\n"
                + "  --no-safe-serialization  write pytorch_model.bin shards instead of safetensors\n"
                + "  --quiet                no progress bar\n\n"
                + "Accepted for compatibility, with nothing to do: --copy-tokenizer, --write-model-card,\n"
                + "--safe-serialization (the defaults), --clone-tensors (every tensor is written on its own already),\n"
                + "--lazy-unpickle (.bin checkpoints are always read lazily, without running code).\n"
                + "mergekit-yaml options that do not apply (MergeLab runs on the CPU, on every core, streaming): --cuda,\n"
                + "--device, --low-cpu-memory, --read-to-gpu, --multi-gpu, --gpu-rich, --async-write, --write-threads,\n"
                + "-j/--num-threads (use --threads), --trust-remote-code (no model code is ever run),\n"
                + "--lora-merge-cache and --transformers-cache (Hub models use the Hugging Face cache: $HF_HUB_CACHE).";
    }

    private static String corrections() {
        StringBuilder sb = new StringBuilder();
        for (Correction c : Correction.values()) {
            sb.append(String.format("      %-26s %s%n", c.cliName(), c.description()));
        }
        return sb.toString();
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of("dry-run", "force", "quiet", "no-copy-tokenizer", "no-write-model-card",
                "copy-tokenizer", "write-model-card", "allow-crimes", "safe-serialization", "no-safe-serialization",
                "clone-tensors", "lazy-unpickle"), Set.of("out-shard-size", "threads", "random-seed", "correct"));
        Path recipePath = Path.of(a.positional(0, "RECIPE.yml"));
        Recipe recipe = Recipe.load(recipePath);
        recipe.warnings().forEach(w -> System.err.println("warning: " + w));
        boolean crimes = a.flag("allow-crimes");
        if (a.flag("dry-run")) {
            a.expectPositionals(2);
            MergePlan plan = Merge.plan(recipe, MergeOptions.defaults().withAllowCrimes(crimes));
            try {
                out.print(plan.describe());
            } finally {
                plan.checkpoints().values().forEach(Checkpoint::close);
            }
            return 0;
        }
        Path dir = Path.of(a.positional(1, "OUT_DIR"));
        a.expectPositionals(2);
        MergeOptions o = MergeOptions.defaults().withOverwrite(a.flag("force"))
                .withCopyTokenizer(!a.flag("no-copy-tokenizer")).withWriteModelCard(!a.flag("no-write-model-card"))
                .withAllowCrimes(crimes).withSafeSerialization(!a.flag("no-safe-serialization"));
        if (a.option("out-shard-size") != null) o = o.withOutShardBytes(MergeOptions.parseSize(a.option("out-shard-size")));
        if (a.option("threads") != null) o = o.withThreads(Integer.parseInt(a.option("threads")));
        if (a.option("random-seed") != null) o = o.withRandomSeed(parseSeed(a.option("random-seed")));
        if (a.option("correct") != null) o = o.withCorrections(Correction.parseList(a.option("correct")));
        if (!a.flag("quiet")) o = o.withProgress(new ProgressBar(System.err, "merging"));
        MergePlan plan = Merge.plan(recipe, o);
        plan.warnings().stream().filter(w -> !recipe.warnings().contains(w))
                .forEach(w -> System.err.println("warning: " + w));
        MergeReport r;
        try {
            r = Merge.run(plan, dir, o);
        } finally {
            plan.checkpoints().values().forEach(Checkpoint::close);
        }
        out.println(r.summary());
        return 0;
    }

    private static long parseSeed(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--random-seed takes an integer, not '" + s + "'");
        }
    }
}
