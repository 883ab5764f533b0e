package org.mergelab.model;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** The generation loop: one batched prefill of the prompt, then one forward pass per new token. */
final class Generator {
    private Generator() {}

    static Generation generate(Model model, String prompt, Sampling sampling) {
        return generate(model, prompt, model.encode(prompt), sampling);
    }

    static Generation generate(Model model, String prompt, int[] promptIds, Sampling sampling) {
        int context = model.config().maxPositions();
        if (promptIds.length == 0) throw new IllegalArgumentException("the prompt has no tokens to start from");
        if (promptIds.length >= context) {
            throw new ContextOverflowException(promptIds.length + 1, context, context);
        }
        List<Integer> stops = sampling.stopIds() != null ? sampling.stopIds() : model.defaultStops();
        Transformer t = model.transformer();
        KvCache cache = t.newCache(Math.min(context, promptIds.length + sampling.maxNewTokens()));
        SplittableRandom random = new SplittableRandom(sampling.seed());
        int[] out = new int[sampling.maxNewTokens()];
        int n = 0;
        String stoppedBy = "max new tokens";
        long t0 = System.nanoTime();
        float[] logits = sampling.maxNewTokens() > 0 ? t.logits(cache, promptIds) : null;
        long t1 = System.nanoTime();
        while (n < sampling.maxNewTokens()) {
            int next = pick(logits, sampling, random);
            if (stops.contains(next)) {
                stoppedBy = "stop token " + next;
                break;
            }
            out[n++] = next;
            if (n == sampling.maxNewTokens()) break;
            if (cache.length() >= cache.capacity()) {
                stoppedBy = "context";
                break;
            }
            logits = t.logits(cache, next);
        }
        long t2 = System.nanoTime();
        int[] ids = Arrays.copyOf(out, n);
        String text = model.hasTokenizer() ? continuation(model, promptIds, ids) : "";
        return new Generation(model.name(), prompt, promptIds, ids, text, stoppedBy, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** The text the new ids add to the prompt's (decoding them together keeps word-initial spaces right). */
    private static String continuation(Model model, int[] promptIds, int[] ids) {
        var tok = model.tokenizer();
        String before = tok.decode(promptIds, true);
        int[] all = Arrays.copyOf(promptIds, promptIds.length + ids.length);
        System.arraycopy(ids, 0, all, promptIds.length, ids.length);
        String whole = tok.decode(all, true);
        return whole.startsWith(before) ? whole.substring(before.length()) : tok.decode(ids, true);
    }

    /** The next token: the argmax (first on ties), or a draw from the tempered, truncated distribution. */
    static int pick(float[] logits, Sampling s, SplittableRandom random) {
        if (s.isGreedy()) return argmax(logits);
        int v = logits.length;
        Integer[] order = null;
        double[] p = new double[v];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) max = Math.max(max, logits[i] / s.temperature());
        boolean[] keep = new boolean[v];
        Arrays.fill(keep, true);
        if (s.topK() > 0 && s.topK() < v) {
            order = byDescendingLogit(logits);
            for (int r = s.topK(); r < v; r++) keep[order[r]] = false;
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = keep[i] ? Math.exp(logits[i] / s.temperature() - max) : 0;
            sum += p[i];
        }
        for (int i = 0; i < v; i++) p[i] /= sum;
        if (s.topP() < 1) {
            if (order == null) order = byDescendingLogit(logits);
            double cumulative = 0;
            boolean reached = false;
            for (int r = 0; r < v; r++) {
                int i = order[r];
                if (reached) {
                    p[i] = 0;
                } else {
                    cumulative += p[i];
                    if (cumulative >= s.topP()) reached = true;
                }
            }
            double kept = 0;
            for (double x : p) kept += x;
            for (int i = 0; i < v; i++) p[i] /= kept;
        }
        double u = random.nextDouble(), acc = 0;
        int last = -1;
        for (int i = 0; i < v; i++) {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static Integer[] byDescendingLogit(float[] logits) {
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        return order;
    }
}
