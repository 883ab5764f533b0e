package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mergelab.recipe.ParamSpec;

class LinearMergeTest {
    private static float[] merge(boolean normalize, double[] weights, float[]... xs) {
        List<Map<String, Object>> per = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            per.add(Map.of("weight", weights[i]));
            names.add("m" + i);
        }
        TensorInputs in = new TensorInputs("w", new long[] {xs[0].length}, List.of(xs), names, -1,
                Map.of("normalize", normalize), per);
        return new LinearMerge().merge(in);
    }

    private final float[] x = {1, -2, 4, 0.5f};
    private final float[] y = {3, 6, -8, 0.5f};

    @Test
    void normalizedWeightedAverage() {
        // (2x + 1y)/3 = ((2+3)/3, (-4+6)/3, (8-8)/3, (1+0.5)/3) = (5/3, 2/3, 0, 0.5)
        assertArrayEquals(new float[] {5f / 3, 2f / 3, 0f, 0.5f}, merge(true, new double[] {2, 1}, x, y), 1e-6f);
        // Equal weights that do not sum to one give the plain mean: (x + y)/2 = (2, 2, -2, 0.5).
        assertArrayEquals(new float[] {2, 2, -2, 0.5f}, merge(true, new double[] {0.3, 0.3}, x, y), 1e-6f);
    }

    @Test
    void unnormalizedWeightedSum() {
        // 2x + 1y = (5, 2, 0, 1.5)
        assertArrayEquals(new float[] {5, 2, 0, 1.5f}, merge(false, new double[] {2, 1}, x, y), 1e-6f);
        // Weights summing to 0.5 and no normalisation: 0.25x + 0.25y = (1, 1, -1, 0.25) — half the mean.
        assertArrayEquals(new float[] {1, 1, -1, 0.25f}, merge(false, new double[] {0.25, 0.25}, x, y), 1e-6f);
    }

    @Test
    void weightsOneAndZeroGiveTheFirstInputExactly() {
        assertArrayEquals(x, merge(true, new double[] {1, 0}, x, y), 0f);
        assertArrayEquals(y, merge(true, new double[] {0, 1}, x, y), 0f);
    }

    @Test
    void negativeWeightsExtrapolate() {
        // Task-vector style: 2y - x, normalised by (2 - 1) = 1: (5, 14, -20, 0.5)
        assertArrayEquals(new float[] {5, 14, -20, 0.5f}, merge(true, new double[] {-1, 2}, x, y), 1e-6f);
    }

    @Test
    void threeInputs() {
        float[] z = {0, 0, 0, 3};
        // (x + y + 2z)/4 = (4/4, 4/4, -4/4, (0.5 + 0.5 + 6)/4) = (1, 1, -1, 1.75)
        assertArrayEquals(new float[] {1, 1, -1, 1.75f}, merge(true, new double[] {1, 1, 2}, x, y, z), 1e-6f);
    }

    @Test
    void declaresWeightPerModelAndNormalizeDefaultTrue() {
        List<ParamSpec> p = new LinearMerge().parameters();
        ParamSpec weight = p.stream().filter(s -> s.name().equals("weight")).findFirst().orElseThrow();
        ParamSpec normalize = p.stream().filter(s -> s.name().equals("normalize")).findFirst().orElseThrow();
        assertTrue(weight.perModel() && weight.required() && weight.includeBase());
        assertTrue(!normalize.perModel() && !normalize.required());
        assertEquals(true, normalize.defaultValue());
    }
}
