package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.CheckpointException;
import org.mergelab.io.DType;
import org.mergelab.io.Tensor;
import org.mergelab.recipe.Recipe;

/** Merges of the real stories260K family, in memory and to disk. */
class MergeRunTest {
    @TempDir
    static Path home;
    @TempDir
    Path dir;

    static Path base, shakespeare;

    @BeforeAll
    static void importModels() {
        base = TestModels.family("stories260K", home);
        shakespeare = TestModels.family("stories260K-shakespeare", home);
    }

    /** Round to nearest even at bit 16, written from the definition rather than taken from Half. */
    static float bf16(float f) {
        int x = Float.floatToRawIntBits(f);
        int low = x & 0xFFFF, high = x >>> 16;
        if (low > 0x8000 || (low == 0x8000 && (high & 1) == 1)) high++;
        return Float.intBitsToFloat(high << 16);
    }

    private Recipe recipe(String text) throws IOException {
        return TestModels.recipe(dir, "recipe.yml", text);
    }

    private static String linear(double w1, double w2, String extra) {
        return "merge_method: linear\nmodels:\n  - model: " + base + "\n    parameters: {weight: " + w1 + "}\n"
                + "  - model: " + shakespeare + "\n    parameters: {weight: " + w2 + "}\n" + extra;
    }

    private static String slerp(double t, String extra) {
        return "merge_method: slerp\nbase_model: " + base + "\nmodels:\n  - model: " + base + "\n  - model: "
                + shakespeare + "\nparameters:\n  t: " + t + "\n" + extra;
    }

    @Test
    void linearWithWeightsOneAndZeroIsTheFirstModelExactly() throws IOException {
        Merge.InMemory m = Merge.inMemory(recipe(linear(1, 0, "")));
        assertEquals(47, m.tensors().size());
        try (Checkpoint a = Checkpoint.open(base); Checkpoint b = Checkpoint.open(shakespeare)) {
            assertEquals(a.tensorNames().stream().sorted().toList(), m.tensors().keySet().stream().sorted().toList());
            boolean anyDifferent = false;
            for (String name : a.tensorNames()) {
                float[] want = a.read(name).data();
                assertArrayEquals(want, m.tensor(name).data(), 0f, name);
                anyDifferent |= !java.util.Arrays.equals(want, b.read(name).data());
            }
            assertTrue(anyDifferent, "the fine-tune differs from the base, so the check means something");
        }
        assertEquals(47, m.report().entries().size());
    }

    @Test
    void linearHalfAndHalfIsTheMean() throws IOException {
        Merge.InMemory m = Merge.inMemory(recipe(linear(0.5, 0.5, "dtype: float32\n")));
        try (Checkpoint a = Checkpoint.open(base); Checkpoint b = Checkpoint.open(shakespeare)) {
            String name = "model.layers.2.mlp.down_proj.weight";
            float[] x = a.read(name).data(), y = b.read(name).data(), got = m.tensor(name).data();
            for (int i = 0; i < x.length; i++) {
                // (0.5x + 0.5y)/(0.5 + 0.5): the mean, up to float32 rounding.
                assertEquals((x[i] + y[i]) / 2, got[i], 1e-7f + 1e-6f * Math.abs(x[i] + y[i]));
            }
        }
    }

    @Test
    void workingDtypeRoundsTheInputsBeforeTheMathAndTheResultAfter() throws IOException {
        // mergekit casts every input to dtype when loading, computes linear in float32, and casts the result back:
        // out = bf16((bf16(x)·0.5 + bf16(y)·0.5) / 1.0). Rounding only the result would differ in some elements.
        Merge.InMemory m = Merge.inMemory(recipe(linear(0.5, 0.5, "dtype: bfloat16\n")));
        int differsFromResultOnlyRounding = 0;
        try (Checkpoint a = Checkpoint.open(base); Checkpoint b = Checkpoint.open(shakespeare)) {
            for (String name : a.tensorNames()) {
                float[] x = a.read(name).data(), y = b.read(name).data(), got = m.tensor(name).data();
                for (int i = 0; i < x.length; i++) {
                    float want = bf16((bf16(x[i]) * 0.5f + bf16(y[i]) * 0.5f) / 1.0f);
                    if (Float.floatToIntBits(want) != Float.floatToIntBits(got[i])) {
                        throw new AssertionError(name + "[" + i + "]: " + got[i] + ", expected " + want);
                    }
                    if (want != bf16((x[i] * 0.5f + y[i] * 0.5f) / 1.0f)) differsFromResultOnlyRounding++;
                }
            }
        }
        assertTrue(differsFromResultOnlyRounding > 0, "the data distinguishes the two orders");
    }

    @Test
    void slerpEndpointsAreTheInputsAfterWorkingDtypeRounding() throws IOException {
        Merge.InMemory at0 = Merge.inMemory(recipe(slerp(0, "dtype: bfloat16\n")));
        Merge.InMemory at1 = Merge.inMemory(recipe(slerp(1, "dtype: bfloat16\n")));
        try (Checkpoint a = Checkpoint.open(base); Checkpoint b = Checkpoint.open(shakespeare)) {
            for (String name : a.tensorNames()) {
                float[] x = a.read(name).data(), y = b.read(name).data();
                float[] wantA = new float[x.length], wantB = new float[y.length];
                for (int i = 0; i < x.length; i++) {
                    wantA[i] = bf16(x[i]);
                    wantB[i] = bf16(y[i]);
                }
                // t = 0: coefficients sin(θ)/sin(θ) = 1 and sin(0) = 0; t = 1 the other way round.
                assertArrayEquals(wantA, at0.tensor(name).data(), 0f, name);
                assertArrayEquals(wantB, at1.tensor(name).data(), 0f, name);
            }
        }
        assertEquals(DType.BF16, at0.plan().tasks().get(0).outDtype());
    }

    @Test
    void runWritesACompleteModelFolder() throws IOException {
        String text = "# halfway between stories260K and its Shakespeare fine-tune\n"
                + slerp(0.5, "dtype: bfloat16\nout_dtype: float16\n");
        Path recipeFile = Files.writeString(dir.resolve("slerp.yml"), text);
        Path out = dir.resolve("out/merged");
        MergeReport report = Merge.run(Recipe.load(recipeFile), out, MergeOptions.defaults().withThreads(4));
        assertEquals(out.toAbsolutePath().normalize(), report.output());
        assertEquals(47, report.entries().size());

        ObjectMapper json = new ObjectMapper();
        JsonNode cfg = json.readTree(out.resolve("config.json").toFile());
        assertEquals("float16", cfg.get("torch_dtype").asText(), "out_dtype wins over dtype");
        assertEquals("LlamaForCausalLM", cfg.get("architectures").get(0).asText());
        assertEquals(5, cfg.get("num_hidden_layers").asInt());

        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertFalse(Files.exists(out.resolve("model.safetensors.index.json")), "one small shard needs no index");
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals(47, c.tensorNames().size());
            for (String n : c.tensorNames()) assertEquals(DType.F16, c.info(n).dtype(), n);
        }

        // Tokenizer files: every one the base has, byte for byte.
        int copied = 0;
        for (String f : Merge.TOKENIZER_FILES) {
            if (Files.isRegularFile(base.resolve(f))) {
                assertArrayEquals(Files.readAllBytes(base.resolve(f)), Files.readAllBytes(out.resolve(f)), f);
                copied++;
            } else {
                assertFalse(Files.exists(out.resolve(f)), f);
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.model")));
        assertTrue(copied >= 4, "tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json");

        assertEquals(text, Files.readString(out.resolve("mergekit_config.yml")));
        String card = Files.readString(out.resolve("README.md"));
        assertTrue(card.startsWith("---\n"), card);
        int end = card.indexOf("\n---\n", 4);
        assertTrue(end > 0, "front matter is closed");
        String front = card.substring(4, end + 1);
        for (String tag : List.of("merge", "mergekit", "mergelab")) {
            assertTrue(front.contains("\n- " + tag + "\n") || front.startsWith("- " + tag + "\n"), tag + " in " + front);
        }
        assertTrue(front.contains("tags:"), front);
        assertTrue(card.contains("slerp") || card.contains("SLERP"), card);
        assertTrue(card.contains(text.strip()), "the recipe is quoted verbatim");

        try (Stream<Path> s = Files.list(out.getParent())) {
            assertEquals(List.of("merged"), s.map(p -> p.getFileName().toString()).toList(),
                    "nothing but the finished folder beside it");
        }
        // A second run into the same folder is refused without overwrite...
        assertThrows(IOException.class, () -> Merge.run(Recipe.load(recipeFile), out));
        // ...and replaces it with overwrite.
        Merge.run(Recipe.load(recipeFile), out, MergeOptions.defaults().withOverwrite(true));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }

    @Test
    void runWithSmallShardsWritesAnIndexThatReadsBack() throws IOException {
        Path out = dir.resolve("sharded");
        // 260,032 float32 parameters ≈ 1.04 MB; 300 kB shards -> several files.
        Merge.run(recipe(linear(1, 0, "")), out, MergeOptions.defaults().withOutShardBytes(300_000));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        try (Checkpoint merged = Checkpoint.open(out); Checkpoint a = Checkpoint.open(base)) {
            assertEquals(47, merged.tensorNames().size());
            for (String n : a.tensorNames()) assertArrayEquals(a.read(n).data(), merged.read(n).data(), 0f, n);
            assertEquals(a.byteSize(), merged.byteSize());
        }
    }

    @Test
    void aMergeThatFailsMidwayLeavesNoOutputFolder() throws IOException {
        // Copy the fine-tune, plan against the copy, then cut the copy's file short: planning (headers only)
        // succeeded, but the tasks reading the last tensors fail while others have already been written.
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        try (Stream<Path> s = Files.list(shakespeare)) {
            for (Path p : s.toList()) Files.copy(p, broken.resolve(p.getFileName()));
        }
        Recipe r = recipe("merge_method: linear\nmodels:\n  - model: " + base + "\n    parameters: {weight: 0.5}\n"
                + "  - model: " + broken + "\n    parameters: {weight: 0.5}\n");
        MergePlan plan = Merge.plan(r);
        Path file = broken.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() - 1000);
        }
        Path outParent = dir.resolve("outputs");
        Files.createDirectories(outParent);
        Path out = outParent.resolve("merged");
        try {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> Merge.run(plan, out, MergeOptions.defaults().withThreads(2)));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        } finally {
            TestModels.close(plan);
        }
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(outParent)) {
            assertEquals(List.of(), s.toList(), "no partial folder left beside the target");
        }
    }

    @Test
    void outputInsideAnInputModelIsRefused() throws IOException {
        Recipe r = recipe(linear(1, 0, ""));
        IOException e = assertThrows(IOException.class, () -> Merge.run(r, base.resolve("merged")));
        assertTrue(e.getMessage().contains("input model"), e.getMessage());
        assertFalse(Files.exists(base.resolve("merged")));
    }

    @Test
    void inMemoryTensorsHaveTheirShapes() throws IOException {
        Map<String, Tensor> t = Merge.inMemory(recipe(linear(1, 1, ""))).tensors();
        assertArrayEquals(new long[] {512, 64}, t.get("model.embed_tokens.weight").shape());
        assertArrayEquals(new long[] {64, 172}, t.get("model.layers.0.mlp.down_proj.weight").shape());
        assertArrayEquals(new long[] {64}, t.get("model.norm.weight").shape());
    }
}
