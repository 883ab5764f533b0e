package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The decoders of tokenizer.json (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence): each maps
 * the list of token strings to a new list, as the tokenizers library's decode_chain does; the result is joined.
 */
final class Decoders {
    interface Decoder {
        List<String> apply(List<String> tokens);
    }

    static final Decoder NONE = t -> t;

    private Decoders() {}

    static Decoder parse(JsonNode n, String where) {
        if (n == null || n.isNull()) return NONE;
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence": {
                List<Decoder> steps = new ArrayList<>();
                for (JsonNode d : n.path("decoders")) steps.add(parse(d, where));
                return tokens -> {
                    for (Decoder d : steps) tokens = d.apply(tokens);
                    return tokens;
                };
            }
            case "ByteLevel":
                return Decoders::byteLevel;
            case "Metaspace": {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.has("prepend_scheme") ? n.get("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                return tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        String t = tokens.get(i).replace(rep, " ");
                        if (i == 0 && !scheme.equals("never") && t.startsWith(" ")) t = t.substring(1);
                        out.add(t);
                    }
                    return out;
                };
            }
            case "Replace": {
                Pattern p = Patterns.of(n.path("pattern"), where);
                String content = java.util.regex.Matcher.quoteReplacement(n.path("content").asText());
                return tokens -> tokens.stream().map(t -> p.matcher(t).replaceAll(content)).toList();
            }
            case "ByteFallback":
                return Decoders::byteFallback;
            case "Fuse":
                return tokens -> List.of(String.join("", tokens));
            case "Strip": {
                String content = n.path("content").asText(" ");
                int start = n.path("start").asInt(0), stop = n.path("stop").asInt(0);
                return tokens -> tokens.stream().map(t -> strip(t, content, start, stop)).toList();
            }
            default:
                throw new TokenizerException(where + ": decoder type '" + type + "' is not supported (supported: "
                        + "Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)");
        }
    }

    private static List<String> byteLevel(List<String> tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String t : tokens) {
            byte[] mapped = new byte[t.length()];
            int k = 0;
            boolean ok = true;
            for (int i = 0; i < t.length(); ) {
                int cp = t.codePointAt(i);
                int b = ByteLevel.byteOf(cp);
                if (b < 0) {
                    ok = false;
                    break;
                }
                mapped[k++] = (byte) b;
                i += Character.charCount(cp);
            }
            if (ok) bytes.write(mapped, 0, k);
            else bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
        }
        return List.of(new String(bytes.toByteArray(), StandardCharsets.UTF_8));
    }

    private static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>();
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        for (String t : tokens) {
            if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                try {
                    pending.write(Integer.parseInt(t.substring(3, 5), 16));
                    continue;
                } catch (NumberFormatException e) {
                    // not a byte token after all
                }
            }
            flush(pending, out);
            out.add(t);
        }
        flush(pending, out);
        return out;
    }

    /** Pending byte tokens as one string, or one U+FFFD per byte when they are not valid UTF-8 (as tokenizers). */
    private static void flush(ByteArrayOutputStream pending, List<String> out) {
        if (pending.size() == 0) return;
        byte[] b = pending.toByteArray();
        pending.reset();
        try {
            out.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString());
        } catch (CharacterCodingException e) {
            for (int i = 0; i < b.length; i++) out.add("\uFFFD");
        }
    }

    private static String strip(String t, String content, int start, int stop) {
        int b = 0, e = t.length();
        for (int i = 0; i < start && t.startsWith(content, b) && b < e; i++) b += content.length();
        for (int i = 0; i < stop && e - content.length() >= b && t.startsWith(content, e - content.length()); i++) {
            e -= content.length();
        }
        return t.substring(b, e);
    }
}
