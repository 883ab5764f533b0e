package org.mergelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json} held as its JSON tree, for reading and editing the vocabulary: the model's
 * vocabulary, its merges and the added tokens. Everything else (normalizer, pre-tokenizer, post-processor, decoder)
 * is kept exactly as read, so an edited file tokenizes as the original does wherever the vocabulary agrees.
 * Editing follows the {@code tokenizers} library's own rules, so a file edited here equals the one that library
 * would save after the same edit.
 */
public final class TokenizerJson {
    /** One entry of {@code added_tokens}: a token matched before the model sees the text. */
    public record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                             boolean normalized, boolean special) {
        /** A token added by content alone, as {@code tokenizer.add_tokens("text")} does: normalized, not special. */
        public static AddedToken plain(String content) {
            return new AddedToken(-1, content, false, false, false, true, false);
        }

        public AddedToken withId(int newId) {
            return new AddedToken(newId, content, singleWord, lstrip, rstrip, normalized, special);
        }

        /** Same content and flags, whatever the ids. */
        public boolean sameAs(AddedToken o) {
            return withId(0).equals(o.withId(0));
        }

        ObjectNode toJson() {
            ObjectNode t = Json.object();
            t.put("id", id);
            t.put("content", content);
            t.put("single_word", singleWord);
            t.put("lstrip", lstrip);
            t.put("rstrip", rstrip);
            t.put("normalized", normalized);
            t.put("special", special);
            return t;
        }

        static AddedToken fromJson(JsonNode t) {
            return new AddedToken(t.path("id").asInt(), t.path("content").asText(), t.path("single_word").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                    t.path("normalized").asBoolean(!t.path("special").asBoolean(false)), t.path("special").asBoolean(false));
        }
    }

    private final String where;
    private final ObjectNode root;
    /** Parsed once: the model's vocabulary never changes after reading; added tokens change through addToken. */
    private Map<String, Integer> modelVocab;
    private java.util.TreeMap<Integer, AddedToken> added;
    private Map<String, Integer> addedIdOf;
    private boolean addedDirty;

    private TokenizerJson(String where, ObjectNode root) {
        this.where = where;
        this.root = root;
        JsonNode model = root.get("model");
        if (!(model instanceof ObjectNode) || !(model.get("vocab") instanceof ObjectNode
                || model.get("vocab") instanceof ArrayNode)) {
            throw new CheckpointException(where + ": not a tokenizer.json (no model.vocab)");
        }
    }

    public static TokenizerJson read(Path file) {
        try {
            JsonNode n = Json.read(file);
            if (!(n instanceof ObjectNode o)) throw new CheckpointException(file + ": not a JSON object");
            return new TokenizerJson(file.toString(), o);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read tokenizer.json: " + e.getMessage());
        }
    }

    /** Wraps a tree (not copied); {@code where} names it in messages. */
    public static TokenizerJson of(String where, ObjectNode root) {
        return new TokenizerJson(where, root);
    }

    public TokenizerJson copy() {
        return new TokenizerJson(where, json().deepCopy());
    }

    public String where() { return where; }

    /** The tree, for writing; edits go through this class. */
    public ObjectNode json() {
        if (addedDirty) {
            ArrayNode arr = Json.MAPPER.createArrayNode();
            for (AddedToken t : added.values()) arr.add(t.toJson());
            root.set("added_tokens", arr);
            addedDirty = false;
        }
        return root;
    }

    /** "BPE", "Unigram", "WordPiece", "WordLevel". */
    public String modelType() {
        return root.path("model").path("type").asText("");
    }

    /** The model's own vocabulary, token to id, in file order (for Unigram, a piece's id is its position). */
    public Map<String, Integer> modelVocab() {
        if (modelVocab == null) modelVocab = Collections.unmodifiableMap(readModelVocab());
        return modelVocab;
    }

    private Map<String, Integer> readModelVocab() {
        Map<String, Integer> out = new LinkedHashMap<>();
        JsonNode v = root.path("model").get("vocab");
        if (v instanceof ObjectNode o) {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getKey(), e.getValue().asInt());
            }
        } else {
            int i = 0;
            for (JsonNode piece : v) out.putIfAbsent(piece.get(0).asText(), i++);
        }
        return out;
    }

    /** The added tokens, by id. */
    public List<AddedToken> addedTokens() {
        return List.copyOf(added().values());
    }

    private java.util.TreeMap<Integer, AddedToken> added() {
        if (added == null) {
            added = new java.util.TreeMap<>();
            addedIdOf = new java.util.HashMap<>();
            for (JsonNode t : root.path("added_tokens")) {
                AddedToken a = AddedToken.fromJson(t);
                added.put(a.id(), a);
                addedIdOf.put(a.content(), a.id());
            }
        }
        return added;
    }

    /** Every token with its id, added tokens included (what transformers' {@code get_vocab()} returns). */
    public Map<String, Integer> vocab() {
        Map<String, Integer> out = new LinkedHashMap<>(modelVocab());
        for (AddedToken t : added().values()) out.put(t.content(), t.id());
        return out;
    }

    /** Number of distinct tokens, added ones included ({@code len(tokenizer)}). */
    public int size() {
        return vocab().size();
    }

    /**
     * A copy without the tokens whose id is {@code vocabSize} or more (the model has no embedding row for them):
     * removed from the vocabulary and the added tokens, and every merge that involves or forms one of them is dropped.
     * Only BPE vocabularies can be stripped so.
     */
    public TokenizerJson withoutIdsFrom(int vocabSize) {
        Set<String> unused = new HashSet<>();
        vocab().forEach((tok, id) -> { if (id >= vocabSize) unused.add(tok); });
        if (unused.isEmpty()) return copy();
        if (!modelType().equals("BPE")) {
            throw new CheckpointException(where + ": the tokenizer has tokens beyond the model's vocab_size "
                    + vocabSize + " but is a " + modelType() + " tokenizer; only BPE tokenizers can be stripped of them");
        }
        TokenizerJson out = copy();
        ArrayNode kept = Json.MAPPER.createArrayNode();
        for (AddedToken t : addedTokens()) if (t.id() < vocabSize) kept.add(t.toJson());
        out.root.set("added_tokens", kept);
        ObjectNode model = (ObjectNode) out.root.get("model");
        ((ObjectNode) model.get("vocab")).remove(unused);
        JsonNode merges = model.get("merges");
        if (merges instanceof ArrayNode arr) {
            ArrayNode keptMerges = Json.MAPPER.createArrayNode();
            String prefix = model.path("continuing_subword_prefix").isTextual()
                    ? model.get("continuing_subword_prefix").asText() : "";
            for (JsonNode m : arr) {
                List<String> parts = mergeParts(m);
                // mergekit keeps a merge whose result was removed, which the tokenizers library then refuses to load.
                String right = parts.get(1);
                String result = parts.get(0) + (!prefix.isEmpty() && right.startsWith(prefix)
                        ? right.substring(prefix.length()) : right);
                if (parts.stream().noneMatch(unused::contains) && !unused.contains(result)) keptMerges.add(m);
            }
            model.set("merges", keptMerges);
        }
        return out;
    }

    private List<String> mergeParts(JsonNode m) {
        if (m.isTextual() && m.asText().chars().filter(c -> c == ' ').count() == 1) {
            return List.of(m.asText().split(" ", -1));
        }
        if (m.isArray()) {
            List<String> parts = new ArrayList<>();
            m.forEach(p -> parts.add(p.asText()));
            return parts;
        }
        throw new CheckpointException(where + ": unexpected merge format " + m);
    }

    /**
     * Adds a token as the {@code tokenizers} library does: nothing happens if an identical added token exists;
     * a token already known (in the vocabulary or among the added tokens) keeps its id and takes the new flags;
     * a new one gets the next id after the added tokens, or the model vocabulary's size if that is larger.
     *
     * @return the token's id
     */
    public int addToken(AddedToken token) {
        if (token.content().isEmpty()) return -1;
        java.util.TreeMap<Integer, AddedToken> byId = added();
        Integer known = addedIdOf.get(token.content());
        if (known != null && byId.get(known).sameAs(token)) return known;
        if (known == null) known = modelVocab().get(token.content());
        int id;
        if (known != null) {
            id = known;
        } else {
            int modelSize = modelVocab().size();
            int maxAdded = byId.isEmpty() ? -1 : byId.lastKey();
            id = maxAdded < 0 ? modelSize : (maxAdded >= modelSize || modelSize == 0 ? maxAdded + 1 : modelSize);
        }
        AddedToken replaced = byId.put(id, token.withId(id));
        if (replaced != null && !replaced.content().equals(token.content())) addedIdOf.remove(replaced.content());
        addedIdOf.put(token.content(), id);
        addedDirty = true;
        return id;
    }

    public void write(Path file) throws IOException {
        Json.write(file, json());
    }

    /** The tokens by id (ids without a token are absent). */
    public Map<Integer, String> byId() {
        Map<Integer, String> out = new LinkedHashMap<>();
        vocab().forEach((t, id) -> out.put(id, t));
        return Collections.unmodifiableMap(out);
    }
}
