package org.mergelab.model;

import java.util.List;

/**
 * How to pick each next token: greedily (temperature 0) or by seeded sampling with temperature, top-k and top-p
 * (applied in that order, as transformers does); and when to stop. A seed fixes MergeLab's draws (Java's
 * SplittableRandom): the same seed gives the same text here, not the text torch would draw with that seed.
 *
 * @param topK      keep the k most likely tokens (0: all)
 * @param topP      keep the smallest set of most likely tokens whose probability reaches p (1: all)
 * @param stopIds   ids that end the generation (null: the model's EOS ids and BOS)
 */
public record Sampling(int maxNewTokens, double temperature, int topK, double topP, long seed, List<Integer> stopIds) {
    public Sampling {
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, not " + maxNewTokens);
        if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, not " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, not " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], not " + topP);
        if (stopIds != null) stopIds = List.copyOf(stopIds);
    }

    /** The most likely token each step. */
    public static Sampling greedy(int maxNewTokens) {
        return new Sampling(maxNewTokens, 0, 0, 1, 0, null);
    }

    /** Sampling at {@code temperature} from a generator seeded with {@code seed}: the same seed, the same text. */
    public static Sampling sample(int maxNewTokens, double temperature, long seed) {
        return new Sampling(maxNewTokens, temperature, 0, 1, seed, null);
    }

    public boolean isGreedy() { return temperature == 0; }

    public Sampling withTopK(int k) { return new Sampling(maxNewTokens, temperature, k, topP, seed, stopIds); }

    public Sampling withTopP(double p) { return new Sampling(maxNewTokens, temperature, topK, p, seed, stopIds); }

    public Sampling withSeed(long s) { return new Sampling(maxNewTokens, temperature, topK, topP, s, stopIds); }

    public Sampling withStopIds(List<Integer> ids) { return new Sampling(maxNewTokens, temperature, topK, topP, seed, ids); }

    public Sampling withMaxNewTokens(int n) { return new Sampling(n, temperature, topK, topP, seed, stopIds); }

    @Override
    public String toString() {
        if (isGreedy()) return "greedy, " + maxNewTokens + " tokens";
        return String.format("temperature %s%s%s, seed %d, %d tokens", temperature, topK > 0 ? ", top-k " + topK : "",
                topP < 1 ? ", top-p " + topP : "", seed, maxNewTokens);
    }
}
