package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mergelab.io.DType;

/** Each {@link Correction}: mergekit's behaviour by default, the corrected one when asked for. */
class CorrectionsTest {
    private static TensorInputs modelStock(float[] base, float[] a, float[] b, Set<Correction> c) {
        return new TensorInputs("w", new long[] {base.length}, List.of(base, a, b), List.of("base", "a", "b"), 0,
                Map.of("filter_wise", false), List.of(Map.of(), Map.of(), Map.of()), DType.F32, RandomStreams.seeded(0), c);
    }

    @Test
    void modelStockClampsTheNormProductOfSmallTaskVectors() {
        // two almost parallel task vectors of norm ~1e-4: their cosine is ~0.995
        float[] base = {0.5f, -0.25f, 1f}, a = {0.5f + 1e-4f, -0.25f, 1f}, b = {0.5f + 1e-4f, -0.25f + 1e-5f, 1f};
        float[] mergekit = new ModelStockMerge().merge(modelStock(base, a, b, Set.of()));
        float[] exact = new ModelStockMerge().merge(modelStock(base, a, b, Set.of(Correction.MODEL_STOCK_SMALL_NORMS)));
        // t = 2c / (1 + c): mergekit's c = dot / 1e-6 ≈ 0.01 keeps ~98% of the base; the exact c ≈ 0.995 moves to
        // the fine-tunes' average
        double movedMergekit = (mergekit[0] - base[0]) / 1e-4, movedExact = (exact[0] - base[0]) / 1e-4;
        assertEquals(0.02, movedMergekit, 0.005, "mergekit: t ≈ 0.02");
        assertEquals(1.0, movedExact, 0.01, "corrected: t ≈ 1");
        // large task vectors are unaffected
        float[] a2 = {1.5f, -0.25f, 1f}, b2 = {1.5f, 0.75f, 1f};
        float[] x = new ModelStockMerge().merge(modelStock(base, a2, b2, Set.of()));
        float[] y = new ModelStockMerge().merge(modelStock(base, a2, b2, EnumSet.allOf(Correction.class)));
        for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 0f);
    }

    @Test
    void dellaFailsOnOneElementRowsUnlessCorrected() {
        int rows = 40_000;
        float[] delta = new float[rows];
        for (int i = 0; i < rows; i++) delta[i] = (i % 7 - 3) * 1e-3f + 1e-4f;
        Sparsifier.Shape shape = Sparsifier.Shape.of(new long[] {rows, 1});
        Sparsifier.Sparsity s = new Sparsifier.Sparsity(0.3, 0, 0.1);
        TensorInputs plain = new TensorInputs("w", new long[] {rows, 1}, List.of(delta), List.of("m"), -1, Map.of(),
                List.of(Map.of()), DType.F32, RandomStreams.seeded(0), Set.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sparsifier.DELLA_MAGPRUNE
                .apply(delta, shape, s, Precision.F32, new java.util.SplittableRandom(1), 1L, false, plain));
        assertTrue(e.getMessage().contains("della-single-element-rows"), e.getMessage());
        TensorInputs corrected = new TensorInputs("w", new long[] {rows, 1}, List.of(delta), List.of("m"), -1, Map.of(),
                List.of(Map.of()), DType.F32, RandomStreams.seeded(0), Set.of(Correction.DELLA_SINGLE_ELEMENT_ROWS));
        float[] kept = Sparsifier.DELLA_MAGPRUNE.apply(delta, shape, s, Precision.F32,
                new java.util.SplittableRandom(1), 1L, false, corrected);
        int n = 0;
        for (float v : kept) if (v != 0) n++;
        assertEquals(0.3, n / (double) rows, 5 * Math.sqrt(0.21 / rows), "kept with probability density");
    }

    @Test
    void namesParseAsTheCommandLineWritesThem() {
        assertEquals(EnumSet.of(Correction.RESCALE_BY_PROBABILITY, Correction.MODEL_STOCK_SMALL_NORMS),
                Correction.parseList("rescale-by-probability, model_stock_small_norms"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Correction.parseList("nope"));
        assertTrue(e.getMessage().contains("della-single-element-rows"), e.getMessage());
    }
}
