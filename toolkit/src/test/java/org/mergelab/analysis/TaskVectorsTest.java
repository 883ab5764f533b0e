package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.io.DType;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.TensorSpec;
import org.mergelab.testing.Images;
import tech.tablesaw.api.Table;

class TaskVectorsTest {
    @TempDir
    static Path models;
    static Path base;
    static Path[] tuned;
    static JsonNode ref;
    static TaskVectors tv;

    @BeforeAll
    static void setUp() throws IOException {
        base = DemoModels.ensure("stories260K", models);
        tuned = DivergencesTest.TUNED.stream().map(n -> DemoModels.ensure(n, models)).toArray(Path[]::new);
        ref = DivergencesTest.reference().get("task_vectors");
        tv = TaskVectors.of(base, tuned);
    }

    @Test
    void perTensorFiguresMatchNumpy() {
        assertEquals(0.2, ref.get("density").asDouble());
        assertEquals(0.2, tv.options().tiesDensity());
        assertEquals(3 * 47, tv.rowCount());
        List<String> cols = List.of("norm", "rel_norm", "sparse_0", "sparse_1e-5", "sparse_1e-4", "sparse_1e-3",
                "top1_mass", "top10_mass", "kurtosis", "ties_kept", "ties_norm_kept", "ties_mass_kept");
        for (int i = 0; i < tv.rowCount(); i++) {
            String model = tv.stringColumn("model").get(i), name = tv.stringColumn("name").get(i);
            JsonNode r = ref.get("per_model").get(model).get("tensors").get(name);
            for (String c : cols) {
                DivergencesTest.close(r.get(c).asDouble(), tv.doubleColumn(c).getDouble(i), 1e-10,
                        c + " of " + model + " " + name);
            }
            assertEquals(0, tv.longColumn("nonfinite").getLong(i));
        }
    }

    @Test
    void cosinesPerTensorPerLayerAndWholeModelMatchNumpy() {
        Table perTensor = tv.cosines();
        assertEquals(47 * 3, perTensor.rowCount());
        for (int i = 0; i < perTensor.rowCount(); i++) {
            String key = perTensor.stringColumn("model_a").get(i) + "|" + perTensor.stringColumn("model_b").get(i);
            double expected = ref.get("tensor_cosines").get(perTensor.stringColumn("name").get(i)).get(key).asDouble();
            assertEquals(expected, perTensor.doubleColumn("cosine").getDouble(i), 1e-11, key);
        }
        Table layers = tv.cosinesByLayer();
        assertEquals(5 * 3, layers.rowCount());
        for (int i = 0; i < layers.rowCount(); i++) {
            String key = layers.stringColumn("model_a").get(i) + "|" + layers.stringColumn("model_b").get(i);
            double expected = ref.get("layer_cosines").get(String.valueOf(layers.intColumn("layer").getInt(i)))
                    .get(key).asDouble();
            assertEquals(expected, layers.doubleColumn("cosine").getDouble(i), 1e-11, key);
        }
        CosineMatrix whole = tv.cosineMatrix();
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) () -> ref.get("whole_model_cosines").fields()) {
            String[] ab = e.getKey().split("\\|");
            assertEquals(e.getValue().asDouble(), whole.get(ab[0], ab[1]), 1e-11);
            assertEquals(e.getValue().asDouble(), whole.get(ab[1], ab[0]), 1e-11);
        }
        assertEquals(1.0, whole.get("stories260K-babi", "stories260K-babi"), 1e-15);
        // A layer's matrix is that layer's row of cosinesByLayer.
        assertEquals(layers.doubleColumn("cosine").getDouble(0),
                tv.cosineMatrix(0).get(layers.stringColumn("model_a").get(0), layers.stringColumn("model_b").get(0)),
                1e-15);
        assertThrows(IllegalArgumentException.class, () -> tv.cosineMatrix("no_such_tensor"));
    }

    @Test
    void signConflictsMatchNumpy() {
        SignConflicts s = tv.signConflicts();
        assertEquals(47, s.rowCount());
        for (int i = 0; i < s.rowCount(); i++) {
            JsonNode r = ref.get("sign_conflicts").get(s.stringColumn("name").get(i));
            for (String c : List.of("conflict", "conflict_trimmed", "dropped_mass")) {
                assertEquals(r.get(c).asDouble(), s.doubleColumn(c).getDouble(i), 1e-12, c + " " + s.stringColumn("name").get(i));
            }
        }
        double conflict = s.total().doubleColumn("conflict").getDouble(0);
        assertTrue(conflict > 0.5 && conflict < 0.75, "three unrelated-looking task vectors disagree often: " + conflict);
        assertEquals(5, s.byLayer().rowCount());
    }

    @Test
    void magnitudeHistogramCountsMatchNumpy() {
        MagnitudeHistogram h = tv.magnitudes();
        for (String model : tv.models()) {
            Table rows = h.where(h.stringColumn("model").isEqualTo(model));
            JsonNode expected = ref.get("per_model").get(model).get("histogram");
            assertEquals(expected.size(), rows.rowCount());
            long total = 0;
            for (int b = 0; b < rows.rowCount(); b++) {
                assertEquals(expected.get(b).asLong(), rows.longColumn("count").getLong(b), model + " bin " + b);
                total += rows.longColumn("count").getLong(b);
            }
            assertEquals(260032, total);
        }
    }

    @Test
    void wholeModelTotalsAddUpTheTensors() {
        Table totals = tv.totals();
        assertEquals(tv.models(), totals.stringColumn("model").asList());
        for (int m = 0; m < 3; m++) {
            String model = tv.models().get(m);
            double sq = 0, base2 = 0, tiesSq = 0;
            for (var e : (Iterable<Map.Entry<String, JsonNode>>) () -> ref.get("per_model").get(model).get("tensors").fields()) {
                JsonNode r = e.getValue();
                double norm = r.get("norm").asDouble();
                sq += norm * norm;
                base2 += Math.pow(norm / r.get("rel_norm").asDouble(), 2);
                tiesSq += Math.pow(norm * r.get("ties_norm_kept").asDouble(), 2);
            }
            assertEquals(Math.sqrt(sq), totals.doubleColumn("norm").getDouble(m), 1e-10);
            assertEquals(Math.sqrt(sq / base2), totals.doubleColumn("rel_norm").getDouble(m), 1e-10);
            assertEquals(Math.sqrt(tiesSq / sq), totals.doubleColumn("ties_norm_kept").getDouble(m), 1e-10);
            assertEquals(0.2, totals.doubleColumn("ties_kept").getDouble(m), 1e-3);
        }
    }

    @Test
    void dareKeepsAboutItsDensityAndRescalesLikeMergekit() {
        for (int i = 0; i < tv.rowCount(); i++) {
            long n = tv.longColumn("numel").getLong(i);
            double kept = tv.doubleColumn("dare_kept").getDouble(i);
            // A Bernoulli(0.2) count: within five standard deviations of its mean.
            assertEquals(0.2, kept, 5 * Math.sqrt(0.2 * 0.8 / n) + 1e-12, tv.stringColumn("name").get(i));
            double norm = tv.doubleColumn("dare_norm_kept").getDouble(i);
            if (n > 10_000) assertEquals(Math.sqrt(0.2), norm, 0.05, "E||m.d||^2 = density ||d||^2");
            assertTrue(tv.doubleColumn("dare_norm_rescaled").getDouble(i) > norm, "L1 rescaling scales up");
        }
    }

    @Test
    void densityOneKeepsEverythingAndNonFiniteIsCounted(@TempDir Path dir) throws IOException {
        String w = "model.layers.0.mlp.up_proj.weight";
        Path b = dir.resolve("base.safetensors"), t = dir.resolve("tuned.safetensors");
        write(b, w, new float[] {1, 1, 1, 1, 1});
        write(t, w, new float[] {1, 3, Float.NaN, 0, 1.5f});
        TaskVectors one = TaskVectors.of(TaskVectors.Options.defaults().withDensity(1).withDareRescale(false), b, t);
        // delta = (0, 2, [NaN -> counted, taken as 0], -1, 0.5)
        assertEquals(1, one.longColumn("nonfinite").getLong(0));
        assertEquals(Math.sqrt(4 + 1 + 0.25), one.doubleColumn("norm").getDouble(0), 1e-15);
        assertEquals(Math.sqrt(5.25) / Math.sqrt(5), one.doubleColumn("rel_norm").getDouble(0), 1e-15);
        assertEquals(2.0 / 5, one.doubleColumn("sparse_0").getDouble(0), 1e-15);
        assertEquals(1.0, one.doubleColumn("ties_kept").getDouble(0));
        assertEquals(1.0, one.doubleColumn("ties_norm_kept").getDouble(0), 1e-15);
        assertEquals(1.0, one.doubleColumn("dare_kept").getDouble(0));
        assertEquals(1.0, one.doubleColumn("dare_norm_rescaled").getDouble(0), 1e-15);
        // Top 1% and 10% of five entries: the largest one, |2| of a mass of 3.5.
        assertEquals(2 / 3.5, one.doubleColumn("top1_mass").getDouble(0), 1e-15);
        TaskVectors fifth = TaskVectors.of(TaskVectors.Options.defaults().withTiesDensity(0.4), b, t);
        // Top 2 of (0, 2, 0, -1, 0.5): 2 and -1.
        assertEquals(0.4, fifth.doubleColumn("ties_kept").getDouble(0), 1e-15);
        assertEquals(Math.sqrt(5 / 5.25), fifth.doubleColumn("ties_norm_kept").getDouble(0), 1e-15);
        assertEquals(3 / 3.5, fifth.doubleColumn("ties_mass_kept").getDouble(0), 1e-15);
    }

    private static void write(Path file, String name, float[] v) throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.create(file, List.of(new TensorSpec(name, DType.F32,
                new long[] {v.length})))) {
            w.write(name, v);
            w.finish();
        }
    }

    @Test
    void everyChartRenders() {
        Images.assertRenders(tv.cosineMatrix().plot(), "cosines", "whole model");
        Images.assertRenders(tv.magnitudes().plot(), "magnitudes");
        Images.assertRenders(tv.byLayer().plot(), "task-vector size");
        Images.assertRenders(tv.cosinesByLayer().plot(), "cosine");
        Images.assertRenders(tv.signConflicts().byLayer().plot(), "sign conflicts");
    }
}
