package org.mergelab.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * N models on the same inputs, as tables: what each generates for the same prompts, side by side; perplexity of
 * each on each dataset; and, token by token on the same text, how far each model's next-token distribution is from
 * each other's (KL divergence) and how often their most likely tokens agree.
 *
 * <pre>{@code
 * var cmp = Comparison.of(base, tuned, merged);
 * cmp.generations(List.of("Once upon a time"), Sampling.greedy(40));
 * cmp.perplexities(Map.of("TinyStories", valid, "Shakespeare", eval), 256, 40_000);
 * cmp.agreement(text, 256);
 * }</pre>
 */
public final class Comparison {
    private final List<Model> models;

    private Comparison(List<Model> models) {
        if (models.isEmpty()) throw new IllegalArgumentException("nothing to compare: no models");
        this.models = List.copyOf(models);
    }

    public static Comparison of(Model... models) {
        return new Comparison(Arrays.asList(models));
    }

    public static Comparison of(List<Model> models) {
        return new Comparison(models);
    }

    public List<Model> models() { return models; }

    /** One row per prompt, one column per model: each model's continuation of the prompt. */
    public Table generations(List<String> prompts, Sampling sampling) {
        StringColumn prompt = StringColumn.create("prompt");
        List<StringColumn> cols = new ArrayList<>();
        for (Model m : models) cols.add(StringColumn.create(uniqueName(m, cols.size())));
        for (String p : prompts) {
            prompt.append(p);
            for (int i = 0; i < models.size(); i++) cols.get(i).append(models.get(i).generate(p, sampling).text());
        }
        Table t = Table.create("generations (" + sampling + ")", prompt);
        cols.forEach(t::addColumns);
        return t;
    }

    /**
     * Perplexity of every model on every dataset (name to text file; {@code maxBytes} > 0 reads only each file's
     * first bytes): one row per model, one column per dataset.
     */
    public Table perplexities(Map<String, Path> datasets, int window, int maxBytes) {
        Map<String, String> texts = new LinkedHashMap<>();
        datasets.forEach((name, file) -> texts.put(name, Perplexity.readText(file, maxBytes)));
        return perplexitiesOfTexts(texts, window);
    }

    /** {@link #perplexities} of texts already in memory. */
    public Table perplexitiesOfTexts(Map<String, String> texts, int window) {
        StringColumn model = StringColumn.create("model");
        List<DoubleColumn> cols = new ArrayList<>();
        for (String name : texts.keySet()) cols.add(DoubleColumn.create(name));
        for (int i = 0; i < models.size(); i++) {
            Model m = models.get(i);
            model.append(uniqueName(m, i));
            int k = 0;
            for (String text : texts.values()) cols.get(k++).append(Perplexity.of(m, text, window).perplexity());
        }
        Table t = Table.create("perplexity (windows of " + window + " tokens)", model);
        cols.forEach(t::addColumns);
        return t;
    }

    /**
     * For every ordered pair of models (a, b): the mean over the text's positions of KL(a || b) between their
     * next-token distributions (in nats), and the fraction of positions where their most likely next tokens are
     * the same. The text is BOS plus its tokens, scored in windows of {@code window} tokens as {@link Perplexity}
     * does; every model must tokenize it the same way.
     */
    public Table agreement(String text, int window) {
        int[] ids = models.get(0).encode(text);
        for (Model m : models) {
            if (!Arrays.equals(ids, m.encode(text))) {
                throw new IllegalArgumentException(m.name() + " tokenizes the text differently from "
                        + models.get(0).name() + "; KL divergence needs the same tokens");
            }
            if (m.config().vocabSize() != models.get(0).config().vocabSize()) {
                throw new IllegalArgumentException(m.name() + " has vocab_size " + m.config().vocabSize() + ", "
                        + models.get(0).name() + " " + models.get(0).config().vocabSize());
            }
        }
        int n = models.size(), vocab = models.get(0).config().vocabSize();
        int w = window > 0 ? window : models.stream().mapToInt(m -> m.config().maxPositions()).min().orElseThrow() - 1;
        double[][] kl = new double[n][n];
        int[][] agree = new int[n][n];
        int positions = 0;
        int block = Math.max(1, (1 << 22) / vocab); // each model's logits of at most ~16 MB at a time
        for (int start = 0; start + 1 < ids.length; start += w) {
            int[] chunk = Arrays.copyOfRange(ids, start, Math.min(ids.length, start + w + 1));
            int rows = chunk.length - 1;
            float[][] hidden = new float[n][];
            for (int i = 0; i < n; i++) {
                Transformer t = models.get(i).transformer();
                hidden[i] = t.finalHidden(t.newCache(chunk.length), chunk);
            }
            for (int first = 0; first < rows; first += block) {
                int r = Math.min(block, rows - first);
                float[][] logProbs = new float[n][];
                int[][] top = new int[n][r];
                for (int i = 0; i < n; i++) {
                    Transformer t = models.get(i).transformer();
                    int h = models.get(i).config().hiddenSize();
                    float[] logits = new float[r * vocab];
                    t.head(Arrays.copyOfRange(hidden[i], first * h, (first + r) * h), r, logits);
                    logProbs[i] = logSoftmaxRows(logits, vocab, r);
                    for (int k = 0; k < r; k++) top[i][k] = argmax(logProbs[i], k * vocab, vocab);
                }
                for (int a = 0; a < n; a++) {
                    for (int b = 0; b < n; b++) {
                        for (int k = 0; k < r; k++) {
                            kl[a][b] += kl(logProbs[a], logProbs[b], k * vocab, vocab);
                            if (top[a][k] == top[b][k]) agree[a][b]++;
                        }
                    }
                }
            }
            positions += rows;
        }
        StringColumn ca = StringColumn.create("model_a"), cb = StringColumn.create("model_b");
        DoubleColumn ck = DoubleColumn.create("kl_a_b"), ct = DoubleColumn.create("top1_agreement");
        IntColumn cp = IntColumn.create("positions");
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                if (a == b) continue;
                ca.append(uniqueName(models.get(a), a));
                cb.append(uniqueName(models.get(b), b));
                ck.append(kl[a][b] / positions);
                ct.append((double) agree[a][b] / positions);
                cp.append(positions);
            }
        }
        return Table.create("next-token agreement over " + positions + " positions", ca, cb, ck, ct, cp);
    }

    /** log softmax of the first {@code rows} rows of (rows, vocab) logits. */
    static float[] logSoftmaxRows(float[] logits, int vocab, int rows) {
        float[] out = new float[rows * vocab];
        for (int r = 0; r < rows; r++) {
            int o = r * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) max = Math.max(max, logits[o + i]);
            double sum = 0;
            for (int i = 0; i < vocab; i++) sum += Math.exp(logits[o + i] - max);
            float logZ = (float) (max + Math.log(sum));
            for (int i = 0; i < vocab; i++) out[o + i] = logits[o + i] - logZ;
        }
        return out;
    }

    /** KL(p || q) = sum p (log p - log q) for one position's log-probabilities, in double. */
    static double kl(float[] logP, float[] logQ, int off, int vocab) {
        double s = 0;
        for (int i = 0; i < vocab; i++) {
            double lp = logP[off + i];
            s += Math.exp(lp) * (lp - logQ[off + i]);
        }
        return s;
    }

    private static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
        return best;
    }

    /** Model names as column labels: duplicates get their position appended. */
    private String uniqueName(Model m, int index) {
        long same = models.stream().filter(x -> x.name().equals(m.name())).count();
        return same > 1 ? m.name() + " #" + (index + 1) : m.name();
    }
}
