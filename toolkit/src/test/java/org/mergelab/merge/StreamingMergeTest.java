package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.DType;
import org.mergelab.io.Tensor;
import org.mergelab.recipe.Recipe;

/**
 * Large tensors are merged chunk by chunk ({@link StreamingMerge}); the result must equal the in-memory merge's bit
 * for bit. Models here have a 2.4M-element embedding, three chunks of {@link TensorStream#CHUNK}, and are merged
 * twice: with every tensor held whole, and with every tensor over 1,000 elements streamed. A second family stores the
 * same shapes in bfloat16, which the streamed passes of SLERP and of DARE in bfloat16 decode as they compute
 * ({@link TensorStream#bf16}).
 */
class StreamingMergeTest {
    @TempDir
    static Path f32Models;
    @TempDir
    static Path bf16Models;
    /** The family the recipe being built refers to. */
    private static Path dir;

    @BeforeAll
    static void models() throws IOException {
        TestModels.qwen2Family(f32Models, DType.F32, 60, 96, 40_001);
        TestModels.qwen2Family(bf16Models, DType.BF16, 60, 96, 40_001);
    }

    /** The engine's threshold as the other tests see it, put back after each test changes it. */
    private final long streamAbove = Merge.streamAbove;

    @AfterEach
    void restore() {
        Merge.streamAbove = streamAbove;
    }

    static String recipe(String method, String dtype) {
        String m = "base_model: " + dir.resolve("base") + "\nmerge_method: " + method + "\ndtype: " + dtype + "\n";
        return switch (method) {
            case "slerp" -> m + "models:\n  - model: " + dir.resolve("base") + "\n  - model: " + dir.resolve("tuned1")
                    + "\nparameters:\n  t: [0.2, 0.7]\n";
            // DARE-TIES as seed 004 writes it (normalize, no λ): the engine's fused bfloat16 combine
            case "dare_ties-plain" -> "base_model: " + dir.resolve("base") + "\nmerge_method: dare_ties\ndtype: " + dtype
                    + "\nmodels:\n"
                    + "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6, density: 0.4}\n"
                    + "  - model: " + dir.resolve("tuned2") + "\n    parameters: {weight: 0.5, density: 0.7}\n"
                    + "parameters:\n  normalize: true\n";
            // without rescaling there is no first pass: each block's mask bits are drawn just before use
            case "dare_ties-unscaled" -> "base_model: " + dir.resolve("base") + "\nmerge_method: dare_ties\ndtype: "
                    + dtype + "\nmodels:\n"
                    + "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6, density: 0.4}\n"
                    + "  - model: " + dir.resolve("tuned2") + "\n    parameters: {weight: 0.5, density: 0.7}\n"
                    + "parameters:\n  rescale: false\n";
            case "linear" -> "merge_method: linear\ndtype: " + dtype + "\nmodels:\n"
                    + "  - model: " + dir.resolve("base") + "\n    parameters: {weight: 0.3}\n"
                    + "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6}\n"
                    + "  - model: " + dir.resolve("tuned2") + "\n    parameters: {weight: 0.35}\n";
            default -> m + "models:\n"
                    + "  - model: " + dir.resolve("tuned1") + "\n    parameters: {weight: 0.6, density: 0.4}\n"
                    + "  - model: " + dir.resolve("tuned2") + "\n    parameters: {weight: 0.5, density: 0.7}\n"
                    + "parameters:\n  lambda: 0.9\n";
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"slerp:bfloat16", "slerp:float32", "linear:bfloat16", "linear:float16",
            "task_arithmetic:bfloat16", "dare_ties:bfloat16", "dare_ties:float32", "dare_linear:float16",
            "slerp:bfloat16:stored-bf16", "slerp:float32:stored-bf16", "slerp:float16:stored-bf16",
            "dare_ties:bfloat16:stored-bf16", "dare_ties-plain:bfloat16:stored-bf16", "dare_ties-plain:bfloat16",
            "dare_ties:float32:stored-bf16", "dare_ties-unscaled:bfloat16:stored-bf16"})
    void streamedEqualsWhole(String methodAndDtype) {
        String[] md = methodAndDtype.split(":");
        dir = md.length > 2 ? bf16Models : f32Models;
        Recipe r = Recipe.parse(recipe(md[0], md[1]));
        MergeOptions o = MergeOptions.defaults().withRandomSeed(42).withThreads(2);
        Merge.streamAbove = Long.MAX_VALUE;
        Map<String, Tensor> whole = Merge.inMemory(r, o).tensors();
        Merge.streamAbove = 1000;
        Map<String, Tensor> streamed = Merge.inMemory(r, o).tensors();
        assertEquals(whole.keySet(), streamed.keySet());
        // 40,001 × 60 = 2,400,060 elements: three chunks, the last 302,908 long, not a multiple of 8.
        assertEquals(2_400_060, whole.get("model.embed_tokens.weight").numel());
        for (String name : whole.keySet()) {
            float[] a = whole.get(name).data(), b = streamed.get(name).data();
            int[] ba = new int[a.length], bb = new int[b.length];
            for (int i = 0; i < a.length; i++) {
                ba[i] = Float.floatToRawIntBits(a[i]);
                bb[i] = Float.floatToRawIntBits(b[i]);
            }
            assertArrayEquals(ba, bb, methodAndDtype + ": " + name);
        }
        if (md[0].startsWith("dare")) {
            // The masks really dropped entries: the merge is not the plain task-arithmetic sum.
            float[] merged = whole.get("lm_head.weight").data();
            assertTrue(merged.length > TensorStream.CHUNK);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bfloat16", "float32", "float16"})
    void mappedBf16InputsAreOfferedAsBytesWhereTheirValuesStandAsTheyAre(String dtype) {
        dir = bf16Models;
        MergePlan plan = Merge.plan(Recipe.parse(recipe("slerp", dtype)));
        try {
            MergePlan.Task embed = plan.tasks().stream()
                    .filter(t -> t.outputName().equals("model.embed_tokens.weight")).findFirst().orElseThrow();
            TensorStream.Reader reader = Merge.readerFor(embed);
            for (int input = 0; input < 2; input++) {
                java.nio.ByteBuffer bytes = reader.bf16(input);
                if (dtype.equals("float16")) {
                    assertEquals(null, bytes, "rounding to float16 changes bf16 values: no bytes offered");
                    continue;
                }
                assertEquals(2L * embed.numel(), bytes.capacity());
                float[] first = new float[5];
                reader.read(input, 0, first, 5);
                for (int i = 0; i < 5; i++) {
                    assertEquals(first[i], org.mergelab.io.Half.bf16ToFloat(bytes.getShort(2 * i)), "element " + i);
                }
            }
        } finally {
            plan.checkpoints().values().forEach(org.mergelab.io.Checkpoint::close);
        }
    }
}
