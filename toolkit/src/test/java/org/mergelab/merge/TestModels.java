package org.mergelab.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mergelab.arch.Architectures;
import org.mergelab.arch.WeightTemplate;
import org.mergelab.hub.DemoModels;
import org.mergelab.hub.SharedData;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.Json;
import org.mergelab.io.Llama2cImporter;
import org.mergelab.io.SafetensorsWriter;
import org.mergelab.io.TensorSpec;
import org.mergelab.recipe.Recipe;

/** Real models from the shared data folder, imported into a test's temporary folder, and tiny synthetic ones. */
final class TestModels {
    private TestModels() {}

    static Path family(String name, Path home) {
        return DemoModels.ensure(name, home);
    }

    /**
     * A base and two fine-tunes of a tiny untied Qwen2 (two layers, four heads, two key/value heads) written into
     * {@code dir}/base, tuned1 and tuned2: random weights, the fine-tunes perturbed by 0.2 and 0.3 of them.
     */
    static void qwen2Family(Path dir, DType dtype, int hidden, int intermediate, int vocab) throws IOException {
        ObjectNode c = org.mergelab.hub.TestModels.spec("Qwen2.5-0.5B").config().deepCopy();
        c.put("hidden_size", hidden).put("intermediate_size", intermediate).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("vocab_size", vocab)
                .put("tie_word_embeddings", false);
        org.mergelab.hub.TestModels.Spec spec = new org.mergelab.hub.TestModels.Spec("tiny-qwen2", "none", c,
                Long.MAX_VALUE);
        org.mergelab.hub.TestModels.write(spec, dir.resolve("base"), dtype, 5, 0, 0);
        org.mergelab.hub.TestModels.write(spec, dir.resolve("tuned1"), dtype, 5, 6, 0.2);
        org.mergelab.hub.TestModels.write(spec, dir.resolve("tuned2"), dtype, 5, 7, 0.3);
    }

    static Path llama2xs(Path home) throws IOException {
        Path out = home.resolve("llama2xs");
        if (Files.isDirectory(out)) return out;
        return Llama2cImporter.importModel(SharedData.file("models/llama2xs/model.bin"),
                SharedData.file(DemoModels.TOKENIZER), out, false);
    }

    /**
     * A Llama checkpoint with {@code layers} layers whose every tensor is F32 [2] filled with {@code fill}: enough for
     * the planner, which reads only configs and headers.
     */
    static Path synthetic(Path dir, int layers, float fill) throws IOException {
        Files.createDirectories(dir);
        ObjectNode cfg = Json.object();
        cfg.putArray("architectures").add("LlamaForCausalLM");
        cfg.put("model_type", "llama");
        cfg.put("num_hidden_layers", layers);
        Json.write(dir.resolve("config.json"), cfg);
        List<TensorSpec> specs = new ArrayList<>();
        for (WeightTemplate w : Architectures.byName("llama").allWeights(layers)) {
            if (!w.optional()) specs.add(new TensorSpec(w.name(), DType.F32, new long[] {2}));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve(Checkpoint.SINGLE_FILE), specs)) {
            for (TensorSpec s : specs) w.write(s.name(), new float[] {fill, fill});
            w.finish();
        }
        return dir;
    }

    static Recipe recipe(Path dir, String name, String text) throws IOException {
        return Recipe.load(Files.writeString(dir.resolve(name), text));
    }

    static void close(MergePlan plan) {
        plan.checkpoints().values().forEach(Checkpoint::close);
    }
}
