package org.mergelab.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;
import org.mergelab.merge.Merge;
import org.mergelab.model.tokenizer.Tokenizer;
import org.mergelab.recipe.Recipe;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Merges for a list of values of one parameter (SLERP's t, a linear weight), each made in memory and evaluated:
 * perplexity per domain against t is the curve a researcher reads to choose t.
 * <p>
 * This is the one class of {@code model} that uses {@code merge}: the forward pass, tokenizers and evaluation know
 * nothing of merging (they take weights from a folder or any map of tensors), and {@code merge} knows nothing of
 * models, so the dependency runs one way, model → merge, and only here.
 *
 * <pre>{@code
 * Sweep sweep = Sweep.slerp("stories260K", "stories260K-shakespeare", 0, 0.25, 0.5, 0.75, 1);
 * SweepResult r = sweep.perplexity(Map.of("TinyStories", tiny, "Shakespeare", shakespeare), 256);
 * r.plot();
 * }</pre>
 */
public final class Sweep {
    private final String parameter;
    private final List<Double> values;
    private final DoubleFunction<Model> modelAt;

    private Sweep(String parameter, List<Double> values, DoubleFunction<Model> modelAt) {
        if (values.isEmpty()) throw new IllegalArgumentException("a sweep needs at least one value of " + parameter);
        this.parameter = parameter;
        this.values = List.copyOf(values);
        this.modelAt = modelAt;
    }

    /** A sweep over any family of models indexed by a number. */
    public static Sweep over(String parameter, List<Double> values, DoubleFunction<Model> modelAt) {
        return new Sweep(parameter, values, modelAt);
    }

    /**
     * A sweep of a mergekit recipe in which {@code ${t}} stands for the value: each value is substituted into the
     * text, merged in memory ({@link Merge#inMemory}) and loaded with the tokenizer of the recipe's donor model.
     */
    public static Sweep recipe(String yamlTemplate, double... ts) {
        if (!yamlTemplate.contains("${t}")) {
            throw new IllegalArgumentException("the recipe template has no ${t} to substitute");
        }
        return new Sweep("t", boxed(ts), t -> merged(yamlTemplate.replace("${t}", format(t)), "t=" + format(t)));
    }

    public static Sweep recipe(Path template, double... ts) {
        try {
            return recipe(Files.readString(template), ts);
        } catch (IOException e) {
            throw new UncheckedIOException("reading recipe template " + template + ": " + e.getMessage(), e);
        }
    }

    /** SLERP from {@code base} (t = 0) to {@code other} (t = 1), the same t for every tensor. */
    public static Sweep slerp(String base, String other, double... ts) {
        return recipe("models:\n  - model: " + base + "\n  - model: " + other + "\nmerge_method: slerp\nbase_model: "
                + base + "\nparameters:\n  t: ${t}\ndtype: float32\n", ts);
    }

    /** Linear interpolation (1 - t) a + t b. */
    public static Sweep linear(String a, String b, double... ts) {
        List<Double> values = boxed(ts);
        return new Sweep("t", values, t -> merged("models:\n  - model: " + a + "\n    parameters:\n      weight: "
                + format(1 - t) + "\n  - model: " + b + "\n    parameters:\n      weight: " + format(t)
                + "\nmerge_method: linear\ndtype: float32\n", "t=" + format(t)));
    }

    private static Model merged(String yaml, String name) {
        Merge.InMemory m = Merge.inMemory(Recipe.parse(yaml));
        Path donor = m.plan().donorCheckpoint().dir();
        Tokenizer tok = Tokenizer.present(donor) ? Tokenizer.load(donor) : null;
        return Model.of(name, m.plan().outConfig(), m.tensors(), tok);
    }

    public String parameter() { return parameter; }

    public List<Double> values() { return values; }

    /** The model at one value (merged afresh: sweeps keep one merged model in memory at a time). */
    public Model at(double t) {
        return modelAt.apply(t);
    }

    /** Perplexity of the model at every value on every domain (name to text), in windows of {@code window}. */
    public SweepResult perplexity(Map<String, String> domains, int window) {
        SweepResult r = new SweepResult(parameter);
        for (double t : values) {
            Model m = at(t);
            domains.forEach((domain, text) -> r.add(t, domain, Perplexity.of(m, text, window)));
        }
        return r;
    }

    /**
     * How far the model at every value is from each reference model (the parents, say), token by token on the same
     * text: mean KL(merged || reference) and top-1 agreement, as {@link Comparison#agreement} computes them.
     */
    public SweepAgreement agreement(List<Model> references, String text, int window) {
        SweepAgreement r = new SweepAgreement(parameter);
        for (double t : values) {
            List<Model> models = new ArrayList<>();
            models.add(at(t));
            models.addAll(references);
            Table pairs = Comparison.of(models).agreement(text, window);
            for (int i = 0; i < pairs.rowCount(); i++) {
                if (!pairs.stringColumn("model_a").get(i).equals(models.get(0).name())) continue;
                r.add(t, pairs.stringColumn("model_b").get(i), pairs.doubleColumn("kl_a_b").get(i),
                        pairs.doubleColumn("top1_agreement").get(i));
            }
        }
        return r;
    }

    /** What the models at {@code ts} generate for each prompt: one row per prompt, one column per value. */
    public Table generations(List<String> prompts, Sampling sampling, double... ts) {
        StringColumn prompt = StringColumn.create("prompt");
        prompts.forEach(prompt::append);
        Table table = Table.create("generations along " + parameter + " (" + sampling + ")", prompt);
        for (double t : ts) {
            Model m = at(t);
            StringColumn col = StringColumn.create(parameter + "=" + format(t));
            for (String p : prompts) col.append(m.generate(p, sampling).text());
            table.addColumns(col);
        }
        return table;
    }

    static String format(double v) {
        String s = String.format(Locale.ROOT, "%.6f", v).replaceAll("0+$", "");
        return s.endsWith(".") ? s + "0" : s;
    }

    private static List<Double> boxed(double[] ts) {
        List<Double> out = new ArrayList<>();
        for (double t : ts) out.add(t);
        return out;
    }
}
