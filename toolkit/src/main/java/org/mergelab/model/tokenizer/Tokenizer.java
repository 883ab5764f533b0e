package org.mergelab.model.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Text to token ids and back, as the model's reference tokenizer does it. {@link #load(Path)} reads a model folder's
 * {@code tokenizer.json} (Hugging Face tokenizers: byte-level BPE as in Llama 3, Qwen2 and SmolLM; SentencePiece-style
 * BPE with byte fallback as in Llama 2 and TinyLlama) or, failing that, its {@code tokenizer.model} (SentencePiece
 * BPE, as llama2.c models ship).
 */
public interface Tokenizer {
    /** The ids of {@code text}, without the special tokens a model expects around a sequence. */
    default int[] encode(String text) {
        return encode(text, false);
    }

    /**
     * The ids of {@code text}; with {@code addSpecialTokens}, wrapped as the tokenizer's post-processor (or
     * {@code add_bos_token}) says: a BOS first for Llama-family tokenizers, nothing for Qwen2's.
     */
    int[] encode(String text, boolean addSpecialTokens);

    /** The text of {@code ids}, special tokens included (as transformers' {@code decode} does by default). */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    String decode(int[] ids, boolean skipSpecialTokens);

    /** Ids this tokenizer can produce: the highest id plus one. */
    int size();

    /** The token's string as the vocabulary spells it ("▁the", "Ġthe", "<s>"), or null for an unused id. */
    String token(int id);

    /** The id of a token string, if the vocabulary has it. */
    OptionalInt id(String token);

    OptionalInt bosId();

    OptionalInt eosId();

    /** Ids that end a generation by default (EOS and, for chat models, end-of-turn tokens). */
    List<Integer> stopIds();

    /** The folder's chat template, if it has one. */
    default Optional<ChatTemplate> chatTemplate() {
        return Optional.empty();
    }

    /** Which file this tokenizer was read from, for messages. */
    String source();

    /** The tokenizer of a model folder: tokenizer.json if present, else tokenizer.model. */
    static Tokenizer load(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        Path sp = dir.resolve("tokenizer.model");
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        if (Files.isRegularFile(json)) return HfTokenizer.load(json, cfg);
        if (Files.isRegularFile(sp)) return SentencePieceTokenizer.load(sp, cfg);
        throw new TokenizerException(dir + " has no tokenizer.json or tokenizer.model");
    }

    /** Whether a model folder holds tokenizer files. */
    static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.json")) || Files.isRegularFile(dir.resolve("tokenizer.model"));
    }
}
