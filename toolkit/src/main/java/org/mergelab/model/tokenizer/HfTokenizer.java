package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, run as the tokenizers library runs it: added tokens split out of the raw
 * text; each remaining stretch normalized, pre-tokenized and encoded by the BPE model; the post-processor's template
 * wrapped around the result. Decoding maps ids to tokens and runs the decoder chain.
 */
public final class HfTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final AddedTokens added;
    private final Normalizers.Normalizer normalizer;
    private final PreTokenizers.PreTokenizer preTokenizer;
    private final Bpe model;
    private final List<Integer> prefixIds, suffixIds;
    private final Decoders.Decoder decoder;
    private final String[] idToToken;
    private final Map<String, Integer> tokenToId = new HashMap<>();
    private final Set<Integer> specialIds = new HashSet<>();
    private final TokenizerConfig config;

    private HfTokenizer(Path file, JsonNode root, TokenizerConfig config) {
        String where = file.toString();
        this.file = file;
        this.config = config;
        this.added = AddedTokens.parse(root.path("added_tokens"));
        this.normalizer = Normalizers.parse(root.get("normalizer"), where);
        this.preTokenizer = PreTokenizers.parse(root.get("pre_tokenizer"), where);
        this.model = Bpe.parse(root.path("model"), where);
        this.decoder = Decoders.parse(root.get("decoder"), where);
        int max = -1;
        for (int id : model.vocab.values()) max = Math.max(max, id);
        for (AddedTokens.Token t : added.tokens) max = Math.max(max, t.id());
        this.idToToken = new String[max + 1];
        model.vocab.forEach((tok, id) -> idToToken[id] = tok);
        tokenToId.putAll(model.vocab);
        for (AddedTokens.Token t : added.tokens) {
            idToToken[t.id()] = t.content();
            tokenToId.put(t.content(), t.id());
            if (t.special()) specialIds.add(t.id());
        }
        this.prefixIds = new ArrayList<>();
        this.suffixIds = new ArrayList<>();
        JsonNode pp = root.get("post_processor");
        if (pp == null || pp.isNull()) {
            // No post-processor: tokenizer_config.json's add_bos_token / add_eos_token say what to add (BOS? $A EOS?).
            if (config != null && Boolean.TRUE.equals(config.addBosToken()) && config.bosToken() != null) {
                prefixIds.add(requiredId(config.bosToken(), where));
            }
            if (config != null && Boolean.TRUE.equals(config.addEosToken()) && config.eosToken() != null) {
                suffixIds.add(requiredId(config.eosToken(), where));
            }
        } else {
            template(pp, where);
        }
    }

    private int requiredId(String token, String where) {
        Integer id = tokenToId.get(token);
        if (id == null) throw new TokenizerException(where + ": special token " + token + " is not in the vocabulary");
        return id;
    }

    public static HfTokenizer load(Path file) {
        return load(file, TokenizerConfig.read(file.toAbsolutePath().getParent()));
    }

    static HfTokenizer load(Path file, TokenizerConfig config) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot parse: " + e.getMessage(), e);
        }
        return new HfTokenizer(file, root, config);
    }

    /** The special tokens the post-processor puts before and after a single sequence. */
    private void template(JsonNode pp, String where) {
        if (pp == null || pp.isNull()) return;
        switch (pp.path("type").asText()) {
            case "Sequence" -> pp.path("processors").forEach(p -> template(p, where));
            case "ByteLevel" -> { }
            case "TemplateProcessing" -> {
                boolean seenSequence = false;
                for (JsonNode piece : pp.path("single")) {
                    if (piece.has("Sequence")) {
                        seenSequence = true;
                    } else if (piece.has("SpecialToken")) {
                        String id = piece.get("SpecialToken").path("id").asText();
                        JsonNode ids = pp.path("special_tokens").path(id).path("ids");
                        if (!ids.isArray()) throw new TokenizerException(where + ": post_processor names special token "
                                + id + " but does not define its ids");
                        for (JsonNode x : ids) (seenSequence ? suffixIds : prefixIds).add(x.asInt());
                    }
                }
            }
            case "RobertaProcessing", "BertProcessing" -> {
                prefixIds.add(pp.path("cls").get(1).asInt());
                suffixIds.add(pp.path("sep").get(1).asInt());
            }
            default -> throw new TokenizerException(where + ": post_processor type '" + pp.path("type").asText()
                    + "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        List<Integer> ids = new ArrayList<>();
        if (addSpecialTokens) ids.addAll(prefixIds);
        for (AddedTokens.Segment seg : added.split(text)) {
            if (seg.id() >= 0) {
                ids.add(seg.id());
                continue;
            }
            Normalizers.Text n = normalizer.apply(new Normalizers.Text(seg.text(), true));
            if (n.text().isEmpty()) continue;
            boolean atStart = seg.start() == 0 && n.anchored();
            for (PreTokenizers.Split s : preTokenizer.apply(List.of(new PreTokenizers.Split(n.text(), atStart)))) {
                model.tokenize(s.text(), ids);
            }
        }
        if (addSpecialTokens) ids.addAll(suffixIds);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= idToToken.length || idToToken[id] == null) continue; // as tokenizers: no text
            if (skipSpecialTokens && specialIds.contains(id)) continue;
            tokens.add(idToToken[id]);
        }
        String text = String.join("", decoder.apply(tokens));
        return config != null && config.cleanUpSpaces() ? cleanUp(text) : text;
    }

    /** transformers' clean_up_tokenization, applied when tokenizer_config.json asks for it. */
    private static String cleanUp(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s").replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    @Override
    public int size() { return idToToken.length; }

    @Override
    public String token(int id) { return id >= 0 && id < idToToken.length ? idToToken[id] : null; }

    @Override
    public OptionalInt id(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public OptionalInt bosId() {
        if (config != null && config.bosToken() != null) return id(config.bosToken());
        return prefixIds.isEmpty() ? OptionalInt.empty() : OptionalInt.of(prefixIds.get(0));
    }

    @Override
    public OptionalInt eosId() {
        if (config != null && config.eosToken() != null) return id(config.eosToken());
        return OptionalInt.empty();
    }

    @Override
    public List<Integer> stopIds() {
        List<Integer> ids = new ArrayList<>();
        eosId().ifPresent(ids::add);
        if (config != null) config.generationEosIds().forEach(i -> { if (!ids.contains(i)) ids.add(i); });
        return ids;
    }

    @Override
    public Optional<ChatTemplate> chatTemplate() {
        if (config == null || config.chatTemplate() == null) return Optional.empty();
        return Optional.of(ChatTemplate.of(config.chatTemplate(), config.bosToken(), config.eosToken(),
                file.getParent().resolve("tokenizer_config.json").toString()));
    }

    @Override
    public String source() { return file.toString(); }

    @Override
    public String toString() {
        return "tokenizer.json BPE tokenizer (" + size() + " ids) from " + file;
    }
}
