package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.Json;
import org.mergelab.io.TokenizerJson;
import org.mergelab.merge.vocab.ChatTemplates;
import org.mergelab.testing.RawSafetensors;

/**
 * The stories260K family shares one 512-token vocabulary, so rebuilding it ({@code tokenizer_source: base}) must
 * change nothing but the files around it: every tensor equals the merge without tokenizer settings, the tokenizer is
 * the base's, and the chat template is saved where transformers 5 reads it.
 */
class TokenizerMergeStoriesTest {
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

    private Path merge(String name, String extra) throws IOException {
        String text = "merge_method: linear\nbase_model: " + base + "\nmodels:\n  - model: " + base
                + "\n    parameters: {weight: 0.7}\n  - model: " + shakespeare + "\n    parameters: {weight: 0.3}\n"
                + "dtype: float32\n" + extra;
        Path out = dir.resolve(name);
        Merge.run(TestModels.recipe(dir, name + ".yml", text), out);
        return out;
    }

    @Test
    void baseVocabularyWithChatmlTemplate() throws IOException {
        Path plain = merge("plain", "");
        Path rebuilt = merge("rebuilt", "tokenizer_source: base\nchat_template: chatml\n");

        RawSafetensors a = RawSafetensors.read(plain.resolve("model.safetensors"));
        RawSafetensors b = RawSafetensors.read(rebuilt.resolve("model.safetensors"));
        assertEquals(a.tensors().keySet(), b.tensors().keySet());
        assertTrue(b.tensors().containsKey("model.embed_tokens.weight"));
        for (String name : a.tensors().keySet()) {
            RawSafetensors.Entry x = a.get(name), y = b.get(name);
            assertEquals(x.shapeString(), y.shapeString(), name);
            assertEquals(x.bytes(), y.bytes(), name + ": identity permutation, same bytes");
        }
        assertEquals(512, Json.read(rebuilt.resolve("config.json")).get("vocab_size").asInt());

        // The tokenizer is the base's: same tokenizer.json tree, same tokenizer_config.json (its added_tokens_decoder
        // rewritten from the same added tokens), and the chat template in chat_template.jinja only.
        assertEquals(TokenizerJson.read(base.resolve("tokenizer.json")).json(),
                TokenizerJson.read(rebuilt.resolve("tokenizer.json")).json());
        ObjectNode cfg = (ObjectNode) Json.read(rebuilt.resolve("tokenizer_config.json"));
        assertEquals(Json.read(base.resolve("tokenizer_config.json")), cfg);
        assertTrue(cfg.get("added_tokens_decoder").has("0"), "unk, bos and eos stay declared");
        assertFalse(cfg.has("chat_template"));
        String template = Files.readString(rebuilt.resolve("chat_template.jinja"));
        assertEquals(ChatTemplates.builtIn("chatml").orElseThrow(), template);
        assertTrue(template.contains("<|im_start|>") && template.contains("add_generation_prompt"));
        assertArrayEquals(Files.readAllBytes(base.resolve("special_tokens_map.json")),
                Files.readAllBytes(rebuilt.resolve("special_tokens_map.json")));

        // Without settings the donor's files are copied as they are, with no template.
        assertFalse(Files.exists(plain.resolve("chat_template.jinja")));
        assertArrayEquals(Files.readAllBytes(base.resolve("tokenizer.json")),
                Files.readAllBytes(plain.resolve("tokenizer.json")));
        try (Checkpoint c = Checkpoint.open(rebuilt)) {
            assertEquals(512, c.info("model.embed_tokens.weight").shape()[0]);
        }
    }

    @Test
    void aChatTemplateWithoutTokenizerSettingsIsAddedToTheCopiedTokenizer() throws IOException {
        String literal = "{% for m in messages %}{{ m['content'] }}\\n{% endfor %}";
        Path out = merge("copied", "chat_template: \"" + literal + "\"\n");
        assertArrayEquals(Files.readAllBytes(base.resolve("tokenizer.json")),
                Files.readAllBytes(out.resolve("tokenizer.json")));
        assertArrayEquals(Files.readAllBytes(base.resolve("tokenizer.model")),
                Files.readAllBytes(out.resolve("tokenizer.model")));
        assertEquals(literal.replace("\\n", "\n"), Files.readString(out.resolve("chat_template.jinja")));
    }
}
