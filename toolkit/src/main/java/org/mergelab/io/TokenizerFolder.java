package org.mergelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tokenizer files of a Hugging Face model folder, read as transformers 5 reads them: {@code tokenizer.json}
 * (or, without one, the {@code tokenizer.json} converted from a SentencePiece {@code tokenizer.model}),
 * {@code tokenizer_config.json}, and the chat template from {@code chat_template.jinja}, else
 * {@code chat_template.json}, else {@code tokenizer_config.json}.
 */
public final class TokenizerFolder {
    public static final String TOKENIZER_JSON = "tokenizer.json";
    public static final String CONFIG = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";
    public static final String CHAT_TEMPLATE_JINJA = "chat_template.jinja";
    public static final String CHAT_TEMPLATE_JSON = "chat_template.json";

    private final Path dir;
    private final TokenizerJson tokenizer;
    private final ObjectNode config;

    private TokenizerFolder(Path dir, TokenizerJson tokenizer, ObjectNode config) {
        this.dir = dir;
        this.tokenizer = tokenizer;
        this.config = config;
    }

    /** Whether {@code dir} holds a tokenizer this class can read. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(TOKENIZER_JSON)) || Files.isRegularFile(dir.resolve("tokenizer.model"));
    }

    public static TokenizerFolder read(Path dir) {
        TokenizerJson tok;
        Path json = dir.resolve(TOKENIZER_JSON);
        Path spm = dir.resolve("tokenizer.model");
        if (Files.isRegularFile(json)) {
            tok = TokenizerJson.read(json);
        } else if (Files.isRegularFile(spm)) {
            SentencePieceModel sp = SentencePieceModel.read(spm);
            if (!sp.isBpe()) {
                throw new CheckpointException(spm + ": only SentencePiece BPE models can be converted to tokenizer.json");
            }
            tok = TokenizerJson.of(spm.toString(), HfTokenizerFiles.tokenizerJson(sp));
        } else {
            throw new CheckpointException(dir + " has no tokenizer.json or tokenizer.model");
        }
        ObjectNode config = Json.object();
        Path cfg = dir.resolve(CONFIG);
        if (Files.isRegularFile(cfg)) {
            try {
                JsonNode n = Json.read(cfg);
                if (n instanceof ObjectNode o) config = o;
            } catch (IOException e) {
                throw new CheckpointException(cfg + ": cannot read: " + e.getMessage());
            }
        }
        return new TokenizerFolder(dir, tok, config);
    }

    public Path dir() { return dir; }

    public TokenizerJson tokenizer() { return tokenizer; }

    /** tokenizer_config.json (empty if absent). Callers must not modify it. */
    public ObjectNode config() { return config; }

    /**
     * The chat template transformers would load, or null: {@code chat_template.jinja}, else the
     * {@code chat_template} of {@code chat_template.json} or {@code tokenizer_config.json} (for a list of named
     * templates, the one named "default").
     */
    public String chatTemplate() {
        try {
            Path jinja = dir.resolve(CHAT_TEMPLATE_JINJA);
            if (Files.isRegularFile(jinja)) return Files.readString(jinja);
            Path json = dir.resolve(CHAT_TEMPLATE_JSON);
            if (Files.isRegularFile(json)) {
                String t = templateIn(Json.read(json).get("chat_template"));
                if (t != null) return t;
            }
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot read the chat template: " + e.getMessage());
        }
        return templateIn(config.get("chat_template"));
    }

    private static String templateIn(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n instanceof ArrayNode arr) {
            for (JsonNode t : arr) if ("default".equals(t.path("name").asText())) return t.path("template").asText();
        }
        if (n instanceof ObjectNode o && o.has("default")) return o.get("default").asText();
        return null;
    }

    /**
     * Writes a tokenizer into {@code out} as transformers 5 saves one: {@code tokenizer.json},
     * {@code tokenizer_config.json} (this folder's, with its {@code added_tokens_decoder}, if it has one, rewritten
     * for the new added tokens and any {@code chat_template} key removed), this folder's
     * {@code special_tokens_map.json} if it has one, and the chat template, if any, as {@code chat_template.jinja}.
     */
    public void writeAs(Path out, TokenizerJson tokenizer, String chatTemplate) throws IOException {
        tokenizer.write(out.resolve(TOKENIZER_JSON));
        ObjectNode cfg = config.deepCopy();
        cfg.remove("chat_template");
        if (cfg.has("added_tokens_decoder")) {
            ObjectNode dec = Json.object();
            for (TokenizerJson.AddedToken t : tokenizer.addedTokens()) {
                ObjectNode e = dec.putObject(Integer.toString(t.id()));
                e.put("content", t.content());
                e.put("lstrip", t.lstrip());
                e.put("normalized", t.normalized());
                e.put("rstrip", t.rstrip());
                e.put("single_word", t.singleWord());
                e.put("special", t.special());
            }
            cfg.set("added_tokens_decoder", dec);
        }
        Json.write(out.resolve(CONFIG), cfg);
        Path map = dir.resolve(SPECIAL_TOKENS_MAP);
        if (Files.isRegularFile(map)) Files.write(out.resolve(SPECIAL_TOKENS_MAP), Files.readAllBytes(map));
        if (chatTemplate != null) Files.writeString(out.resolve(CHAT_TEMPLATE_JINJA), chatTemplate);
    }

    /**
     * Sets the chat template of a tokenizer already written to {@code out} (copied files): writes
     * {@code chat_template.jinja}, drops {@code chat_template.json} and the {@code chat_template} key of
     * {@code tokenizer_config.json}, which transformers 5 would otherwise also read.
     */
    public static void setChatTemplate(Path out, String chatTemplate) throws IOException {
        Files.writeString(out.resolve(CHAT_TEMPLATE_JINJA), chatTemplate);
        Files.deleteIfExists(out.resolve(CHAT_TEMPLATE_JSON));
        Path cfg = out.resolve(CONFIG);
        if (Files.isRegularFile(cfg) && Json.read(cfg) instanceof ObjectNode o && o.has("chat_template")) {
            o.remove("chat_template");
            Json.write(cfg, o);
        }
    }
}
