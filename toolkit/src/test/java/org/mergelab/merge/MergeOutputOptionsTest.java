package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.hub.DemoModels;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Json;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;

/** mergekit-yaml's --allow-crimes and --no-safe-serialization. */
class MergeOutputOptionsTest {
    @TempDir
    static Path dir;
    static Path base;
    static Path tuned;

    @BeforeAll
    static void models() {
        base = DemoModels.ensure("stories260K", dir);
        tuned = DemoModels.ensure("stories260K-shakespeare", dir);
    }

    private static Recipe linear(Path a, Path b) {
        return Recipe.parse("merge_method: linear\nmodels:\n  - model: " + a + "\n    parameters: {weight: 0.5}\n"
                + "  - model: " + b + "\n    parameters: {weight: 0.5}\n");
    }

    @Test
    void modelsOfDifferentArchitecturesNeedAllowCrimes() throws IOException {
        // The Shakespeare fine-tune relabelled as a Mistral: same tensors, another architecture.
        Path mistral = dir.resolve("as-mistral");
        Files.createDirectories(mistral);
        try (Stream<Path> s = Files.list(tuned)) {
            for (Path f : s.toList()) Files.copy(f, mistral.resolve(f.getFileName()));
        }
        ObjectNode cfg = (ObjectNode) Json.read(mistral.resolve("config.json"));
        cfg.putArray("architectures").add("MistralForCausalLM");
        cfg.put("model_type", "mistral");
        Json.write(mistral.resolve("config.json"), cfg);

        Recipe r = linear(base, mistral);
        RecipeException e = assertThrows(RecipeException.class, () -> Merge.plan(r));
        assertTrue(e.getMessage().contains("line 5") && e.getMessage().contains("--allow-crimes"), e.getMessage());
        Merge.InMemory m = Merge.inMemory(r, MergeOptions.defaults().withAllowCrimes(true));
        assertTrue(m.plan().warnings().stream().anyMatch(w -> w.contains("--allow-crimes")));
        Merge.InMemory same = Merge.inMemory(linear(base, tuned));
        for (String n : same.tensors().keySet()) {
            assertArrayEquals(same.tensor(n).data(), m.tensor(n).data(), n);
        }
    }

    @Test
    void pickleOutputHoldsTheSameTensorsAsSafetensors() throws IOException {
        Path st = dir.resolve("out-st"), pt = dir.resolve("out-pt");
        Merge.run(linear(base, tuned), st, MergeOptions.defaults());
        Merge.run(linear(base, tuned), pt, MergeOptions.defaults().withSafeSerialization(false));
        assertTrue(Files.exists(pt.resolve("pytorch_model.bin")));
        assertFalse(Files.exists(pt.resolve("model.safetensors")));
        try (Checkpoint a = Checkpoint.open(st); Checkpoint b = Checkpoint.open(pt)) {
            assertTrue(a.tensorNames().size() == b.tensorNames().size());
            for (String n : a.tensorNames()) assertArrayEquals(a.read(n).data(), b.read(n).data(), n);
        }
    }
}
