package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mergelab.io.Json;
import org.mergelab.io.TokenizerJson;
import org.mergelab.merge.vocab.ChatTemplates;
import org.mergelab.recipe.Recipe;
import org.mergelab.testing.RawSafetensors;
import org.mergelab.testing.Reference;

/**
 * Tokenizer merges against mergekit 0.1.5's output for the same recipes on tiny models with different
 * vocabularies (reference/tokenizer-merge, made by src/test/python/make_tokenizer_merge_goldens.py; the scenarios
 * mirror mergekit's tests/test_tokenizer.py). For each recipe: the output config's vocab_size, the tokenizer.json
 * (pipeline, vocabulary, merges, added tokens and their ids), tokenizer_config.json, the chat template, and every
 * tensor, rows matched by token.
 *
 * <p>Ids: mergekit numbers the tokens a union takes from other models' vocabularies in Rust hash-map order, which
 * changes from run to run (the script records which tokens those are); MergeLab numbers them in id order. For those
 * tokens only the set of ids must agree; every other token must have mergekit's id.
 *
 * <p>Tensors: linear merges must be bit-identical, except the padding rows of {@code pad_to_multiple_of}, the mean
 * of the real rows, which torch sums in float32 in an order set by its SIMD width (measured: the 66-row means of
 * sp-pad16 differ by up to 3 float32 ulps) and we sum in double: there each element must be within the error bound
 * of a float32 sum of that length, plus one ulp of the working dtype. SLERP merges may differ by a few float32 ulps of the
 * tensor's largest element (see {@link MergeConformanceTest} for why SLERP cannot be bit-identical).
 */
class TokenizerMergeConformanceTest {
    static final Path ROOT = Reference.file("tokenizer-merge");
    static JsonNode reference;

    @TempDir
    static Path out;

    @BeforeAll
    static void readReference() throws IOException {
        reference = Json.read(ROOT.resolve("reference.json"));
    }

    static Stream<String> scenarios() throws IOException {
        List<String> names = new ArrayList<>();
        Json.read(Reference.file("tokenizer-merge/reference.json")).get("scenarios").fieldNames()
                .forEachRemaining(names::add);
        return names.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void matchesMergekit(String name) throws IOException {
        Path golden = ROOT.resolve("golden").resolve(name);
        JsonNode ref = reference.get("scenarios").get(name);
        Recipe recipe = Recipe.load(ROOT.resolve("inputs").resolve(name + ".yml"));
        Path ours = out.resolve(name);
        Merge.run(recipe, ours);

        JsonNode ourConfig = Json.read(ours.resolve("config.json"));
        assertEquals(Json.read(golden.resolve("config.json")).get("vocab_size").asInt(),
                ourConfig.get("vocab_size").asInt(), "config.json vocab_size");

        Set<String> hashOrdered = new HashSet<>();
        ref.get("union_tokens_in_hashmap_order").forEach(t -> hashOrdered.add(t.asText()));
        TokenizerJson ourTok = TokenizerJson.read(ours.resolve("tokenizer.json"));
        TokenizerJson theirTok = TokenizerJson.read(golden.resolve("tokenizer.json"));
        compareTokenizers(ourTok, theirTok, hashOrdered);
        assertEquals(ref.get("vocab_size").asInt(), ourTok.size(), "tokens");

        // Every token mergekit's tokenizer produced for the sample texts has the same id in ours.
        Map<String, Integer> vocab = ourTok.vocab();
        for (JsonNode e : ref.get("encodings")) {
            for (int i = 0; i < e.get("tokens").size(); i++) {
                String tok = e.get("tokens").get(i).asText();
                assertTrue(vocab.containsKey(tok), "token " + tok + " of " + e.get("text"));
                if (!hashOrdered.contains(tok)) {
                    assertEquals(e.get("ids").get(i).asInt(), vocab.get(tok), "id of " + tok + " in " + e.get("text"));
                }
            }
        }

        ObjectNode ourCfg = (ObjectNode) Json.read(ours.resolve("tokenizer_config.json"));
        ObjectNode theirCfg = ((ObjectNode) Json.read(golden.resolve("tokenizer_config.json"))).deepCopy();
        // Markers transformers 5 adds when it saves a tokenizer it loaded from a local folder.
        theirCfg.remove(List.of("is_local", "local_files_only"));
        assertEquals(theirCfg, ourCfg, "tokenizer_config.json");

        checkChatTemplate(recipe, golden, ours);
        compareTensors(recipe, golden, ours, ourTok, theirTok, ourConfig.get("vocab_size").asInt());
    }

    /** The pipeline is the same tree; the vocabulary and merges are equal; added tokens agree up to hash order. */
    static void compareTokenizers(TokenizerJson ours, TokenizerJson theirs, Set<String> hashOrdered) {
        ObjectNode a = ours.json().deepCopy(), b = theirs.json().deepCopy();
        a.remove("added_tokens");
        b.remove("added_tokens");
        assertEquals(b, a, "tokenizer.json apart from added_tokens");
        Map<String, TokenizerJson.AddedToken> ourAdded = new HashMap<>(), theirAdded = new HashMap<>();
        ours.addedTokens().forEach(t -> ourAdded.put(t.content(), t));
        theirs.addedTokens().forEach(t -> theirAdded.put(t.content(), t));
        assertEquals(new TreeSet<>(theirAdded.keySet()), new TreeSet<>(ourAdded.keySet()), "added tokens");
        Set<Integer> ourIds = new TreeSet<>(), theirIds = new TreeSet<>();
        for (String t : theirAdded.keySet()) {
            TokenizerJson.AddedToken x = ourAdded.get(t), y = theirAdded.get(t);
            assertTrue(x.sameAs(y), "flags of added token " + t + ": " + x + " vs " + y);
            if (hashOrdered.contains(t)) {
                ourIds.add(x.id());
                theirIds.add(y.id());
            } else {
                assertEquals(y.id(), x.id(), "id of added token " + t);
            }
        }
        assertEquals(theirIds, ourIds, "ids of the tokens the union took from other vocabularies");
    }

    static void checkChatTemplate(Recipe recipe, Path golden, Path ours) throws IOException {
        Path theirs = golden.resolve("chat_template.jinja"), mine = ours.resolve("chat_template.jinja");
        if (!Files.exists(theirs)) {
            assertFalse(Files.exists(mine), "mergekit wrote no chat template");
            return;
        }
        assertTrue(Files.exists(mine), "chat_template.jinja");
        String setting = recipe.chatTemplate();
        if (setting != null && ChatTemplates.BUILT_IN.contains(setting)) {
            // Our own text for the built-in; the script rendered both on 340 conversations and found no difference.
            assertEquals(ChatTemplates.builtIn(setting).orElseThrow(), Files.readString(mine));
            JsonNode check = reference.get("chat_templates").get(setting);
            assertEquals(0, check.get("differing").asInt(), setting + " renders like mergekit's");
            assertEquals(680, check.get("renders").asInt());
        } else {
            assertEquals(Files.readString(theirs), Files.readString(mine), "chat template");
        }
    }

    static void compareTensors(Recipe recipe, Path golden, Path ours, TokenizerJson ourTok, TokenizerJson theirTok,
                               int paddedSize) throws IOException {
        RawSafetensors a = RawSafetensors.read(ours.resolve("model.safetensors"));
        RawSafetensors b = RawSafetensors.read(golden.resolve("model.safetensors"));
        assertEquals(new TreeSet<>(b.tensors().keySet()), new TreeSet<>(a.tensors().keySet()), "tensor names");
        boolean slerp = recipe.mergeMethod().equals("slerp");
        int vocab = theirTok.size();
        // Our row for each of mergekit's rows.
        int[] rowOf = new int[paddedSize];
        for (int i = 0; i < paddedSize; i++) rowOf[i] = i;
        Map<String, Integer> ourVocab = ourTok.vocab();
        theirTok.vocab().forEach((t, id) -> rowOf[id] = ourVocab.get(t));
        for (String name : b.tensors().keySet()) {
            RawSafetensors.Entry x = a.get(name), y = b.get(name);
            assertEquals(y.dtype(), x.dtype(), name);
            assertEquals(y.shapeString(), x.shapeString(), name);
            boolean vocabTensor = name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight");
            int cols = vocabTensor ? (int) y.shape()[1] : 1;
            double scale = 0;
            for (int i = 0; i < y.numel(); i++) scale = Math.max(scale, Math.abs(y.get(i)));
            for (int i = 0; i < y.numel(); i++) {
                int row = i / cols;
                int j = vocabTensor ? rowOf[row] * cols + i % cols : i;
                float ov = x.get(j), tv = y.get(i);
                if (x.bits(j) == y.bits(i)) continue;
                double ulp = y.dtype().equals("BF16") ? Math.ulp(tv) * 65536.0 : Math.ulp(tv);
                if (vocabTensor && row >= vocab) {
                    // A float32 sum of V terms, torch's cascade against ours in double: its error is at most about
                    // (chain length) * 2^-24 * sum|x|, and the chain is under 32 additions for these sizes.
                    double absMean = 0;
                    for (int r = 0; r < vocab; r++) absMean += Math.abs(y.get(r * cols + i % cols));
                    absMean /= vocab;
                    double bound = 32 * Math.scalb(1.0, -24) * absMean + ulp;
                    if (Math.abs(ov - tv) <= bound) continue;
                    fail(name + " padding row " + row + ": " + ov + " vs mergekit's " + tv + " (bound " + bound + ")");
                }
                if (slerp && Math.abs(ov - tv) <= 8 * Math.ulp((float) scale)) continue;
                fail(name + "[" + i + "] (row " + row + "): " + ov + " vs mergekit's " + tv);
            }
        }
    }

    @Test
    void theScriptFoundOurOutputLoadsInTransformersAndEncodesLikeMergekits() {
        JsonNode checks = reference.get("mergelab_check");
        assertNotNull(checks, "reference.json was made with --check-mergelab");
        reference.get("scenarios").fieldNames().forEachRemaining(name -> {
            JsonNode c = checks.get(name);
            assertTrue(reference.get("scenarios").get(name).get("transformers").get("loads").asBoolean(), name);
            assertTrue(c.get("loads_in_transformers").asBoolean(), name);
            assertTrue(c.get("transformers").get("encodes_like_tokenizers").asBoolean(), name);
            assertTrue(c.get("encodings_same_tokens").asBoolean(), name);
            assertTrue(c.get("vocab_size_equal").asBoolean(), name);
        });
    }
}
