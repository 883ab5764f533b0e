package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;
import org.mergelab.testing.Reference;

/**
 * Recipes whose tokenizer settings cannot be carried out: each is refused before any tensor is read, with a message
 * naming the recipe file and the line of the mistake, and no output folder appears. Models: the tiny ones of
 * reference/tokenizer-merge/inputs.
 */
class TokenizerRecipeErrorsTest {
    static final Path INPUTS = Reference.file("tokenizer-merge/inputs");

    @TempDir
    Path out;

    private RecipeException refused(String yaml) throws IOException {
        Path file = Files.createTempFile(INPUTS, "error-", ".yml");
        try {
            Files.writeString(file, yaml);
            Path target = out.resolve("merged");
            RecipeException e = assertThrows(RecipeException.class, () -> Merge.run(Recipe.load(file), target));
            assertTrue(e.getMessage().startsWith(file.toString() + " line " + e.line() + ": "), e.getMessage());
            assertFalse(Files.exists(target), "no output folder");
            return e;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static final String MODELS = """
            merge_method: linear
            base_model: sp-base
            models:
              - model: sp-base
                parameters: {weight: 1.0}
              - model: sp-chatml
                parameters: {weight: 1.0}
            """;

    @Test
    void tokenizerSourceAndTokenizerTogether() throws IOException {
        RecipeException e = refused(MODELS + "tokenizer_source: union\ntokenizer:\n  source: base\n");
        assertEquals(9, e.line());
        assertTrue(e.getMessage().contains("cannot specify both tokenizer_source (line 8) and tokenizer"), e.getMessage());
    }

    @Test
    void aTokenSourceNamingAModelThatIsNotMerged() throws IOException {
        RecipeException e = refused(MODELS + """
                tokenizer:
                  source: union
                  tokens:
                    "<|im_start|>":
                      source: sp-other
                """);
        assertEquals(11, e.line());
        assertTrue(e.getMessage().contains("'<|im_start|>' takes its row from sp-other, which is not one of the models"
                + " merged here (sp-base, sp-chatml)"), e.getMessage());
    }

    @Test
    void aTokenSourceThatLacksTheToken() throws IOException {
        RecipeException e = refused(MODELS + """
                tokenizer:
                  tokens:
                    "<|im_end|>":
                      source: sp-base
                      force: true
                """);
        assertEquals(10, e.line());
        assertTrue(e.getMessage().contains("takes its row from sp-base, which does not have that token"), e.getMessage());
    }

    @Test
    void aModelTokenThatIsNotInTheModelsVocabulary() throws IOException {
        RecipeException e = refused(MODELS + """
                tokenizer:
                  tokens:
                    "\u2581cat":
                      source: {kind: model_token, model: sp-base, token: "<|im_start|>"}
                      force: true
                """);
        assertEquals(10, e.line());
        assertTrue(e.getMessage().contains("token '<|im_start|>' is not in sp-base's vocabulary"), e.getMessage());
    }

    @Test
    void aModelTokenIdOutOfRange() throws IOException {
        RecipeException e = refused(MODELS + """
                tokenizer:
                  tokens:
                    "\u2581cat":
                      source: {kind: model_token, model: sp-chatml, token_id: 66}
                      force: true
                """);
        assertEquals(10, e.line());
        assertTrue(e.getMessage().contains("token id 66 is out of range for sp-chatml (its tensor has 66 rows)"),
                e.getMessage());
    }

    @Test
    void aModelTokenWithBothTokenAndId() throws IOException {
        RecipeException e = refused(MODELS + """
                tokenizer:
                  tokens:
                    x:
                      source: {kind: model_token, model: sp-chatml, token: a, token_id: 3}
                """);
        assertEquals(11, e.line());
        assertTrue(e.getMessage().contains("model_token needs exactly one of token and token_id"), e.getMessage());
    }

    @Test
    void forceWithoutASource() throws IOException {
        RecipeException e = refused(MODELS + "tokenizer:\n  tokens:\n    x:\n      force: true\n");
        assertEquals(10, e.line());
        assertTrue(e.getMessage().contains("force needs a source"), e.getMessage());
    }

    @Test
    void anInvalidChatTemplate() throws IOException {
        RecipeException e = refused(MODELS + "dtype: float32\nchat_template: chatmll\n");
        assertEquals(9, e.line());
        assertTrue(e.getMessage().contains("invalid chat template 'chatmll'"), e.getMessage());
        RecipeException shortOne = refused(MODELS + "tokenizer_source: base\nchat_template: \"{{ x }}\"\n");
        assertEquals(9, shortOne.line());
    }

    @Test
    void embeddingsOfDifferentSizesWithoutATokenizerSetting() throws IOException {
        // mergekit 0.1.5 refuses this too (reference.json "errors"); 0.1.4 cut the embeddings to the smallest.
        RecipeException e = refused(MODELS);
        assertTrue(e.getMessage().contains("shapes differ"), e.getMessage());
        assertTrue(Files.readString(Reference.file("tokenizer-merge/reference.json"))
                .contains("Tensor size mismatch for lm_head.weight"));
    }
}
