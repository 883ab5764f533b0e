package org.mergelab.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.Json;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.Tensor;
import org.mergelab.io.TensorSpec;
import org.mergelab.merge.Merge;
import org.mergelab.recipe.Recipe;

class ArchitecturesTest {
    private static ObjectNode config(String cls, String type) {
        ObjectNode c = Json.object();
        c.putArray("architectures").add(cls);
        c.put("model_type", type);
        c.put("num_hidden_layers", 2);
        return c;
    }

    @Test
    void familiesAreFoundByClassAndDescribeTheirTensors() {
        Architecture gemma2 = Architectures.forConfig(config("Gemma2ForCausalLM", "gemma2"));
        List<String> layer1 = gemma2.layerWeights(1).stream().map(WeightTemplate::name).toList();
        assertTrue(layer1.contains("model.layers.1.pre_feedforward_layernorm.weight"));
        assertTrue(layer1.contains("model.layers.1.post_feedforward_layernorm.weight"));
        assertEquals(11, layer1.size());
        Architecture phi3 = Architectures.forConfig(config("Phi3ForCausalLM", "phi3"));
        assertEquals(List.of("model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.qkv_proj.weight",
                "model.layers.0.self_attn.o_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                "model.layers.0.mlp.gate_up_proj.weight", "model.layers.0.mlp.down_proj.weight"),
                phi3.layerWeights(0).stream().map(WeightTemplate::name).toList());
        assertEquals(ModuleKind.ATTN_QKV, ModuleKind.of("model.layers.0.self_attn.qkv_proj.weight"));
        assertEquals(ModuleKind.MLP_GATE_UP, ModuleKind.of("model.layers.0.mlp.gate_up_proj.weight"));
        WeightTemplate head = Architectures.forConfig(config("Qwen2ForCausalLM", "qwen2")).postWeights().get(1);
        assertTrue(head.optional() && head.isEmbedding());
        assertEquals(List.of("lm_head.weight", "model.embed_tokens.weight"), head.lookupNames());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Architectures.forConfig(config("MadeUpForCausalLM", "madeup")));
        assertTrue(e.getMessage().contains("LlamaForCausalLM") && e.getMessage().contains("Gemma2ForCausalLM"),
                "the message lists the supported architectures");
    }

    /** A GPT-NeoX-like checkpoint: a family MergeLab has no file for. */
    private static Path neox(Path dir, float base, boolean extraBias) throws IOException {
        Files.createDirectories(dir);
        ObjectNode cfg = config("GPTNeoXForCausalLM", "gpt_neox");
        cfg.put("num_hidden_layers", 3);
        cfg.put("vocab_size", 10);
        Json.write(dir.resolve("config.json"), cfg);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("gpt_neox.embed_in.weight", new long[] {10, 4});
        for (int l = 0; l < 3; l++) {
            shapes.put("gpt_neox.layers." + l + ".attention.query_key_value.weight", new long[] {12, 4});
            shapes.put("gpt_neox.layers." + l + ".mlp.dense_h_to_4h.weight", new long[] {8, 4});
        }
        if (extraBias) shapes.put("gpt_neox.layers.1.attention.bias", new long[] {4});
        shapes.put("gpt_neox.final_layer_norm.weight", new long[] {4});
        shapes.put("embed_out.weight", new long[] {10, 4});
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((n, s) -> specs.add(new TensorSpec(n, DType.F32, s)));
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), specs)) {
            int k = 0;
            for (var e : shapes.entrySet()) {
                float[] v = new float[(int) (e.getValue()[0] * (e.getValue().length > 1 ? e.getValue()[1] : 1))];
                for (int i = 0; i < v.length; i++) v[i] = base + k + i * 0.01f;
                w.write(e.getKey(), v);
                k++;
            }
            w.finish();
        }
        return dir;
    }

    @Test
    void unknownFamiliesMergeThroughTheirInferredLayout(@TempDir Path dir) throws IOException {
        Path a = neox(dir.resolve("a"), 0f, false), b = neox(dir.resolve("b"), 1f, true);
        Recipe linear = Recipe.parse("models:\n  - model: " + a + "\n    parameters: {weight: 1}\n"
                + "  - model: " + b + "\n    parameters: {weight: 1}\nmerge_method: linear\n");
        Merge.InMemory m = Merge.inMemory(linear);
        assertTrue(m.plan().architecture().inferred());
        assertEquals(3, m.plan().architecture().inferredLayers());
        assertTrue(m.plan().warnings().stream().anyMatch(w -> w.contains("GPTNeoXForCausalLM") && w.contains("inferred")));
        // Every tensor of either model is in the output; the bias only b has is optional and comes through as b's.
        assertEquals(10, m.tensors().size());
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
            float[] x = ca.read("gpt_neox.layers.2.mlp.dense_h_to_4h.weight").data();
            float[] y = cb.read("gpt_neox.layers.2.mlp.dense_h_to_4h.weight").data();
            float[] z = m.tensor("gpt_neox.layers.2.mlp.dense_h_to_4h.weight").data();
            for (int i = 0; i < z.length; i++) assertEquals((x[i] + y[i]) / 2, z[i], 1e-6);
            Tensor bias = m.tensor("gpt_neox.layers.1.attention.bias");
            assertEquals(cb.read("gpt_neox.layers.1.attention.bias").data()[3], bias.data()[3]);
        }

        // A frankenmerge: layers renumber across slices; the layer count has no config key, so it is left alone.
        Recipe stack = Recipe.parse("slices:\n  - sources:\n      - model: " + a + "\n        layer_range: [0, 2]\n"
                + "  - sources:\n      - model: " + b + "\n        layer_range: [1, 3]\nmerge_method: passthrough\n");
        Merge.InMemory s = Merge.inMemory(stack);
        assertTrue(s.tensors().containsKey("gpt_neox.layers.3.mlp.dense_h_to_4h.weight"));
        assertFalse(s.tensors().containsKey("gpt_neox.layers.4.mlp.dense_h_to_4h.weight"));
        try (Checkpoint cb = Checkpoint.open(b)) {
            // Output layer 2 is b's layer 1.
            assertEquals(cb.read("gpt_neox.layers.1.attention.query_key_value.weight").data()[5],
                    s.tensor("gpt_neox.layers.2.attention.query_key_value.weight").data()[5]);
        }
        assertEquals(3, s.plan().outConfig().get("num_hidden_layers").asInt());
    }
}
