package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The normalizers of tokenizer.json that the supported tokenizers use: Sequence, Replace, Prepend, Strip, NFC, NFD,
 * NFKC, NFKD, Lowercase. Besides the text, each keeps track of one alignment fact the pre-tokenizers need: whether
 * the text still begins with the original text's first character (Metaspace's "first" scheme depends on it).
 */
final class Normalizers {
    /** Text being normalized; {@code anchored}: its first character comes from original offset 0. */
    record Text(String text, boolean anchored) {}

    interface Normalizer {
        Text apply(Text t);
    }

    static final Normalizer NONE = t -> t;

    private Normalizers() {}

    static Normalizer parse(JsonNode n, String where) {
        if (n == null || n.isNull()) return NONE;
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence": {
                List<Normalizer> steps = new ArrayList<>();
                for (JsonNode s : n.path("normalizers")) steps.add(parse(s, where));
                return t -> {
                    for (Normalizer s : steps) t = s.apply(t);
                    return t;
                };
            }
            case "Replace": {
                Pattern p = Patterns.of(n.path("pattern"), where);
                String content = n.path("content").asText();
                String replacement = Matcher.quoteReplacement(content);
                return t -> {
                    Matcher m = p.matcher(t.text());
                    boolean removesFirst = content.isEmpty() && m.lookingAt() && m.end() > 0;
                    return new Text(m.reset().replaceAll(replacement), t.anchored() && !removesFirst);
                };
            }
            case "Prepend": {
                String content = n.path("prepend").asText();
                return t -> t.text().isEmpty() ? t : new Text(content + t.text(), t.anchored());
            }
            case "Strip": {
                boolean left = n.path("strip_left").asBoolean(true), right = n.path("strip_right").asBoolean(true);
                return t -> {
                    String s = t.text();
                    int b = 0, e = s.length();
                    if (left) while (b < e && Character.isWhitespace(s.charAt(b))) b++;
                    if (right) while (e > b && Character.isWhitespace(s.charAt(e - 1))) e--;
                    return new Text(s.substring(b, e), t.anchored() && b == 0);
                };
            }
            case "NFC": return form(java.text.Normalizer.Form.NFC);
            case "NFD": return form(java.text.Normalizer.Form.NFD);
            case "NFKC": return form(java.text.Normalizer.Form.NFKC);
            case "NFKD": return form(java.text.Normalizer.Form.NFKD);
            case "Lowercase": return t -> new Text(t.text().toLowerCase(java.util.Locale.ROOT), t.anchored());
            default:
                throw new TokenizerException(where + ": normalizer type '" + type + "' is not supported (supported: "
                        + "Sequence, Replace, Prepend, Strip, NFC, NFD, NFKC, NFKD, Lowercase)");
        }
    }

    private static Normalizer form(java.text.Normalizer.Form f) {
        return t -> new Text(java.text.Normalizer.normalize(t.text(), f), t.anchored());
    }
}
