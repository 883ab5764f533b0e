package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * tokenizer.json patterns ({@code {"String": "..."}} or {@code {"Regex": "..."}}) as Java regular expressions.
 * The tokenizers library's regexes are Oniguruma's, whose {@code \s}, {@code \d} and {@code \w} are Unicode-aware:
 * Java needs {@link Pattern#UNICODE_CHARACTER_CLASS} for the same meaning.
 */
final class Patterns {
    private Patterns() {}

    static Pattern of(JsonNode pattern, String where) {
        if (pattern.has("String")) return Pattern.compile(Pattern.quote(pattern.get("String").asText()));
        if (pattern.has("Regex")) return regex(pattern.get("Regex").asText(), where);
        throw new TokenizerException(where + ": pattern " + pattern + " is neither {\"String\": ...} nor {\"Regex\": ...}");
    }

    static Pattern regex(String regex, String where) {
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new TokenizerException(where + ": regex " + regex + " is not supported: " + e.getDescription(), e);
        }
    }
}
