package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
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
import tech.tablesaw.api.Table;

class DivergenceTest {
    @TempDir
    static Path models;
    static Path base;
    static Path tuned;

    @BeforeAll
    static void importParents() {
        base = DemoModels.ensure("stories260K", models);
        tuned = DemoModels.ensure("stories260K-shakespeare", models);
    }

    private static void write(Path file, Map<String, float[]> tensors, Map<String, long[]> shapes) throws IOException {
        List<TensorSpec> specs = tensors.keySet().stream().map(n -> new TensorSpec(n, DType.F32, shapes.get(n))).toList();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, specs)) {
            for (var e : tensors.entrySet()) w.write(e.getKey(), e.getValue());
            w.finish();
        }
    }

    @Test
    void handComputedFiguresAndUnmatchedTensors(@TempDir Path dir) throws IOException {
        String q = "model.layers.0.self_attn.q_proj.weight", norm = "model.norm.weight";
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        write(a, Map.of(q, new float[] {1, 0, 0, 0}, norm, new float[] {1, 2, 2}, "only.in.a", new float[] {1},
                        "model.layers.1.mlp.up_proj.weight", new float[] {1, 1}),
                Map.of(q, new long[] {2, 2}, norm, new long[] {3}, "only.in.a", new long[] {1},
                        "model.layers.1.mlp.up_proj.weight", new long[] {2}));
        write(b, Map.of(q, new float[] {0, 1, 0, 0}, norm, new float[] {2, 4, 4},
                        "model.layers.1.mlp.up_proj.weight", new float[] {1, 1, 1}),
                Map.of(q, new long[] {2, 2}, norm, new long[] {3}, "model.layers.1.mlp.up_proj.weight", new long[] {3}));
        Divergence d = Divergence.between(a, b);
        assertEquals(2, d.rowCount());
        // Rows in natural order: the layer tensor first, then model.norm.weight.
        assertEquals(q, d.stringColumn("name").get(0));
        assertEquals(0, d.intColumn("layer").getInt(0));
        assertEquals("attn_q", d.stringColumn("module").get(0));
        assertEquals("[2, 2]", d.stringColumn("shape").get(0));
        // Orthogonal unit vectors: cosine 0, ‖b − a‖ = √2, relative change √2 / 1.
        assertEquals(0.0, d.doubleColumn("cosine").getDouble(0), 1e-15);
        assertEquals(Math.sqrt(2), d.doubleColumn("l2").getDouble(0), 1e-15);
        assertEquals(Math.sqrt(2), d.doubleColumn("rel_change").getDouble(0), 1e-15);
        // b = 2a: cosine 1, ‖a‖ = 3, ‖b‖ = 6, ‖b − a‖ = 3, relative change 1.
        assertTrue(d.intColumn("layer").isMissing(1));
        assertEquals("norm", d.stringColumn("module").get(1));
        assertEquals(1.0, d.doubleColumn("cosine").getDouble(1), 1e-15);
        assertEquals(3.0, d.doubleColumn("norm_a").getDouble(1), 1e-15);
        assertEquals(6.0, d.doubleColumn("norm_b").getDouble(1), 1e-15);
        assertEquals(3.0, d.doubleColumn("l2").getDouble(1), 1e-15);
        assertEquals(1.0, d.doubleColumn("rel_change").getDouble(1), 1e-15);
        Table u = d.unmatched();
        assertEquals(2, u.rowCount());
        assertTrue(u.stringColumn("reason").asList().contains("only in a.safetensors".replace(".safetensors", ""))
                || u.stringColumn("reason").asList().stream().anyMatch(s -> s.startsWith("only in")));
        assertTrue(u.stringColumn("reason").asList().stream().anyMatch(s -> s.contains("[2]") && s.contains("[3]")),
                u.print());
    }

    @Test
    void matchesNumpyOnTheRealParents() throws IOException {
        JsonNode ref;
        try (InputStream in = getClass().getResourceAsStream("/reference/divergence-stories260K-shakespeare.json")) {
            ref = new ObjectMapper().readTree(in);
        }
        Divergence d = Divergence.between(base, tuned);
        assertEquals(ref.get("tensors").size(), d.rowCount());
        assertEquals(0, d.unmatched().rowCount());
        for (int i = 0; i < d.rowCount(); i++) {
            JsonNode r = ref.get("tensors").get(d.stringColumn("name").get(i));
            assertEquals(r.get("numel").asLong(), d.longColumn("numel").getLong(i));
            for (String col : List.of("cosine", "l2", "rel_change", "norm_a", "norm_b")) {
                double expected = r.get(col).asDouble();
                assertEquals(expected, d.doubleColumn(col).getDouble(i), 1e-12 * Math.max(1, Math.abs(expected)),
                        col + " of " + d.stringColumn("name").get(i));
            }
        }
        assertEquals(ref.get("total").get("cosine").asDouble(), d.total().cosine(), 1e-12);
        assertEquals(ref.get("total").get("rel_change").asDouble(), d.total().relChange(), 1e-12);
    }

    @Test
    void byLayerRollsUpSumsNotMeans() throws IOException {
        JsonNode ref;
        try (InputStream in = getClass().getResourceAsStream("/reference/divergence-stories260K-shakespeare.json")) {
            ref = new ObjectMapper().readTree(in).get("tensors");
        }
        LayerDivergence layers = Divergence.between(base, tuned).byLayer();
        // 5 layers x (attn_q, attn_k, attn_v, attn_o, mlp_gate, mlp_up, mlp_down, norm, all).
        assertEquals(45, layers.rowCount());
        for (int layer = 0; layer < 5; layer++) {
            // The whole layer as one vector: Σ dot / (√Σ‖a‖² √Σ‖b‖²), from NumPy's per-tensor figures.
            double dot = 0, aa = 0, bb = 0;
            int tensors = 0;
            for (var it = ref.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getKey().startsWith("model.layers." + layer + ".")) continue;
                JsonNode r = e.getValue();
                double na = r.get("norm_a").asDouble(), nb = r.get("norm_b").asDouble();
                dot += r.get("cosine").asDouble() * na * nb;
                aa += na * na;
                bb += nb * nb;
                tensors++;
            }
            Table all = layers.where(layers.intColumn("layer").isEqualTo(layer)
                    .and(layers.stringColumn("module").isEqualTo("all")));
            assertEquals(1, all.rowCount());
            assertEquals(tensors, all.intColumn("tensors").getInt(0));
            assertEquals(dot / Math.sqrt(aa) / Math.sqrt(bb), all.doubleColumn("cosine").getDouble(0), 1e-12);
            Table norms = layers.where(layers.intColumn("layer").isEqualTo(layer)
                    .and(layers.stringColumn("module").isEqualTo("norm")));
            assertEquals(2, norms.intColumn("tensors").getInt(0), "input and post-attention norms");
        }
    }

    @Test
    void aModelIsIdenticalToItself() {
        Divergence d = Divergence.between(base, base);
        for (int i = 0; i < d.rowCount(); i++) {
            assertEquals(1.0, d.doubleColumn("cosine").getDouble(i), 1e-12);
            assertEquals(0.0, d.doubleColumn("l2").getDouble(i));
        }
    }
}
