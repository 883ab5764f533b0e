package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.testing.RawSafetensors;
import org.mergelab.testing.Reference;

/**
 * DARE and DELLA draw random masks: checked statistically (against their definitions and against mergekit 0.1.5's
 * output for the same recipes, whose masks come from torch's generator and cannot be reproduced), and for
 * reproducibility under {@code --random-seed}.
 */
class RandomMethodsTest {
    @TempDir
    Path tmp;

    private static TensorInputs inputsFor(int n, Set<Correction> corrections) {
        return new TensorInputs("t", new long[] {n}, List.of(new float[n]), List.of("m"), -1, Map.of(),
                List.of(Map.of()), DType.F32, RandomStreams.seeded(7), corrections);
    }

    private static float[] gaussian(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble(), v = r.nextDouble();
            x[i] = (float) (scale * Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v));
        }
        return x;
    }

    private static double l1(float[] x) {
        double s = 0;
        for (float v : x) s += Math.abs(v);
        return s;
    }

    private static int nonzero(float[] x) {
        int c = 0;
        for (float v : x) if (v != 0) c++;
        return c;
    }

    /**
     * A block of draws filled at once (eight lanes at a time where the JVM has the Vector API) holds exactly the draws
     * of {@link RandomStreams#uniform} one index at a time, wherever the block starts (odd offsets, across 2^32), and
     * they look uniform.
     */
    @Test
    void blockDrawsEqualSingleDraws() {
        long key = RandomStreams.seeded(11).key("model.layers.0.mlp.up_proj.weight", 1);
        long[] starts = {0, 5, 16_384 * 7 + 3, (1L << 32) - 13, (1L << 32) + 8};
        float[] u = new float[1003];
        for (long start : starts) {
            RandomStreams.fill(key, start, u, u.length);
            double sum = 0;
            for (int i = 0; i < u.length; i++) {
                assertEquals(Float.floatToRawIntBits(RandomStreams.uniform(key, start + i)),
                        Float.floatToRawIntBits(u[i]), "start " + start + ", element " + i);
                assertTrue(u[i] >= 0 && u[i] < 1);
                sum += u[i];
            }
            assertEquals(0.5, sum / u.length, 5 * Math.sqrt(1 / 12.0 / u.length), "mean of the draws from " + start);
        }
    }

    @Test
    void dareKeepsTheDensityAndTheL1Norm() {
        int n = 200_000;
        float[] delta = gaussian(n, 1, 0.01);
        Sparsifier.Shape shape = Sparsifier.Shape.of(new long[] {n});
        for (double density : new double[] {0.1, 0.35, 0.8}) {
            float[] kept = Sparsifier.BERNOULLI.apply(delta, shape, new Sparsifier.Sparsity(density, 0, 0),
                    Precision.F32, new SplittableRandom(3), 3L, true, inputsFor(n, Set.of()));
            double fraction = nonzero(kept) / (double) n;
            double sigma = Math.sqrt(density * (1 - density) / n);
            assertEquals(density, fraction, 5 * sigma, "kept fraction at density " + density);
            // mergekit's rescale matches the L1 norm exactly (up to float rounding)
            assertEquals(l1(delta), l1(kept), 1e-5 * l1(delta), "L1 norm after rescale at density " + density);
            // kept entries are the originals times one common factor
            double factor = l1(delta) / l1(Sparsifier.rescaledMasked(delta, nonzeroMask(kept), n, false, Precision.F32));
            for (int i = 0; i < n; i++) {
                if (kept[i] != 0) assertEquals(delta[i] * factor, kept[i], 1e-6 * Math.abs(kept[i]) + 1e-12);
            }
            float[] plain = Sparsifier.BERNOULLI.apply(delta, shape, new Sparsifier.Sparsity(density, 0, 0),
                    Precision.F32, new SplittableRandom(3), 3L, false, inputsFor(n, Set.of()));
            assertEquals(nonzero(kept), nonzero(plain), "the same draws without rescale");
            // the papers' rescaling: each kept entry divided by p, so the L1 norm is kept in expectation only
            float[] byP = Sparsifier.BERNOULLI.apply(delta, shape, new Sparsifier.Sparsity(density, 0, 0),
                    Precision.F32, new SplittableRandom(3), 3L, true, inputsFor(n, Set.of(Correction.RESCALE_BY_PROBABILITY)));
            for (int i = 0; i < n; i++) {
                if (byP[i] != 0) assertEquals(delta[i] / (float) density, byP[i], 1e-6 * Math.abs(byP[i]));
            }
            assertEquals(l1(delta), l1(byP), 6 * Math.sqrt((1 - density) / (density * n)) * l1(delta),
                    "expected L1 norm with 1/p rescaling");
        }
    }

    private static boolean[] nonzeroMask(float[] x) {
        boolean[] m = new boolean[x.length];
        for (int i = 0; i < x.length; i++) m[i] = x[i] != 0;
        return m;
    }

    @Test
    void dareInBfloat16KeepsWithTheRoundedDensity() {
        int n = 400_000;
        float[] delta = gaussian(n, 2, 0.01);
        Half.roundInPlace(delta, n, DType.BF16);
        float[] kept = Sparsifier.BERNOULLI.apply(delta, Sparsifier.Shape.of(new long[] {n}),
                new Sparsifier.Sparsity(0.35, 0, 0), Precision.of(DType.BF16), new SplittableRandom(5), 5L, false,
                inputsFor(n, Set.of()));
        double p = Half.roundToBf16(0.35f); // torch samples from full_like(delta, density) in bfloat16: 0.349609375
        assertEquals(p, nonzero(kept) / (double) n, 5 * Math.sqrt(p * (1 - p) / n));
        for (float v : kept) assertEquals(v, Half.roundToBf16(v), "results stay bfloat16 values");
    }

    @Test
    void dellaKeepsLargeMagnitudesMoreOftenAndTheDensityOnAverage() {
        int rows = 200, len = 1000, n = rows * len;
        float[] delta = gaussian(n, 3, 0.01);
        double density = 0.5, eps = 0.2;
        float[] kept = Sparsifier.DELLA_MAGPRUNE.apply(delta, Sparsifier.Shape.of(new long[] {rows, len}),
                new Sparsifier.Sparsity(density, 0, eps), Precision.F32, new SplittableRandom(11), 11L, false,
                inputsFor(n, Set.of()));
        assertEquals(density, nonzero(kept) / (double) n, 5 * Math.sqrt(0.25 / n), "overall kept fraction");
        // per row, the smallest tenth is kept with p in [0.3, 0.34], the largest tenth with p in [0.66, 0.7]
        int smallKept = 0, largeKept = 0, perDecile = 0;
        for (int r = 0; r < rows; r++) {
            float[] mags = new float[len];
            for (int j = 0; j < len; j++) mags[j] = Math.abs(delta[r * len + j]);
            int[] order = IntroSort.argsort(mags, len, false);
            for (int k = 0; k < len / 10; k++) {
                if (kept[r * len + order[k]] != 0) smallKept++;
                if (kept[r * len + order[len - 1 - k]] != 0) largeKept++;
            }
            perDecile += len / 10;
        }
        assertEquals(0.32, smallKept / (double) perDecile, 5 * Math.sqrt(0.22 / perDecile), "smallest tenth");
        assertEquals(0.68, largeKept / (double) perDecile, 5 * Math.sqrt(0.22 / perDecile), "largest tenth");
    }

    private static final String DARE_TIES = """
            models:
              - model: llama-a
                parameters: {weight: 0.6, density: 0.5}
              - model: llama-b
                parameters: {weight: 0.4, density: 0.4}
              - model: llama-c
                parameters: {weight: 0.5, density: 0.6}
            merge_method: dare_ties
            base_model: llama-base
            dtype: float32
            """;

    private Path recipe(String name, String text) throws IOException {
        return Files.writeString(tmp.resolve(name + ".yml"), text);
    }

    private RawSafetensors merged(String name, String text, MergeOptions o) throws IOException {
        Path out = tmp.resolve("out-" + name);
        MethodConformanceTest.merge(recipe(name, text), out, o.withOverwrite(true));
        return RawSafetensors.read(out.resolve("model.safetensors"));
    }

    private static RawSafetensors model(String name) throws IOException {
        return RawSafetensors.read(MethodConformanceTest.models().resolve(name).resolve("model.safetensors"));
    }

    @Test
    void signConsensusHoldsWhereverTheModelsAgree() throws IOException {
        RawSafetensors out = merged("dare", DARE_TIES, MethodConformanceTest.quiet().withRandomSeed(1));
        RawSafetensors base = model("llama-base");
        List<RawSafetensors> tuned = List.of(model("llama-a"), model("llama-b"), model("llama-c"));
        int agreeing = 0, changed = 0, total = 0;
        for (RawSafetensors.Entry e : base.tensors().values()) {
            RawSafetensors.Entry o = out.get(e.name());
            for (int i = 0; i < e.numel(); i++) {
                total++;
                float b = e.get(i);
                int signs = 0, positive = 0;
                for (RawSafetensors m : tuned) {
                    float d = m.get(e.name()).get(i) - b;
                    if (d != 0) signs++;
                    if (d > 0) positive++;
                }
                float change = o.get(i) - b;
                if (change != 0) changed++;
                if (signs == 3 && (positive == 3 || positive == 0)) {
                    agreeing++;
                    float s = positive == 3 ? 1 : -1;
                    assertTrue(change * s >= 0, e.name() + "[" + i + "]: all task vectors have sign " + s
                            + " but the merge moved by " + change);
                }
            }
        }
        assertTrue(agreeing > total / 10, "the data has agreeing positions: " + agreeing);
        // an element stays at the base only if all three models dropped it, or the kept ones cancel in the vote
        double allDropped = 0.5 * 0.6 * 0.4;
        assertTrue(changed / (double) total > 1 - allDropped - 0.05, "changed fraction " + changed / (double) total);
    }

    @Test
    void aSeedReproducesTheMergeWhateverTheThreadCount() throws IOException {
        String della = DARE_TIES.replace("dare_ties", "della").replace("density: 0.4}", "density: 0.4, epsilon: 0.1}");
        for (String text : List.of(DARE_TIES, della)) {
            RawSafetensors one = merged("t1", text, MethodConformanceTest.quiet().withRandomSeed(42).withThreads(1));
            RawSafetensors four = merged("t4", text, MethodConformanceTest.quiet().withRandomSeed(42).withThreads(4));
            RawSafetensors other = merged("s43", text, MethodConformanceTest.quiet().withRandomSeed(43).withThreads(4));
            boolean anyDifferent = false;
            for (RawSafetensors.Entry e : one.tensors().values()) {
                assertEquals(e.bytes(), four.get(e.name()).bytes(), e.name() + ": 1 vs 4 threads, same seed");
                anyDifferent |= !e.bytes().equals(other.get(e.name()).bytes());
            }
            assertTrue(anyDifferent, "another seed draws other masks");
        }
        // without a seed, one is drawn and reported; giving it back reproduces the merge
        Path out = tmp.resolve("unseeded");
        MergeReport r = MethodConformanceTest.merge(recipe("u", DARE_TIES), out, MethodConformanceTest.quiet());
        assertTrue(r.random() && r.summary().contains("random seed " + r.randomSeed()), r.summary());
        RawSafetensors again = merged("again", DARE_TIES, MethodConformanceTest.quiet().withRandomSeed(r.randomSeed()));
        RawSafetensors first = RawSafetensors.read(out.resolve("model.safetensors"));
        for (RawSafetensors.Entry e : first.tensors().values()) assertEquals(e.bytes(), again.get(e.name()).bytes());
        MergeReport linear = MethodConformanceTest.merge(recipe("lin", DARE_TIES.replace("dare_ties", "task_arithmetic")),
                tmp.resolve("lin"), MethodConformanceTest.quiet());
        assertTrue(!linear.random() && !linear.summary().contains("seed"), linear.summary());
    }

    @Test
    void streamsDependOnTensorModelAndSeedOnly() {
        RandomStreams a = RandomStreams.seeded(5), b = RandomStreams.seeded(5);
        assertEquals(a.stream("x", 1).nextLong(), b.stream("x", 1).nextLong());
        assertNotEquals(a.stream("x", 1).nextLong(), a.stream("x", 2).nextLong());
        assertNotEquals(a.stream("x", 1).nextLong(), a.stream("y", 1).nextLong());
        assertNotEquals(a.stream("x", 1).nextLong(), RandomStreams.seeded(6).stream("x", 1).nextLong());
    }

    /**
     * mergekit's own DARE-TIES and DELLA outputs (seed 004's recipe with four models; two tiny-Llama recipes) against
     * ours: the masks differ, their statistics must not. Over all tensors, the fraction of elements that moved from
     * the base must agree within 5 standard deviations of the difference of two binomial fractions, and the L1 norm
     * of the change within 3% (measured: at most 1.3% and 0.4%).
     */
    @Test
    void randomMergesMatchMergekitInDistribution() throws IOException {
        String[][] cases = {{"seed004", "alpindale/Llama-3.2-3B"}, {"dare_ties-llama-bf16", "llama-base"},
                {"della-llama-f32", "llama-base"}};
        for (String[] c : cases) {
            Path golden = Reference.file("tiny/goldens/" + c[0]);
            RawSafetensors theirs = RawSafetensors.read(golden.resolve("model.safetensors"));
            RawSafetensors ours = merged(c[0], Files.readString(golden.resolve("recipe.yml")),
                    MethodConformanceTest.quiet().withRandomSeed(1));
            RawSafetensors base = model(c[1]);
            double[] a = changeStats(theirs, base), b = changeStats(ours, base);
            double n = a[0], fa = a[1] / n, fb = b[1] / n;
            double sigma = Math.sqrt(2 * fa * (1 - fa) / n);
            System.out.printf("%s: moved %.4f (mergekit %.4f), L1 of the change %.3f (mergekit %.3f)%n", c[0], fb, fa,
                    b[2], a[2]);
            assertEquals(fa, fb, 5 * sigma, c[0] + ": fraction of elements moved from the base");
            assertEquals(a[2], b[2], 0.03 * a[2], c[0] + ": L1 norm of the change");
        }
    }

    /** {elements, elements that moved from the base, L1 norm of the change}. */
    private static double[] changeStats(RawSafetensors merged, RawSafetensors base) {
        double n = 0, moved = 0, l1 = 0;
        for (RawSafetensors.Entry e : merged.tensors().values()) {
            RawSafetensors.Entry b = base.tensors().get(e.name());
            if (b == null) b = base.get("model.embed_tokens.weight"); // the tied LM head
            for (int i = 0; i < e.numel(); i++) {
                float bv = e.dtype().equals("BF16") ? Half.roundToBf16(b.get(i)) : b.get(i);
                double d = e.get(i) - bv;
                n++;
                if (d != 0) moved++;
                l1 += Math.abs(d);
            }
        }
        return new double[] {n, moved, l1};
    }
}
