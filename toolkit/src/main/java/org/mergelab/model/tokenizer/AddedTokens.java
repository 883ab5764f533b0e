package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * tokenizer.json's added_tokens (specials such as {@code <s>} and {@code <|im_start|>}): found in the raw text before
 * anything else runs, leftmost and then longest first, each becoming its own id; lstrip and rstrip absorb the
 * whitespace beside a match, single_word requires word boundaries around it. All are matched in the raw text: the
 * tokenizers library matches those marked normalized=true after normalization instead, which makes a difference only
 * for a normalizer that changes them (the special tokens of the supported families are all normalized=false).
 */
final class AddedTokens {
    record Token(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {}

    /** A stretch of the input: an added token's id, or text (id -1) starting at {@code start}. */
    record Segment(int id, String text, int start) {}

    final List<Token> tokens;
    private final Map<Character, List<Token>> byFirstChar = new HashMap<>();

    AddedTokens(List<Token> tokens) {
        this.tokens = List.copyOf(tokens);
        for (Token t : tokens) {
            if (!t.content().isEmpty()) byFirstChar.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        }
        byFirstChar.values().forEach(l -> l.sort(Comparator.comparingInt((Token t) -> t.content().length()).reversed()));
    }

    static AddedTokens parse(JsonNode arr) {
        List<Token> out = new ArrayList<>();
        for (JsonNode t : arr) {
            out.add(new Token(t.path("id").asInt(), t.path("content").asText(), t.path("special").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                    t.path("single_word").asBoolean(false)));
        }
        return new AddedTokens(out);
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        int textStart = 0, i = 0;
        while (i < text.length()) {
            Token hit = match(text, i);
            if (hit == null) {
                i++;
                continue;
            }
            int b = i, e = i + hit.content().length();
            if (hit.lstrip()) while (b > textStart && Character.isWhitespace(text.charAt(b - 1))) b--;
            if (hit.rstrip()) while (e < text.length() && Character.isWhitespace(text.charAt(e))) e++;
            if (b > textStart) out.add(new Segment(-1, text.substring(textStart, b), textStart));
            out.add(new Segment(hit.id(), hit.content(), b));
            textStart = i = e;
        }
        if (textStart < text.length()) out.add(new Segment(-1, text.substring(textStart), textStart));
        return out;
    }

    private Token match(String text, int i) {
        List<Token> candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) return null;
        for (Token t : candidates) {
            if (!text.startsWith(t.content(), i)) continue;
            if (t.singleWord()) {
                int end = i + t.content().length();
                boolean before = i == 0 || !Character.isLetterOrDigit(text.charAt(i - 1));
                boolean after = end == text.length() || !Character.isLetterOrDigit(text.charAt(end));
                if (!before || !after) continue;
            }
            return t;
        }
        return null;
    }
}
