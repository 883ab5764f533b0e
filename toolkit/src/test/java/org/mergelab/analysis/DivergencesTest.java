package org.mergelab.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.TestModels;
import org.mergelab.io.DType;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.TensorSpec;
import org.mergelab.testing.Images;
import tech.tablesaw.api.Table;

class DivergencesTest {
    static final List<String> TUNED = List.of("stories260K-shakespeare", "stories260K-babi", "stories260K-fables");

    @TempDir
    static Path models;
    static Path base;
    static Path[] tuned;
    static JsonNode ref;

    @BeforeAll
    static void setUp() throws IOException {
        base = DemoModels.ensure("stories260K", models);
        tuned = TUNED.stream().map(n -> DemoModels.ensure(n, models)).toArray(Path[]::new);
        ref = reference();
    }

    static JsonNode reference() throws IOException {
        try (InputStream in = DivergencesTest.class.getResourceAsStream("/reference/analysis-stories260K-family.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static void close(double expected, double actual, double relTol, String what) {
        assertEquals(expected, actual, relTol * Math.max(1, Math.abs(expected)), what);
    }

    @Test
    void everyFineTuneAgainstTheBaseMatchesNumpy() {
        Divergences d = Divergences.against(base, tuned);
        assertEquals(TUNED, d.models());
        assertEquals(0, d.unmatched().rowCount());
        assertEquals(3 * 47, d.rowCount());
        for (int i = 0; i < d.rowCount(); i++) {
            String model = d.stringColumn("model").get(i), name = d.stringColumn("name").get(i);
            JsonNode r = ref.get("divergence").get(model).get("tensors").get(name);
            for (String col : List.of("cosine", "angle_deg", "norm_ratio", "rel_change", "sign_flip")) {
                close(r.get(col).asDouble(), d.doubleColumn(col).getDouble(i), 1e-11, col + " of " + model + " " + name);
            }
            assertEquals(0, d.longColumn("nonfinite_a").getLong(i) + d.longColumn("nonfinite_b").getLong(i));
        }
        Table totals = d.totals();
        for (int k = 0; k < 3; k++) {
            JsonNode t = ref.get("divergence").get(TUNED.get(k)).get("total");
            for (String col : List.of("cosine", "angle_deg", "norm_ratio", "sign_flip")) {
                close(t.get(col).asDouble(), totals.doubleColumn(col).getDouble(k), 1e-11, col + " of " + TUNED.get(k));
            }
        }
        // The pair tables are the two-model tables of Divergence.between.
        Divergence one = Divergence.between(base, tuned[1]);
        Divergence pair = d.pair("stories260K-babi");
        for (int i = 0; i < one.rowCount(); i++) {
            assertEquals(one.doubleColumn("cosine").getDouble(i), pair.doubleColumn("cosine").getDouble(i));
        }
    }

    @Test
    void rollUpsPerLayerAndModuleAndCharts() {
        Divergences d = Divergences.against(base, tuned);
        Divergences.Layers layers = d.byLayer();
        assertEquals(3 * 45, layers.rowCount());
        // The 'all' row of a layer is that layer's tensors as one vector (NumPy's per-tensor figures, summed).
        Table pair = d.pair(0).byModule();
        assertEquals(List.of("attn_q", "attn_k", "attn_v", "attn_o", "mlp_gate", "mlp_up", "mlp_down", "norm", "embed"),
                pair.stringColumn("module").asList());
        assertEquals(5, pair.intColumn("tensors").getInt(0));
        assertEquals(11, pair.intColumn("tensors").getInt(7), "two norms per layer and the final norm");
        Images.assertRenders(layers.plot(), "relative change", "stories260K");
        Images.assertRenders(layers.plot("sign_flip"), "flipped sign");
        Images.assertRenders(layers.heatmap("stories260K-babi", "rel_change"), "relative change", "stories260K-babi");
        Images.assertRenders(d.pair(0).byLayer().heatmap("angle_deg"), "angle");
    }

    private static void write(Path file, DType dtype, Map<String, float[]> tensors, Map<String, long[]> shapes)
            throws IOException {
        List<TensorSpec> specs = tensors.keySet().stream().map(n -> new TensorSpec(n, dtype, shapes.get(n))).toList();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, specs)) {
            for (var e : tensors.entrySet()) w.write(e.getKey(), e.getValue());
            w.finish();
        }
    }

    @Test
    void nanAndInfinityAreCountedAndLeftOutNeverPropagated(@TempDir Path dir) throws IOException {
        for (DType dtype : List.of(DType.F32, DType.BF16)) {
            String q = "model.layers.0.self_attn.q_proj.weight", k = "model.layers.0.self_attn.k_proj.weight";
            Path a = dir.resolve("a-" + dtype + ".safetensors"), b = dir.resolve("b-" + dtype + ".safetensors");
            Map<String, float[]> ta = new LinkedHashMap<>(), tb = new LinkedHashMap<>();
            // Finite pairs: a = (1, 2, 2), b = (2, -4, 4) -> dot = 2 - 8 + 8 = 2, |a| = 3, |b| = 6, one sign flip.
            ta.put(q, new float[] {1, Float.NaN, 2, 2, 5});
            tb.put(q, new float[] {2, 7, -4, 4, Float.POSITIVE_INFINITY});
            ta.put(k, new float[] {1, 0});
            tb.put(k, new float[] {1, 0});
            Map<String, long[]> shapes = Map.of(q, new long[] {5}, k, new long[] {2});
            write(a, dtype, ta, shapes);
            write(b, dtype, tb, shapes);
            Divergence d = Divergence.between(a, b);
            assertEquals(List.of(k, q), d.stringColumn("name").asList());
            assertEquals(1, d.longColumn("nonfinite_a").getLong(1));
            assertEquals(1, d.longColumn("nonfinite_b").getLong(1));
            assertEquals(2.0 / 18, d.doubleColumn("cosine").getDouble(1), 1e-15);
            assertEquals(6.0 / 3, d.doubleColumn("norm_ratio").getDouble(1), 1e-15);
            // b - a over the finite pairs: (1, -6, 2) -> sqrt(41).
            assertEquals(Math.sqrt(41), d.doubleColumn("l2").getDouble(1), 1e-14);
            assertEquals(1.0 / 3, d.doubleColumn("sign_flip").getDouble(1), 1e-15);
            assertEquals(List.of(q), d.nonFinite().stringColumn("name").asList());
            // The layer roll-up stays finite: (1, 0) adds dot 1, |a|^2 1, |b|^2 1.
            LayerDivergence l = d.byLayer();
            Table all = l.where(l.stringColumn("module").isEqualTo("all"));
            assertEquals(3.0 / Math.sqrt(10) / Math.sqrt(37), all.doubleColumn("cosine").getDouble(0), 1e-15);
            assertEquals(2, all.longColumn("nonfinite_a").getLong(0) + all.longColumn("nonfinite_b").getLong(0));
            assertFalse(Double.isNaN(d.total().cosine()));
        }
    }

    @Test
    void checkpointsStoredInDifferentDtypesCompareByValue(@TempDir Path dir) throws IOException {
        String q = "model.layers.0.self_attn.q_proj.weight";
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        // Values exact in bf16: a = (1, 2, 2), b = (2, -4, 4) as above.
        write(a, DType.F32, Map.of(q, new float[] {1, 2, 2}), Map.of(q, new long[] {3}));
        write(b, DType.BF16, Map.of(q, new float[] {2, -4, 4}), Map.of(q, new long[] {3}));
        Divergence d = Divergence.between(a, b);
        assertEquals(2.0 / 18, d.doubleColumn("cosine").getDouble(0), 1e-15);
        assertEquals(1.0 / 3, d.doubleColumn("sign_flip").getDouble(0), 1e-15);
    }

    @Test
    void differentArchitecturesAndShapesGetRowsForWhatMatchesAndAListOfWhatDoesNot(@TempDir Path dir)
            throws IOException {
        ObjectNode llama = TestModels.spec("TinyLlama-1.1B").config().deepCopy();
        llama.put("hidden_size", 32).put("intermediate_size", 48).put("num_hidden_layers", 3)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 100);
        ObjectNode qwen = TestModels.spec("Qwen2.5-0.5B").config().deepCopy();
        qwen.put("hidden_size", 32).put("intermediate_size", 64).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 100)
                .put("tie_word_embeddings", false);
        Path a = TestModels.write(new TestModels.Spec("tiny-llama", "none", llama, 1L << 40), dir.resolve("llama"),
                DType.BF16, 1, 0, 0);
        Path b = TestModels.write(new TestModels.Spec("tiny-qwen", "none", qwen, 1L << 40), dir.resolve("qwen"),
                DType.BF16, 1, 0, 0);
        Divergence d = Divergence.between(a, b);
        Table u = d.unmatched();
        Map<String, String> reasons = new LinkedHashMap<>();
        for (int i = 0; i < u.rowCount(); i++) reasons.put(u.stringColumn("name").get(i), u.stringColumn("reason").get(i));
        assertTrue(reasons.get("(config.json)").contains("LlamaForCausalLM") && reasons.get("(config.json)")
                .contains("Qwen2ForCausalLM"), reasons.toString());
        assertTrue(reasons.get("model.layers.0.mlp.up_proj.weight").contains("[48, 32]")
                && reasons.get("model.layers.0.mlp.up_proj.weight").contains("[64, 32]"));
        assertEquals("only in llama", reasons.get("model.layers.2.self_attn.q_proj.weight"));
        assertEquals("only in qwen", reasons.get("model.layers.0.self_attn.q_proj.bias"));
        // What matches is compared: attention and norms of layers 0 and 1, embeddings, head, final norm.
        List<String> rows = d.stringColumn("name").asList();
        assertTrue(rows.contains("model.layers.1.self_attn.o_proj.weight") && rows.contains("model.embed_tokens.weight")
                && rows.contains("lm_head.weight"), rows.toString());
        assertEquals(2 * 6 + 3, rows.size(), rows.toString());
        for (int i = 0; i < d.rowCount(); i++) assertTrue(Double.isFinite(d.doubleColumn("cosine").getDouble(i)));
    }
}
