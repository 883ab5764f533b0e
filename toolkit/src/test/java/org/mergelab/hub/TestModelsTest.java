package org.mergelab.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.analysis.Divergence;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.TensorSpec;

class TestModelsTest {
    /** Parameter counts the model cards publish; the shapes derived from each config.json must add up to them. */
    @Test
    void shapesAddUpToThePublishedParameterCounts() {
        Map<String, Long> published = Map.of("SmolLM-135M", 134_515_008L, "TinyLlama-1.1B", 1_100_048_384L,
                "Qwen2.5-0.5B", 494_032_768L, "Llama-3.2-3B", 3_212_749_824L, "Llama-2-7B", 6_738_415_616L);
        assertEquals(published.keySet(), java.util.Set.copyOf(TestModels.names()));
        for (var e : published.entrySet()) {
            List<TensorSpec> t = TestModels.tensors(TestModels.spec(e.getKey()), DType.BF16);
            assertEquals(e.getValue(), t.stream().mapToLong(TensorSpec::numel).sum(), e.getKey());
        }
        // Qwen2 has q/k/v biases; Llama-2-7B and TinyLlama have separate LM heads; the others are tied.
        assertTrue(TestModels.tensors(TestModels.spec("Qwen2.5-0.5B"), DType.BF16).stream()
                .anyMatch(s -> s.name().equals("model.layers.23.self_attn.k_proj.bias")));
        assertTrue(TestModels.tensors(TestModels.spec("Llama-2-7B"), DType.F16).stream()
                .anyMatch(s -> s.name().equals("lm_head.weight")));
        assertTrue(TestModels.tensors(TestModels.spec("SmolLM-135M"), DType.F32).stream()
                .noneMatch(s -> s.name().equals("lm_head.weight")));
    }

    @Test
    void valuesDoNotDependOnChunking() {
        float[] whole = new float[1000], parts = new float[1000], tmp = new float[300];
        TestModels.values("model.layers.0.mlp.up_proj.weight", 0, whole, 1000, 7, 0, 0);
        for (int off = 0; off < 1000; off += 300) {
            int n = Math.min(300, 1000 - off);
            TestModels.values("model.layers.0.mlp.up_proj.weight", off, tmp, n, 7, 0, 0);
            System.arraycopy(tmp, 0, parts, off, n);
        }
        assertArrayEquals(whole, parts);
    }

    @Test
    void writesAScaledDownModelThatOpensAndAFineTuneThatIsClose(@TempDir Path dir) throws IOException {
        TestModels.Spec real = TestModels.spec("Qwen2.5-0.5B");
        ObjectNode small = real.config().deepCopy();
        small.put("hidden_size", 64).put("intermediate_size", 96).put("num_hidden_layers", 3)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 300);
        TestModels.Spec spec = new TestModels.Spec("tiny-qwen2", "none", small, 40_000);
        Path a = TestModels.write(spec, dir.resolve("a"), DType.BF16, 3, 0, 0);
        Path a2 = TestModels.write(spec, dir.resolve("a2"), DType.BF16, 3, 0, 0);
        Path b = TestModels.write(spec, dir.resolve("b"), DType.BF16, 3, 11, 0.1);
        assertTrue(Files.exists(a.resolve("model.safetensors.index.json")), "small shard limit: sharded");
        try (Checkpoint ca = Checkpoint.open(a)) {
            assertEquals(TestModels.tensors(spec, DType.BF16).size(), ca.tensorNames().size());
            assertEquals("bfloat16", ca.config().get("torch_dtype").asText());
            float[] norm = ca.read("model.norm.weight").data();
            for (float v : norm) assertTrue(v >= 0.89f && v <= 1.11f, "norms near 1, give or take bf16 rounding: " + v);
        }
        Divergence same = Divergence.between(a, a2);
        for (int i = 0; i < same.rowCount(); i++) assertEquals(0.0, same.doubleColumn("l2").getDouble(i));
        Divergence tuned = Divergence.between(a, b);
        // A perturbation of 10% relative size: cosine ≈ 1/sqrt(1 + 0.1²) ≈ 0.995 for every weight matrix.
        for (int i = 0; i < tuned.rowCount(); i++) {
            if (!tuned.stringColumn("name").get(i).endsWith("q_proj.weight")) continue;
            double cos = tuned.doubleColumn("cosine").getDouble(i);
            assertEquals(1 / Math.sqrt(1.01), cos, 0.002, tuned.stringColumn("name").get(i));
        }
    }

    /**
     * The real repositories' sharding, from their indexes: SmolLM-135M, TinyLlama and Qwen2.5-0.5B are one
     * model.safetensors; Llama-3.2-3B is two shards of which the first ends inside layer 20 (4.97 GB); Llama-2-7b-chat
     * is two float16 shards, the first holding the embedding and layers 0-23 (9.98 GB). Only headers are planned here
     * (no weights written).
     */
    @Test
    void shardsSplitWhereTheRealRepositoriesSplit() {
        for (String single : List.of("SmolLM-135M", "TinyLlama-1.1B", "Qwen2.5-0.5B")) {
            TestModels.Spec s = TestModels.spec(single);
            assertEquals(1, org.mergelab.io.ShardedSafetensorsWriterProbe.shards(TestModels.tensors(s, s.storedDtype()),
                    s.maxShardBytes()).size(), single);
        }
        TestModels.Spec l2 = TestModels.spec("Llama-2-7B");
        var shards = org.mergelab.io.ShardedSafetensorsWriterProbe.shards(TestModels.tensors(l2, DType.F16), l2.maxShardBytes());
        assertEquals(2, shards.size());
        assertEquals("model.embed_tokens.weight", shards.get(0).get(0).name());
        assertEquals("model.layers.23.post_attention_layernorm.weight", shards.get(0).get(shards.get(0).size() - 1).name());
        assertEquals(9_976_545_280L, shards.get(0).stream().mapToLong(TensorSpec::byteSize).sum(),
                "9,976,576,152 bytes on the Hub, less its 30 kB header");
        assertEquals("lm_head.weight", shards.get(1).get(shards.get(1).size() - 1).name());
        assertEquals(1e-5, l2.config().get("rms_norm_eps").asDouble(), "Llama-2-7b-chat-hf's config says 1e-05");
        TestModels.Spec l3 = TestModels.spec("Llama-3.2-3B");
        shards = org.mergelab.io.ShardedSafetensorsWriterProbe.shards(TestModels.tensors(l3, DType.BF16), l3.maxShardBytes());
        assertEquals(2, shards.size());
        long first = shards.get(0).stream().mapToLong(TensorSpec::byteSize).sum();
        assertTrue(first > 4_950_000_000L && first < 4_965_799_096L, "4,965,799,096 bytes on the Hub with header: " + first);
    }

    @Test
    void writesBinCheckpointsWithTheSameValues(@TempDir Path dir) throws IOException {
        TestModels.Spec real = TestModels.spec("TinyLlama-1.1B");
        ObjectNode small = real.config().deepCopy();
        small.put("hidden_size", 32).put("intermediate_size", 48).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", 50);
        TestModels.Spec spec = new TestModels.Spec("tiny-llama", "none", small, 20_000);
        Path st = TestModels.write(spec, dir.resolve("st"), DType.BF16, 5, 0, 0);
        Path bin = TestModels.write(spec, dir.resolve("bin"), DType.BF16, 5, 0, 0, TestModels.Format.BIN);
        assertTrue(Files.exists(bin.resolve("pytorch_model.bin.index.json")));
        try (var a = Files.list(st); var b = Files.list(bin)) {
            long stShards = a.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
            long binShards = b.filter(p -> p.getFileName().toString().matches("pytorch_model-\\d{5}-of-\\d{5}\\.bin")).count();
            assertTrue(stShards > 1, "the small limit shards the model");
            assertEquals(stShards, binShards, "sharded like the safetensors");
        }
        try (Checkpoint a = Checkpoint.open(st); Checkpoint b = Checkpoint.open(bin)) {
            assertEquals(a.tensorNames().size(), b.tensorNames().size());
            for (String n : a.tensorNames()) {
                assertEquals(DType.BF16, b.info(n).dtype(), n);
                org.junit.jupiter.api.Assertions.assertArrayEquals(a.read(n).data(), b.read(n).data(), n);
            }
        }
    }
}
