package org.mergelab.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.mergelab.analysis.Divergence;
import org.mergelab.analysis.LayerDivergence;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.ModelLocator;
import org.mergelab.hub.SharedData;
import org.mergelab.io.Checkpoint;
import org.mergelab.merge.Merge;
import org.mergelab.merge.MergeOptions;
import org.mergelab.merge.MergePlan;
import org.mergelab.merge.MergeReport;
import org.mergelab.recipe.Recipe;

/**
 * The main job on the embedded default, as notebook 01 does it: import stories260K and its Shakespeare fine-tune,
 * see where they differ, SLERP them with the recipe in recipes/stories260K/slerp-shakespeare.yml, and see where the
 * merge sits between its parents.
 */
final class DemoCommand implements Main.Command {
    static final String RECIPE = "stories260K/slerp-shakespeare.yml";
    static final String BASE = "stories260K";
    static final String TUNED = "stories260K-shakespeare";

    @Override
    public String usage() {
        return "demo [OUT_DIR]";
    }

    @Override
    public String summary() {
        return "Run MergeLab's main path on real models and write every result into OUT_DIR (default ./mergelab-demo):\n"
                + "imports karpathy's stories260K and its Shakespeare fine-tune from the data folder ($MERGELAB_DATA,\n"
                + "default ../shared beside the checkout), tabulates and charts how they differ by layer, merges them\n"
                + "with the SLERP recipe " + RECIPE + " (embedded), and compares the merge with each parent.";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of(), Set.of());
        Path dir = Path.of(a.positionals().isEmpty() ? "mergelab-demo" : a.positional(0, "OUT_DIR")).toAbsolutePath();
        a.expectPositionals(1);
        Files.createDirectories(dir);
        out.println("MergeLab demo: data from " + SharedData.root() + ", results in " + dir);

        Path models = dir.resolve("models");
        Path base = DemoModels.ensure(BASE, models);
        Path tuned = DemoModels.ensure(TUNED, models);
        out.println("1. imported " + base + " and " + tuned + " (llama2.c -> Hugging Face)");

        Divergence parents = Divergence.between(base, tuned);
        write(out, dir, "parents", parents);

        Path recipeFile = dir.resolve("slerp-shakespeare.yml");
        Files.write(recipeFile, embeddedRecipe(RECIPE));
        Recipe recipe = Recipe.load(recipeFile);
        Path merged = dir.resolve("merged-slerp");
        MergePlan plan = Merge.plan(recipe, new ModelLocator(List.of(models)));
        MergeReport report;
        try {
            report = Merge.run(plan, merged, MergeOptions.defaults().withOverwrite(true));
        } finally {
            plan.checkpoints().values().forEach(Checkpoint::close);
        }
        report.table().write().csv(dir.resolve("merge-report.csv").toString());
        out.println("3. " + report.summary());

        for (String parent : List.of(BASE, TUNED)) {
            Divergence d = Divergence.between(models.resolve(parent), merged);
            write(out, dir, "merged-vs-" + parent, d);
        }
        out.println("done: everything is in " + dir);
        return 0;
    }

    private static void write(PrintStream out, Path dir, String label, Divergence d) throws IOException {
        LayerDivergence layers = d.byLayer();
        d.write().csv(dir.resolve("divergence-" + label + ".csv").toString());
        layers.write().csv(dir.resolve("divergence-" + label + "-by-layer.csv").toString());
        layers.plot().save(dir.resolve("divergence-" + label + ".png"));
        out.printf("%s %s vs %s, whole-model cosine %.6f, relative change %.4f -> divergence-%s.{csv,png}%n",
                label.startsWith("parents") ? "2." : "4.", d.modelB(), d.modelA(), d.total().cosine(),
                d.total().relChange(), label);
    }

    static byte[] embeddedRecipe(String name) throws IOException {
        try (InputStream in = DemoCommand.class.getResourceAsStream("/org/mergelab/recipes/" + name)) {
            if (in == null) throw new IOException("recipe " + name + " is not in the toolkit jar");
            return in.readAllBytes();
        }
    }
}
