package org.mergelab.merge.vocab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mergelab.io.TokenizerFolder;
import org.mergelab.recipe.TokenizerSettings;

/**
 * What a recipe's {@code tokenizer_source} / {@code tokenizer} / {@code chat_template} settings do to a merge: the
 * merged vocabulary (null when the donor's tokenizer is copied), the re-indexing of each vocabulary tensor, and
 * the chat template to save.
 */
public final class VocabularyPlan {
    /** mergekit's list of files copied from the donor when no tokenizer is built (plus vocab.json). */
    public static final List<String> COPIED_FILES = List.of("tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.json", "tokenizer.model", "added_tokens.json", "merges.txt", "vocab.json", "chat_template.jinja",
            "generation_config.json", "chat_template.json");

    private final TokenizerSettings settings;
    private final OutputVocabulary vocabulary;
    private final String chatTemplate;
    private final Map<String, EmbeddingAlignment> alignments = new LinkedHashMap<>();

    public VocabularyPlan(TokenizerSettings settings, OutputVocabulary vocabulary, String chatTemplate) {
        this.settings = settings;
        this.vocabulary = vocabulary;
        this.chatTemplate = chatTemplate;
    }

    /** No tokenizer settings: the donor's tokenizer is copied unchanged. */
    public static VocabularyPlan none() {
        return new VocabularyPlan(null, null, null);
    }

    public TokenizerSettings settings() { return settings; }

    /** The merged vocabulary, or null when the donor's tokenizer is copied. */
    public OutputVocabulary vocabulary() { return vocabulary; }

    /** The chat template the recipe asks for (resolved), or null. */
    public String chatTemplate() { return chatTemplate; }

    /** Size of the vocabulary axis of the output (padded), or -1 when the vocabulary is not rebuilt. */
    public int paddedSize() {
        return vocabulary == null ? -1 : vocabulary.paddedSize(settings.padToMultipleOf());
    }

    public void addAlignment(String outputTensor, EmbeddingAlignment a) {
        alignments.put(outputTensor, a);
    }

    /** The re-indexing of an output tensor's inputs, or null when it has no vocabulary axis to align. */
    public EmbeddingAlignment alignmentFor(String outputTensor) {
        return alignments.get(outputTensor);
    }

    public Map<String, EmbeddingAlignment> alignments() {
        return Collections.unmodifiableMap(alignments);
    }

    /**
     * Writes the output's tokenizer files into {@code out}: the merged tokenizer when one was built (with the
     * recipe's chat template, else its source's); otherwise, if {@code copy}, the donor's tokenizer files, with the
     * recipe's chat template set if it has one.
     *
     * @return true if a tokenizer was written
     */
    public boolean writeTokenizer(Path out, Path donor, boolean copy) throws IOException {
        if (vocabulary != null) {
            TokenizerFolder src = vocabulary.source();
            src.writeAs(out, vocabulary.tokenizer(), chatTemplate != null ? chatTemplate : src.chatTemplate());
            return true;
        }
        if (!copy) return false;
        boolean any = false;
        for (String f : COPIED_FILES) {
            Path from = donor.resolve(f);
            if (Files.isRegularFile(from)) {
                // Copied as bytes, not with Files.copy, so a read-only source does not make a read-only output.
                Files.write(out.resolve(f), Files.readAllBytes(from));
                any = true;
            }
        }
        if (chatTemplate != null && any) TokenizerFolder.setChatTemplate(out, chatTemplate);
        return any;
    }
}
