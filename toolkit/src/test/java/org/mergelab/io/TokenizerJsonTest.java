package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.TokenizerJson.AddedToken;
import org.mergelab.testing.Reference;

/**
 * Editing tokenizer.json vocabularies, checked against files the {@code tokenizers} library itself wrote after the
 * same edits (the tiny models of reference/tokenizer-merge/inputs, made by make_tokenizer_merge_goldens.py).
 */
class TokenizerJsonTest {
    static final Path INPUTS = Reference.file("tokenizer-merge/inputs");

    @TempDir
    Path dir;

    static TokenizerJson tok(String model) {
        return TokenizerJson.read(INPUTS.resolve(model).resolve("tokenizer.json"));
    }

    @Test
    void addingTokensAsTransformersAddTokensDoesGivesTheSameFile() {
        // sp-chatml's tokenizer is sp-base's after add_tokens(["<|im_start|>", "<|im_end|>"]).
        TokenizerJson t = tok("sp-base").copy();
        assertEquals(64, t.addToken(AddedToken.plain("<|im_start|>")));
        assertEquals(65, t.addToken(AddedToken.plain("<|im_end|>")));
        assertEquals(tok("sp-chatml").json(), t.json());
        // bl-chat's: special tokens after the model's 63 and <|endoftext|> (63).
        TokenizerJson q = tok("bl-base").copy();
        for (String s : List.of("<|im_start|>", "<|im_end|>")) {
            q.addToken(new AddedToken(-1, s, false, false, false, false, true));
        }
        assertEquals(tok("bl-chat").json(), q.json());
    }

    @Test
    void addingAKnownTokenKeepsItsIdAndAnIdenticalOneChangesNothing() {
        TokenizerJson t = tok("sp-base").copy();
        int cat = t.modelVocab().get("\u2581cat");
        assertEquals(cat, t.addToken(AddedToken.plain("\u2581cat")));
        assertEquals(64, t.size(), "no new id");
        assertEquals(cat, t.addedTokens().stream().filter(a -> a.content().equals("\u2581cat")).findFirst()
                .orElseThrow().id());
        ObjectNode before = t.json().deepCopy();
        assertEquals(1, t.addToken(new AddedToken(-1, "<s>", false, false, false, false, true)));
        assertEquals(before, t.json());
        // The same content with other flags replaces the entry, keeping the id.
        assertEquals(1, t.addToken(AddedToken.plain("<s>")));
        assertFalse(t.addedTokens().get(1).special());
        assertEquals(64, t.size());
    }

    @Test
    void strippingTokensBeyondTheVocabSizeGivesTheTokenizerWithoutThem() {
        // sp-padded = sp-base + <UNUSED_0..3> at ids 64..67, beyond its vocab_size 64.
        TokenizerJson padded = tok("sp-padded");
        assertEquals(68, padded.size());
        assertEquals(tok("sp-base").json(), padded.withoutIdsFrom(64).json());
        assertEquals(68, padded.size(), "the original is unchanged");
        // Stripping model tokens also drops the merges that use them.
        TokenizerJson base = tok("sp-base");
        int before = base.json().get("model").get("merges").size();
        TokenizerJson cut = base.withoutIdsFrom(60);
        assertEquals(60, cut.size());
        assertTrue(cut.json().get("model").get("merges").size() < before);
        for (var m : cut.json().get("model").get("merges")) {
            for (var part : m) assertTrue(cut.modelVocab().containsKey(part.asText()), m.toString());
        }
    }

    @Test
    void mergesWrittenAsStringsAreStrippedToo() throws IOException {
        String json = """
                {"added_tokens": [{"id": 4, "content": "<x>", "special": true}],
                 "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "abb": 3},
                           "merges": ["a b", "ab b"]}}""";
        TokenizerJson t = TokenizerJson.of("test", (ObjectNode) Json.MAPPER.readTree(json));
        TokenizerJson cut = t.withoutIdsFrom(3);
        assertEquals(List.of("a", "b", "ab"), List.copyOf(cut.vocab().keySet()));
        assertEquals("[\"a b\"]", cut.json().get("model").get("merges").toString());
        assertTrue(cut.addedTokens().isEmpty());
        ObjectNode unigram = (ObjectNode) Json.MAPPER.readTree("""
                {"added_tokens": [], "model": {"type": "Unigram", "vocab": [["a", 0.0], ["b", -1.0]]}}""");
        TokenizerJson u = TokenizerJson.of("unigram", unigram);
        assertEquals(1, u.vocab().get("b"));
        assertThrows(CheckpointException.class, () -> u.withoutIdsFrom(1));
    }

    @Test
    void chatTemplatesAreReadWhereTransformersReadsThem() throws IOException {
        assertNull(TokenizerFolder.read(INPUTS.resolve("bl-base")).chatTemplate());
        String t = TokenizerFolder.read(INPUTS.resolve("bl-chat")).chatTemplate();
        assertEquals(Files.readString(INPUTS.resolve("bl-chat/chat_template.jinja")), t);
        // tokenizer_config.json's key (a list of named templates: "default"), then chat_template.jinja over it.
        Files.write(dir.resolve("tokenizer.json"), Files.readAllBytes(INPUTS.resolve("bl-base/tokenizer.json")));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": [{\"name\": \"tool\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}");
        assertEquals("D", TokenizerFolder.read(dir).chatTemplate());
        TokenizerFolder.setChatTemplate(dir, "{{ new }}");
        assertEquals("{{ new }}", TokenizerFolder.read(dir).chatTemplate());
        assertFalse(Json.read(dir.resolve("tokenizer_config.json")).has("chat_template"));
    }

    @Test
    void aFolderWithoutTokenizerFilesIsNamedInTheError() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> TokenizerFolder.read(dir));
        assertTrue(e.getMessage().contains(dir + " has no tokenizer.json or tokenizer.model"), e.getMessage());
    }
}
