package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What transformers reads beside the tokenizer proper: tokenizer_config.json (add_bos_token, special token
 * strings, chat_template), chat_template.jinja, and the end-of-sequence ids of generation_config.json.
 */
record TokenizerConfig(Path dir, Boolean addBosToken, Boolean addEosToken, String bosToken, String eosToken,
                       String chatTemplate, boolean cleanUpSpaces, List<Integer> generationEosIds) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static TokenizerConfig read(Path dir) {
        JsonNode tc = json(dir.resolve("tokenizer_config.json"));
        JsonNode gen = json(dir.resolve("generation_config.json"));
        String template = null;
        Path jinja = dir.resolve("chat_template.jinja");
        try {
            if (Files.isRegularFile(jinja)) template = Files.readString(jinja);
        } catch (IOException e) {
            throw new TokenizerException(jinja + ": " + e.getMessage(), e);
        }
        JsonNode t = tc.get("chat_template");
        if (template == null && t != null) {
            if (t.isTextual()) {
                template = t.asText();
            } else if (t.isArray()) { // named templates: the "default" one
                for (JsonNode n : t) if (n.path("name").asText().equals("default")) template = n.path("template").asText();
            }
        }
        List<Integer> eos = new ArrayList<>();
        JsonNode e = gen.get("eos_token_id");
        if (e != null && e.isArray()) e.forEach(x -> eos.add(x.asInt()));
        else if (e != null && e.canConvertToInt()) eos.add(e.asInt());
        return new TokenizerConfig(dir, bool(tc, "add_bos_token"), bool(tc, "add_eos_token"), tokenString(tc, "bos_token"),
                tokenString(tc, "eos_token"), template, tc.path("clean_up_tokenization_spaces").asBoolean(false),
                List.copyOf(eos));
    }

    private static Boolean bool(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v != null && v.isBoolean() ? v.asBoolean() : null;
    }

    /** A special token as tokenizer_config.json writes it: a string, or an object with "content". */
    private static String tokenString(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return null;
        return v.isObject() ? v.path("content").asText(null) : v.asText();
    }

    private static JsonNode json(Path p) {
        if (!Files.isRegularFile(p)) return JSON.createObjectNode();
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new TokenizerException(p + ": cannot parse: " + e.getMessage(), e);
        }
    }
}
