package org.mergelab.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.mergelab.arch.Architecture;
import org.mergelab.arch.Architectures;
import org.mergelab.arch.WeightTemplate;
import org.mergelab.io.DType;
import org.mergelab.io.Json;
import org.mergelab.io.OutputFolder;
import org.mergelab.io.ShardedSafetensorsWriter;
import org.mergelab.io.ShardedTorchWriter;
import org.mergelab.io.TensorSpec;

/**
 * Hugging Face folders with the exact config.json, tensor names, shapes and sharding of real Hub models
 * (SmolLM-135M, TinyLlama-1.1B, Qwen2.5-0.5B, Llama-3.2-3B, Llama-2-7B), filled with seeded random weights: the
 * models that cannot be downloaded here, at their real sizes, for I/O, speed and memory work. A "fine-tune" of a
 * test model is the same weights plus a small seeded perturbation, so merges between them behave like merges of
 * real relatives (cosine near 1). Generated, never committed.
 */
public final class TestModels {
    /** One model the generator knows: its Hub id, its real config.json and how its repository is sharded. */
    public record Spec(String name, String hubId, ObjectNode config, long maxShardBytes) {
        public DType storedDtype() {
            return DType.parse(config.path("torch_dtype").asText("float32"));
        }
    }

    private static final Map<String, Spec> SPECS = load();

    private TestModels() {}

    public static List<String> names() {
        return List.copyOf(SPECS.keySet());
    }

    public static Spec spec(String name) {
        Spec s = SPECS.get(name);
        if (s == null) throw new IllegalArgumentException("no test model '" + name + "'; known: " + SPECS.keySet());
        return s;
    }

    /**
     * The tensors of {@code spec}, with their shapes, stored as {@code dtype}, in the order transformers' state dict
     * lists them (embedding; per layer attention, MLP, then the two norms; final norm; LM head): the order its
     * sharding follows, so the shards hold the same tensors as the real repository's.
     */
    public static List<TensorSpec> tensors(Spec spec, DType dtype) {
        JsonNode c = spec.config();
        Architecture arch = Architectures.forConfig(c);
        int layers = arch.numLayers(c);
        List<TensorSpec> out = new ArrayList<>();
        boolean tied = c.path("tie_word_embeddings").asBoolean(false);
        for (WeightTemplate w : arch.allWeights(layers)) {
            if (w.name().equals("lm_head.weight") && tied) continue;
            out.add(new TensorSpec(w.name(), dtype, shapeOf(w.name(), c)));
        }
        out.sort(java.util.Comparator.comparingInt((TensorSpec t) -> stateDictRank(t.name()))
                .thenComparingInt(t -> org.mergelab.arch.ModuleKind.layerOf(t.name()).orElse(-1))
                .thenComparingInt(t -> moduleRank(t.name())));
        return out;
    }

    private static int stateDictRank(String name) {
        if (name.startsWith("model.embed_tokens")) return 0;
        if (name.startsWith("model.layers.")) return 1;
        return name.startsWith("lm_head") ? 3 : 2;
    }

    /** Module order inside a transformers decoder layer. */
    private static final List<String> LAYER_ORDER = List.of("self_attn.q_proj.weight", "self_attn.q_proj.bias",
            "self_attn.k_proj.weight", "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias",
            "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate_proj.weight",
            "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight");

    private static int moduleRank(String name) {
        for (int i = 0; i < LAYER_ORDER.size(); i++) if (name.endsWith("." + LAYER_ORDER.get(i))) return i;
        return LAYER_ORDER.size();
    }

    /** How a test model's weights are stored. */
    public enum Format { SAFETENSORS, BIN }

    /** A tensor's shape from the config, for the Llama family's names (Llama, Mistral, Qwen2, Qwen3). */
    static long[] shapeOf(String name, JsonNode c) {
        long h = c.get("hidden_size").asLong();
        long heads = c.get("num_attention_heads").asLong();
        long kv = c.path("num_key_value_heads").asLong(heads);
        long hd = c.has("head_dim") ? c.get("head_dim").asLong() : h / heads;
        long inter = c.get("intermediate_size").asLong();
        long vocab = c.get("vocab_size").asLong();
        boolean bias = name.endsWith(".bias");
        if (name.endsWith("embed_tokens.weight") || name.equals("lm_head.weight")) return new long[] {vocab, h};
        if (name.contains("q_norm") || name.contains("k_norm")) return new long[] {hd};
        if (name.contains("norm")) return new long[] {h};
        if (name.contains("q_proj")) return bias ? new long[] {heads * hd} : new long[] {heads * hd, h};
        if (name.contains("k_proj") || name.contains("v_proj")) return bias ? new long[] {kv * hd} : new long[] {kv * hd, h};
        if (name.contains("o_proj")) return new long[] {h, heads * hd};
        if (name.contains("gate_proj") || name.contains("up_proj")) return new long[] {inter, h};
        if (name.contains("down_proj")) return new long[] {h, inter};
        throw new IllegalArgumentException("no shape rule for tensor " + name);
    }

    /**
     * Writes a model of {@code name}'s shapes into {@code out} (atomically), with weights drawn from {@code seed};
     * when {@code tuneSeed} is not 0, adds a perturbation of relative size {@code delta} drawn from it (a "fine-tune"
     * of the model with the same {@code seed}). Returns the folder.
     */
    public static Path write(String name, Path out, DType dtype, long seed, long tuneSeed, double delta) throws IOException {
        return write(spec(name), out, dtype, seed, tuneSeed, delta);
    }

    /** {@link #write(String, Path, DType, long, long, double)} for any spec (a scaled-down one, say). */
    public static Path write(Spec spec, Path out, DType dtype, long seed, long tuneSeed, double delta) throws IOException {
        return write(spec, out, dtype, seed, tuneSeed, delta, Format.SAFETENSORS);
    }

    /**
     * {@link #write(Spec, Path, DType, long, long, double)} in either format: {@link Format#BIN} writes PyTorch
     * {@code pytorch_model.bin} files (sharded with {@code pytorch_model.bin.index.json}) holding the same values.
     */
    public static Path write(Spec spec, Path out, DType dtype, long seed, long tuneSeed, double delta, Format format)
            throws IOException {
        String name = spec.name();
        List<TensorSpec> tensors = tensors(spec, dtype);
        try (OutputFolder folder = OutputFolder.create(out, true)) {
            if (format == Format.BIN) {
                try (ShardedTorchWriter w = ShardedTorchWriter.create(folder.dir(), tensors, spec.maxShardBytes())) {
                    fill(w::writeChunk, w::markWritten, tensors, seed, tuneSeed, delta);
                    w.finish();
                }
            } else {
                try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.create(folder.dir(), tensors, spec.maxShardBytes())) {
                    fill(w::writeChunk, w::markWritten, tensors, seed, tuneSeed, delta);
                    w.finish(Map.of("mergelab_test_model", name));
                }
            }
            ObjectNode cfg = spec.config().deepCopy();
            cfg.put("torch_dtype", dtype.torchName());
            cfg.put("_mergelab_test_model", "random weights in the shapes of " + spec.hubId() + ", seed " + seed
                    + (tuneSeed != 0 ? ", perturbed by seed " + tuneSeed + " at " + delta : ""));
            Json.write(folder.resolve("config.json"), cfg);
            ObjectNode gen = Json.object();
            gen.set("bos_token_id", cfg.get("bos_token_id"));
            gen.set("eos_token_id", cfg.get("eos_token_id"));
            Json.write(folder.resolve("generation_config.json"), gen);
            return folder.commit();
        }
    }

    private static final int CHUNK = 1 << 20;

    private interface ChunkSink {
        void write(String name, long offset, float[] data, int n) throws IOException;
    }

    private static void fill(ChunkSink w, java.util.function.Consumer<String> done, List<TensorSpec> tensors, long seed,
                             long tuneSeed, double delta) throws IOException {
        int threads = Runtime.getRuntime().availableProcessors();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (TensorSpec t : tensors) {
                long n = t.numel();
                for (long off = 0; off < n; off += CHUNK) {
                    long start = off;
                    int len = (int) Math.min(CHUNK, n - off);
                    jobs.add(pool.submit(() -> {
                        float[] buf = new float[len];
                        values(t.name(), start, buf, len, seed, tuneSeed, delta);
                        w.write(t.name(), start, buf, len);
                        return null;
                    }));
                }
            }
            for (Future<?> f : jobs) f.get();
            for (TensorSpec t : tensors) done.accept(t.name());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Deterministic values for elements [start, start+len) of a tensor, whatever the chunking or thread: each
     * element's value comes from a counter-based hash of (seed, tensor, index). Norm weights sit near 1, everything
     * else is uniform with standard deviation 0.02, like a freshly initialised transformer.
     */
    static void values(String tensor, long start, float[] out, int len, long seed, long tuneSeed, double delta) {
        boolean norm = tensor.contains("norm");
        long key = mix(seed ^ tensor.hashCode() * 0x9E3779B97F4A7C15L);
        long tuneKey = mix(tuneSeed ^ tensor.hashCode() * 0xC2B2AE3D27D4EB4FL);
        double scale = 0.02 * Math.sqrt(3); // uniform on [-a, a] has standard deviation a / sqrt(3)
        for (int i = 0; i < len; i++) {
            long idx = start + i;
            double u = uniform(mix(key + idx));
            double v = norm ? 1.0 + 0.1 * u : scale * u;
            if (tuneSeed != 0) v += delta * (norm ? 0.1 : scale) * uniform(mix(tuneKey + idx));
            out[i] = (float) v;
        }
    }

    /** A value in [-1, 1) from 64 random bits. */
    private static double uniform(long bits) {
        return (bits >>> 11) * 0x1.0p-52 - 1.0;
    }

    /** SplitMix64's finaliser: a good 64-bit mix, so consecutive indices give independent-looking values. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static Map<String, Spec> load() {
        try (InputStream in = TestModels.class.getResourceAsStream("test-models.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            Map<String, Spec> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.get("models").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode m = e.getValue();
                out.put(e.getKey(), new Spec(e.getKey(), m.get("hub_id").asText(), (ObjectNode) m.get("config"),
                        m.get("max_shard_bytes").asLong()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
