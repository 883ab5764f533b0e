package org.mergelab.recipe;

import java.util.Map;

/**
 * What a recipe says about the output vocabulary: {@code tokenizer_source: X} or a {@code tokenizer:} block.
 *
 * @param source            where the output vocabulary comes from
 * @param tokens            per-token embedding rules, by token text, in recipe order (empty for tokenizer_source)
 * @param padToMultipleOf   round the embedding rows up to a multiple of this, or null
 * @param line              the line of {@code tokenizer_source} or {@code tokenizer}
 */
public record TokenizerSettings(Source source, Map<String, TokenSetting> tokens, Integer padToMultipleOf, int line) {

    /** {@code union} (every model's tokens), {@code base} (the base model's), or one model's tokenizer. */
    public sealed interface Source permits Union, Base, FromModel {}

    public record Union() implements Source {
        @Override public String toString() { return "union"; }
    }

    public record Base() implements Source {
        @Override public String toString() { return "base"; }
    }

    public record FromModel(ModelRef model) implements Source {
        @Override public String toString() { return model.toString(); }
    }

    /**
     * The rule for one token's embedding row.
     *
     * @param source where its row comes from when a model lacks the token (or always, if {@code force}); null
     *               leaves it to the default rules
     * @param force  use {@code source} even for models that have the token
     */
    public record TokenSetting(EmbeddingSource source, boolean force, int line) {}

    /** Where a token's row comes from. */
    public sealed interface EmbeddingSource permits ModelRow, ModelToken, Zero {}

    /** The same token's row in {@code model}. */
    public record ModelRow(ModelRef model) implements EmbeddingSource {}

    /** The row of another token of {@code model}, by text or by id (exactly one of them is set). */
    public record ModelToken(ModelRef model, String token, Integer tokenId) implements EmbeddingSource {}

    /** A row of zeros. */
    public record Zero() implements EmbeddingSource {}
}
