package org.mergelab.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Tensor;
import org.mergelab.model.tokenizer.Tokenizer;

/** Bad input is refused with a message that names what is wrong and where. */
class BadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A copy of a tiny folder with config.json edited. */
    private Path withConfig(String tiny, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path dir = Files.createTempDirectory(tmp, tiny + "-edited");
        try (Stream<Path> files = Files.list(TestData.tiny(tiny))) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        ObjectNode cfg = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(cfg);
        JSON.writeValue(dir.resolve("config.json").toFile(), cfg);
        return dir;
    }

    @Test
    void unsupportedArchitectureListsTheSupportedOnes() throws IOException {
        Path dir = withConfig("llama3", c -> {
            c.putArray("architectures").add("GPT2LMHeadModel");
            c.put("model_type", "gpt2");
        });
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> Model.load(dir));
        for (String s : new String[] {"GPT2LMHeadModel", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                "Qwen3ForCausalLM", dir.toString()}) {
            assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
        }
    }

    @Test
    void aTokenizerOfAnotherVocabularyIsRefusedWithBothSizes() throws IOException {
        Path dir = tmp.resolve("stories-with-qwen-tokenizer");
        Files.createDirectories(dir);
        Path stories = TestData.folder("stories260K");
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(stories.resolve(f), dir.resolve(f));
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(TestData.tiny("qwen2").resolve(f), dir.resolve(f));
        }
        int size = Tokenizer.load(dir).size();
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> Model.load(dir));
        assertTrue(e.getMessage().contains(size + " tokens") && e.getMessage().contains("vocab_size is 512"),
                e.getMessage());
    }

    @Test
    void wrongShapesAndMissingTensorsNameTheTensor() throws IOException {
        Path dir = withConfig("qwen2", c -> c.put("intermediate_size", 96));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> Model.load(dir));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.gate_proj.weight") && e.getMessage().contains("[128, 64]")
                && e.getMessage().contains("[96, 64]"), e.getMessage());

        Map<String, Tensor> tensors = new HashMap<>();
        ObjectNode config;
        try (Checkpoint ck = Checkpoint.open(TestData.tiny("qwen2"))) {
            for (String n : ck.tensorNames()) tensors.put(n, ck.read(n));
            config = ck.config().deepCopy();
        }
        tensors.remove("model.layers.1.self_attn.k_proj.bias");
        UnsupportedModelException missing = assertThrows(UnsupportedModelException.class,
                () -> Model.of("merge of qwen2", config, tensors, null));
        assertTrue(missing.getMessage().contains("model.layers.1.self_attn.k_proj.bias")
                && missing.getMessage().contains("merge of qwen2"), missing.getMessage());
    }

    @Test
    void unsupportedConfigurationsAreNamed() throws IOException {
        Path yarn = withConfig("llama3", c -> ((ObjectNode) c.get("rope_parameters")).put("rope_type", "yarn"));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> Model.load(yarn));
        assertTrue(e.getMessage().contains("yarn") && e.getMessage().contains("llama3"), e.getMessage());
        Path gelu = withConfig("mistral", c -> c.put("hidden_act", "gelu"));
        e = assertThrows(UnsupportedModelException.class, () -> Model.load(gelu));
        assertTrue(e.getMessage().contains("hidden_act 'gelu'"), e.getMessage());
        Path noHead = withConfig("llama3", c -> c.put("tie_word_embeddings", false));
        e = assertThrows(UnsupportedModelException.class, () -> Model.load(noHead));
        assertTrue(e.getMessage().contains("lm_head.weight is missing"), e.getMessage());
    }

    @Test
    void tokensOutsideTheVocabularyAreRefused() {
        Transformer t = TestData.model("stories260K").transformer();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.logits(t.newCache(4), 512));
        assertTrue(e.getMessage().contains("512") && e.getMessage().contains("0..511"), e.getMessage());
    }
}
