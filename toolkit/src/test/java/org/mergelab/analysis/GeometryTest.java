package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.io.Checkpoint;
import org.mergelab.merge.SlerpMerge;
import org.mergelab.testing.Images;
import tech.tablesaw.api.Table;

class GeometryTest {
    @TempDir
    static Path models;
    static Path base;
    static Path tuned;
    static JsonNode ref;
    static Geometry g;

    @BeforeAll
    static void setUp() throws IOException {
        base = DemoModels.ensure("stories260K", models);
        tuned = DemoModels.ensure("stories260K-shakespeare", models);
        ref = DivergencesTest.reference().get("geometry");
        g = Geometry.between(base, tuned, 0, 0.25, 0.5, 0.75, 1);
    }

    @Test
    void perTensorGeometryMatchesNumpy() {
        assertEquals(47, g.rowCount());
        int fallbacks = 0;
        for (int i = 0; i < g.rowCount(); i++) {
            String name = g.stringColumn("name").get(i);
            JsonNode r = ref.get("tensors").get(name);
            for (String c : new String[] {"cosine", "angle_deg", "mid_norm_linear", "mid_norm_slerp"}) {
                DivergencesTest.close(r.get(c).asDouble(), g.doubleColumn(c).getDouble(i), 1e-11, c + " of " + name);
            }
            assertEquals(r.get("colinear_fallback").asBoolean(), g.booleanColumn("colinear_fallback").get(i), name);
            if (g.booleanColumn("colinear_fallback").get(i)) fallbacks++;
            assertTrue(g.doubleColumn("mid_norm_ratio").getDouble(i) <= 1 + 1e-12, "linear never lengthens: " + name);
        }
        assertTrue(fallbacks > 0 && fallbacks < 47, "some norms are nearly colinear, the matrices are not: " + fallbacks);
    }

    @Test
    void curvesMatchNumpyElementByElementInterpolants() {
        Table curve = g.curve();
        for (var e : (Iterable<java.util.Map.Entry<String, JsonNode>>) () -> ref.get("curves").fields()) {
            Table rows = curve.where(curve.stringColumn("name").isEqualTo(e.getKey()));
            assertEquals(e.getValue().size(), rows.rowCount(), e.getKey());
            for (int i = 0; i < rows.rowCount(); i++) {
                JsonNode p = e.getValue().get(i);
                assertEquals(p.get("t").asDouble(), rows.doubleColumn("t").getDouble(i));
                assertEquals(p.get("method").asText(), rows.stringColumn("method").get(i));
                String what = e.getKey() + " " + p.get("method").asText() + " t=" + p.get("t").asDouble();
                DivergencesTest.close(p.get("norm").asDouble(), rows.doubleColumn("norm").getDouble(i), 1e-11, what);
                assertEquals(p.get("cos_a").asDouble(), rows.doubleColumn("cos_a").getDouble(i), 1e-11, what);
                assertEquals(p.get("cos_b").asDouble(), rows.doubleColumn("cos_b").getDouble(i), 1e-11, what);
            }
        }
    }

    /** The table predicts what the merge engine does: the same fallback decision, the same midpoint norm. */
    @Test
    void slerpMidpointsAgreeWithTheMergeEngine() {
        try (Checkpoint a = Checkpoint.open(base); Checkpoint b = Checkpoint.open(tuned)) {
            for (int i = 0; i < g.rowCount(); i++) {
                String name = g.stringColumn("name").get(i);
                float[] x = a.read(name).data(), y = b.read(name).data();
                SlerpMerge.Coefficients c = SlerpMerge.coefficients(0.5f, x, y, x.length);
                assertEquals(c.linear(), g.booleanColumn("colinear_fallback").get(i), name);
                assertEquals(c.cosine(), g.doubleColumn("cosine").getDouble(i), 1e-6, name);
                float[] merged = SlerpMerge.slerp(0.5f, x, y, x.length);
                double norm = 0;
                for (float v : merged) norm += (double) v * v;
                double expected = g.doubleColumn("mid_norm_slerp").getDouble(i);
                assertEquals(expected, Math.sqrt(norm), 1e-5 * expected, name);
            }
        }
    }

    @Test
    void chartsRender() {
        Images.assertRenders(g.plot(), "whole model");
        Images.assertRenders(g.plot("model.layers.1.self_attn.o_proj.weight"), "o_proj");
        Images.assertRenders(g.angles(), "angle");
        assertThrows(IllegalArgumentException.class, () -> g.plot("model.layers.9.nothing"));
    }
}
