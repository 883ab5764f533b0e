package org.mergelab.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The tokenizer_source / tokenizer / chat_template keys, parsed with mergekit 0.1.5's schema and their lines. */
class TokenizerSettingsParseTest {
    static final String MODELS = "merge_method: linear\nmodels:\n  - model: a\n  - model: b\n";

    @Test
    void tokenizerSourceForms() {
        assertInstanceOf(TokenizerSettings.Union.class, Recipe.parse(MODELS + "tokenizer_source: union\n").tokenizer().source());
        assertInstanceOf(TokenizerSettings.Base.class, Recipe.parse(MODELS + "tokenizer_source: base\n").tokenizer().source());
        TokenizerSettings s = Recipe.parse(MODELS + "tokenizer_source: org/model@v2\n").tokenizer();
        assertEquals(new TokenizerSettings.FromModel(new ModelRef("org/model", "v2", null, null)), s.source());
        assertTrue(s.tokens().isEmpty());
        assertNull(s.padToMultipleOf());
        assertEquals(5, s.line());
        assertNull(Recipe.parse(MODELS).tokenizer());
    }

    @Test
    void tokenizerBlock() {
        Recipe r = Recipe.parse(MODELS + """
                tokenizer:
                  pad_to_multiple_of: 64
                  tokens:
                    "<|im_start|>":
                      source: b
                      force: true
                    "<|im_end|>":
                      source: {kind: model_token, model: a, token_id: 7}
                    "<pad>":
                      source: {kind: zero}
                    "<tool>":
                      source: {kind: model_token, model: b, token: "<s>"}
                    "<plain>": {}
                chat_template: auto
                """);
        TokenizerSettings s = r.tokenizer();
        assertInstanceOf(TokenizerSettings.Union.class, s.source(), "source defaults to union");
        assertEquals(64, s.padToMultipleOf());
        assertEquals(List.of("<|im_start|>", "<|im_end|>", "<pad>", "<tool>", "<plain>"), List.copyOf(s.tokens().keySet()));
        TokenizerSettings.TokenSetting start = s.tokens().get("<|im_start|>");
        assertEquals(new TokenizerSettings.ModelRow(ModelRef.of("b")), start.source());
        assertTrue(start.force());
        assertEquals(8, start.line());
        assertEquals(new TokenizerSettings.ModelToken(ModelRef.of("a"), null, 7), s.tokens().get("<|im_end|>").source());
        assertFalse(s.tokens().get("<|im_end|>").force());
        assertEquals(new TokenizerSettings.Zero(), s.tokens().get("<pad>").source());
        assertEquals(new TokenizerSettings.ModelToken(ModelRef.of("b"), "<s>", null), s.tokens().get("<tool>").source());
        assertNull(s.tokens().get("<plain>").source());
        assertEquals("auto", r.chatTemplate());
        assertEquals(18, r.chatTemplateLine());
    }

    @Test
    void mistakesNameTheirLine() {
        RecipeException kind = assertThrows(RecipeException.class, () -> Recipe.parse(MODELS
                + "tokenizer:\n  tokens:\n    x:\n      source: {kind: nothing}\n"));
        assertEquals(8, kind.line());
        assertTrue(kind.getMessage().contains("unknown source kind 'nothing'"), kind.getMessage());
        RecipeException pad = assertThrows(RecipeException.class, () -> Recipe.parse(MODELS
                + "tokenizer:\n  pad_to_multiple_of: 0\n"));
        assertEquals(6, pad.line());
        RecipeException key = assertThrows(RecipeException.class, () -> Recipe.parse(MODELS
                + "tokenizer:\n  tokens:\n    x:\n      sauce: a\n"));
        assertTrue(key.getMessage().contains("unknown key 'sauce'"), key.getMessage());
    }
}
