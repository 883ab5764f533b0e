package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mergelab.hub.ModelLocator;
import org.mergelab.io.Json;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.Recipe;
import org.mergelab.testing.RawSafetensors;
import org.mergelab.testing.Reference;

/**
 * Every deterministic method, on the tiny Llama, Qwen2 and GPT-2 families and the five seed recipes, against
 * mergekit 0.1.5's output for the same recipe (reference/tiny/goldens, made by make_method_goldens.py).
 *
 * <p>What must agree, and why not everything is bit-identical:
 * <ul>
 *   <li>{@link Agreement#EXACT} (the default): the output file's tensors byte for byte. Methods that compute in the
 *       working dtype are emulated operation by operation ({@link Precision}), float32 reductions in torch's order
 *       ({@link TorchReductions}), sorts and top-k with torch's tie order ({@link IntroSort}).</li>
 *   <li>{@link Agreement#TRANSCENDENTAL}: slerp, nuslerp and karcher in float32, whose interpolation coefficients
 *       come from acos, sin and cos. torch computes those with Intel MKL's vector math library (within 1 ulp, not
 *       correctly rounded: 5-9% of float32 arguments differ from the correctly rounded result, measured); MergeLab
 *       uses correctly rounded values ({@link Transcendentals}), and karcher's float32 {@code torch.dot} runs in
 *       MKL's BLAS in an order that was not reproduced. Each element must be within {@value #TERM_ULPS} float32 ulps
 *       of the largest input value at that position (measured: at most 4).
 *       {@link #bitIdenticalGivenTorchsTranscendentals} replays torch's values and then requires every bit of slerp,
 *       nuslerp and multislerp.</li>
 *   <li>{@link Agreement#HALF_SLERP}: slerp with half-precision inputs has the same float32 coefficients, which
 *       rarely move a rounded result: at most one ulp, in under 0.1% of elements.</li>
 *   <li>{@link Agreement#MASK_FLIPS}: arcee_fusion in float32 thresholds importances computed with torch's
 *       vectorised softmax and log (not correctly rounded either); an element whose importance lies within an ulp of
 *       the threshold may fall on the other side. At most 0.1% of elements may differ, and each must be the other
 *       choice (base vs other model).</li>
 * </ul>
 */
class MethodConformanceTest {
    static final double TERM_ULPS = 6;

    enum Agreement { EXACT, TRANSCENDENTAL, HALF_SLERP, MASK_FLIPS }

    @TempDir
    Path tmp;

    static Path models() {
        return Reference.file("tiny/models");
    }

    static JsonNode manifest() throws IOException {
        return Json.read(Reference.file("tiny/goldens/manifest.json"));
    }

    static Agreement expected(String method, String dtype) {
        boolean f32 = "float32".equals(dtype);
        if (f32 && (method.equals("slerp") || method.equals("nuslerp") || method.equals("karcher"))) {
            return Agreement.TRANSCENDENTAL;
        }
        if (!f32 && method.equals("slerp")) return Agreement.HALF_SLERP;
        if (f32 && method.equals("arcee_fusion")) return Agreement.MASK_FLIPS;
        return Agreement.EXACT;
    }

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : manifest().get("cases")) {
            if (c.path("random").asBoolean() || c.has("mergekit_error")) continue;
            out.add(Arguments.of(c.get("name").asText(), expected(c.get("method").asText(), c.path("dtype").asText())));
        }
        return out.stream();
    }

    static MergeReport merge(Path recipeFile, Path out, MergeOptions options) throws IOException {
        MergePlan plan = Merge.plan(Recipe.load(recipeFile), new ModelLocator(List.of(models())));
        try {
            return Merge.run(plan, out, options);
        } finally {
            TestModels.close(plan);
        }
    }

    static MergeOptions quiet() {
        return MergeOptions.defaults().withCopyTokenizer(false).withWriteModelCard(false);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void matchesMergekit(String name, Agreement agreement) throws IOException {
        Path golden = Reference.file("tiny/goldens/" + name);
        Path recipe = Files.copy(golden.resolve("recipe.yml"), tmp.resolve(name + ".yml"));
        Path out = tmp.resolve("out");
        merge(recipe, out, quiet());
        RawSafetensors ours = RawSafetensors.read(out.resolve("model.safetensors"));
        RawSafetensors theirs = RawSafetensors.read(golden.resolve("model.safetensors"));
        assertEquals(new TreeSet<>(theirs.tensors().keySet()), new TreeSet<>(ours.tensors().keySet()), "tensor names");
        List<RawSafetensors> inputs = new ArrayList<>();
        List<ModelRef> refs = Recipe.load(recipe).referencedModels();
        for (ModelRef m : refs) inputs.add(RawSafetensors.read(models().resolve(m.model()).resolve("model.safetensors")));

        long total = 0, differing = 0;
        double worst = 0;
        for (RawSafetensors.Entry g : theirs.tensors().values()) {
            RawSafetensors.Entry o = ours.get(g.name());
            assertEquals(g.dtype(), o.dtype(), g.name() + ": dtype");
            total += g.numel();
            if (agreement == Agreement.EXACT) {
                assertBitIdentical(name, g, o);
                continue;
            }
            int width = g.dtype().equals("F32") ? 32 : 16;
            for (int i = 0; i < g.numel(); i++) {
                if (o.bits(i) == g.bits(i)) continue;
                differing++;
                String at = name + ": " + g.name() + "[" + i + "] = " + o.get(i) + ", mergekit " + g.get(i);
                switch (agreement) {
                    case TRANSCENDENTAL -> {
                        float term = 0;
                        for (RawSafetensors in : inputs) {
                            RawSafetensors.Entry e = in.tensors().get(g.name());
                            if (e != null) term = Math.max(term, Math.abs(e.get(i)));
                        }
                        double ulps = Math.abs((double) o.get(i) - g.get(i)) / Math.ulp(term);
                        worst = Math.max(worst, ulps);
                        assertTrue(ulps <= TERM_ULPS, at + ": " + ulps + " ulps of the largest input " + term);
                    }
                    case HALF_SLERP -> assertTrue(RawSafetensors.ulpDistance(o.bits(i), g.bits(i), width) <= 1, at);
                    case MASK_FLIPS -> {
                        float a = inputs.get(0).get(g.name()).get(i); // the base is listed first in these recipes
                        float b = inputs.get(1).get(g.name()).get(i);
                        float taken = a + (b - a);
                        boolean flipped = (o.get(i) == a && g.get(i) == taken) || (o.get(i) == taken && g.get(i) == a);
                        assertTrue(flipped, at + ": not the other side of the threshold (" + a + " / " + taken + ")");
                    }
                    default -> throw new IllegalStateException();
                }
            }
        }
        if (agreement == Agreement.HALF_SLERP || agreement == Agreement.MASK_FLIPS) {
            assertTrue(differing <= 0.001 * total, name + ": " + differing + " of " + total + " elements differ");
        }
        System.out.printf("%-36s %-14s %6d elements, %5d differ%s%n", name, agreement, total, differing,
                agreement == Agreement.TRANSCENDENTAL ? String.format(" (max %.2f ulps of the largest input)", worst)
                        : "");
    }

    static void assertBitIdentical(String name, RawSafetensors.Entry golden, RawSafetensors.Entry ours) {
        if (ours.bytes().equals(golden.bytes())) return;
        int i = 0;
        while (ours.bits(i) == golden.bits(i)) i++;
        fail(name + ": " + golden.name() + "[" + i + "] = " + ours.get(i) + ", mergekit " + golden.get(i)
                + " (must be bit-identical)");
    }

    /**
     * After a merge with {@code recorded}'s values into {@code out}: every argument was one torch received, some value
     * was replayed, and the output has the golden's tensors, bit for bit.
     */
    static void assertReplayedBitIdentical(String name, RecordedTranscendentals recorded, Path golden, Path out)
            throws IOException {
        assertEquals(List.of(), recorded.unknownArguments(), name + ": arguments torch never received");
        assertTrue(recorded.replayed() > 0, name + ": no value replayed");
        RawSafetensors ours = RawSafetensors.read(out.resolve("model.safetensors"));
        RawSafetensors theirs = RawSafetensors.read(golden.resolve("model.safetensors"));
        assertEquals(new TreeSet<>(theirs.tensors().keySet()), new TreeSet<>(ours.tensors().keySet()), "tensor names");
        for (RawSafetensors.Entry g : theirs.tensors().values()) assertBitIdentical(name, g, ours.get(g.name()));
    }

    /** The cases whose merge took acos, sin or cos of float32 values, which the golden recorded; karcher aside. */
    static Stream<String> replayedCases() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode c : manifest().get("cases")) {
            String name = c.get("name").asText();
            if (c.path("random").asBoolean() || c.has("mergekit_error") || c.get("method").asText().equals("karcher")
                    || !Files.exists(Reference.file("tiny/goldens/" + name).resolve("transcendentals.json"))) {
                continue;
            }
            out.add(name);
        }
        return out.stream();
    }

    /**
     * Given the acos, sin and cos values torch returned in mergekit's own run, slerp, nuslerp and multislerp give
     * mergekit's output bit for bit, in float32 and in half precision: the norms, dot products, clamps, colinear
     * tests and interpolation are torch's operations in torch's order. Every angle and cosine MergeLab takes must be
     * one torch took, so the arguments are bit-identical too. (karcher is left out: its float32 {@code torch.dot}
     * runs in MKL's BLAS, whose order of additions is not reproduced.) The recorded values matter: some differ from
     * the correctly rounded ones that MergeLab uses by default.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("replayedCases")
    void bitIdenticalGivenTorchsTranscendentals(String name) throws IOException {
        Path golden = Reference.file("tiny/goldens/" + name);
        RecordedTranscendentals recorded = RecordedTranscendentals.read(golden.resolve("transcendentals.json"));
        Path recipe = Files.copy(golden.resolve("recipe.yml"), tmp.resolve(name + ".yml"));
        merge(recipe, tmp.resolve("out"), quiet().withTranscendentals(recorded));
        assertReplayedBitIdentical(name, recorded, golden, tmp.resolve("out"));
        System.out.printf("%-36s bit-identical with torch's values; %d of them differ from MergeLab's default%n",
                name, recorded.differingFromDefault());
    }

    /** Across the goldens, torch's values are not the correctly rounded ones: which is why the default differs. */
    @Test
    void torchsTranscendentalsAreNotCorrectlyRounded() throws IOException {
        int differing = 0;
        for (String name : replayedCases().toList()) {
            differing += RecordedTranscendentals.read(Reference.file("tiny/goldens/" + name + "/transcendentals.json"))
                    .differingFromDefault();
        }
        assertTrue(differing > 0, "every recorded value is the correctly rounded one");
    }

    /**
     * Seed 003 merges Llama-2-7b-chat with itself. mergekit 0.1.5 refuses ("Duplicate merge inputs"); MergeLab
     * merges the model once, as mergekit 0.1.4 did, so the output is the model itself, with a warning.
     */
    @Test
    void seed003MergesTheModelWithItselfIntoACopy() throws IOException {
        JsonNode c = null;
        for (JsonNode x : manifest().get("cases")) if (x.get("name").asText().equals("seed003")) c = x;
        assertTrue(c != null && c.path("mergekit_error").asText().contains("Duplicate merge inputs"),
                "mergekit 0.1.5 refuses seed 003: " + c);
        Path recipe = Files.copy(Reference.file("tiny/goldens/seed003/recipe.yml"), tmp.resolve("seed003.yml"));
        MergeReport r = merge(recipe, tmp.resolve("out"), quiet());
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("listed more than once")), r.warnings().toString());
        RawSafetensors ours = RawSafetensors.read(tmp.resolve("out/model.safetensors"));
        RawSafetensors in = RawSafetensors.read(models().resolve("meta-llama/Llama-2-7b-chat-hf/model.safetensors"));
        assertEquals(in.tensors().keySet(), ours.tensors().keySet());
        for (RawSafetensors.Entry e : in.tensors().values()) {
            assertEquals(e.bytes(), ours.get(e.name()).bytes(), e.name() + " must be copied unchanged");
        }
    }

    /** The seed recipes in the goldens are the repository's recipes/seeds/ files, byte for byte. */
    @Test
    void seedRecipesRunUnchanged() throws IOException {
        Path seeds = Path.of("..", "recipes", "seeds");
        if (!Files.isDirectory(seeds)) return; // the toolkit built outside the repository
        String[][] pairs = {{"seed000", "000-tinyllama-hybrid-slerp.yml"}, {"seed001", "001-smollm-135m-slerp.yml"},
                {"seed002", "002-qwen2.5-0.5b-slerp.yml"}, {"seed003", "003-llama-2-7b-chat-slerp.yml"},
                {"seed004", "004-llama-3.2-3b-dare-ties.yml"}};
        for (String[] p : pairs) {
            assertEquals(Files.readString(seeds.resolve(p[1])),
                    Files.readString(Reference.file("tiny/goldens/" + p[0] + "/recipe.yml")), p[1]);
        }
    }
}
