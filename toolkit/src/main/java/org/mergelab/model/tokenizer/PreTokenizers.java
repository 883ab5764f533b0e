package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizers of tokenizer.json that the supported tokenizers use: Sequence, Split, ByteLevel, Metaspace,
 * Digits, Whitespace and WhitespaceSplit, with the tokenizers library's split behaviours.
 */
final class PreTokenizers {
    /** A piece of text; {@code atStart}: it begins at offset 0 of the original text. */
    record Split(String text, boolean atStart) {}

    interface PreTokenizer {
        List<Split> apply(List<Split> splits);
    }

    /** GPT-2's pattern, which ByteLevel applies when use_regex is true. */
    static final Pattern GPT2 = Patterns.regex(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "ByteLevel");

    static final PreTokenizer NONE = s -> s;

    private PreTokenizers() {}

    static PreTokenizer parse(JsonNode n, String where) {
        if (n == null || n.isNull()) return NONE;
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence": {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonNode s : n.path("pretokenizers")) steps.add(parse(s, where));
                return splits -> {
                    for (PreTokenizer p : steps) splits = p.apply(splits);
                    return splits;
                };
            }
            case "Split": {
                Pattern p = Patterns.of(n.path("pattern"), where);
                Behavior b = Behavior.of(n.path("behavior").asText("Isolated"), where);
                boolean invert = n.path("invert").asBoolean(false);
                return each(s -> split(s, regexParts(p, s.text(), invert), b));
            }
            case "ByteLevel": {
                boolean prefix = n.path("add_prefix_space").asBoolean(true);
                boolean regex = n.path("use_regex").asBoolean(true);
                return splits -> {
                    List<Split> out = new ArrayList<>();
                    for (Split s : splits) {
                        if (s.text().isEmpty()) continue;
                        Split x = prefix && !s.text().startsWith(" ") ? new Split(" " + s.text(), s.atStart()) : s;
                        List<Split> parts = regex ? split(x, regexParts(GPT2, x.text(), false), Behavior.ISOLATED)
                                : List.of(x);
                        for (Split part : parts) out.add(new Split(ByteLevel.encode(part.text()), part.atStart()));
                    }
                    return out;
                };
            }
            case "Metaspace": {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.has("prepend_scheme") ? n.get("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                boolean splitOnRep = n.path("split").asBoolean(true);
                return splits -> {
                    List<Split> out = new ArrayList<>();
                    for (Split s : splits) {
                        if (s.text().isEmpty()) continue;
                        String t = s.text().replace(" ", rep);
                        boolean prepend = !t.startsWith(rep) && (scheme.equals("always")
                                || scheme.equals("first") && s.atStart());
                        if (prepend) t = rep + t;
                        Split x = new Split(t, s.atStart());
                        if (splitOnRep) {
                            out.addAll(split(x, regexParts(Pattern.compile(Pattern.quote(rep)), t, false),
                                    Behavior.MERGED_WITH_NEXT));
                        } else {
                            out.add(x);
                        }
                    }
                    return out;
                };
            }
            case "Digits": {
                boolean individual = n.path("individual_digits").asBoolean(false);
                return each(s -> split(s, charParts(s.text(), PreTokenizers::isNumeric, individual),
                        individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS));
            }
            case "Whitespace":
                return each(s -> split(s, regexParts(Patterns.regex("\\w+|[^\\w\\s]+", where), s.text(), true),
                        Behavior.REMOVED));
            case "WhitespaceSplit":
                return each(s -> split(s, charParts(s.text(), Character::isWhitespace, false), Behavior.REMOVED));
            default:
                throw new TokenizerException(where + ": pre-tokenizer type '" + type + "' is not supported (supported: "
                        + "Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit)");
        }
    }

    private static PreTokenizer each(java.util.function.Function<Split, List<Split>> f) {
        return splits -> {
            List<Split> out = new ArrayList<>();
            for (Split s : splits) out.addAll(f.apply(s));
            return out;
        };
    }

    static boolean isNumeric(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** The tokenizers library's SplitDelimiterBehavior. */
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior of(String s, String where) {
            return switch (s) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw new TokenizerException(where + ": split behavior '" + s + "' is not supported");
            };
        }
    }

    /** A stretch of the text: [start, end), and whether it is a delimiter (a match). */
    private record Part(int start, int end, boolean match) {}

    private static List<Part> regexParts(Pattern p, String text, boolean invert) {
        List<Part> parts = new ArrayList<>();
        Matcher m = p.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) parts.add(new Part(last, m.start(), invert));
            parts.add(new Part(m.start(), m.end(), !invert));
            last = m.end();
        }
        if (last < text.length()) parts.add(new Part(last, text.length(), invert));
        return parts;
    }

    /** Single characters matching {@code isDelimiter} as delimiters (each alone, or runs when not individual). */
    private static List<Part> charParts(String text, IntPredicate isDelimiter, boolean individual) {
        List<Part> parts = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            boolean d = isDelimiter.test(cp);
            if (!d || !individual) {
                while (next < text.length() && isDelimiter.test(text.codePointAt(next)) == d) {
                    next += Character.charCount(text.codePointAt(next));
                }
            }
            parts.add(new Part(i, next, d));
            i = next;
        }
        return parts;
    }

    private static List<Split> split(Split s, List<Part> parts, Behavior b) {
        String text = s.text();
        List<int[]> ranges = new ArrayList<>();
        switch (b) {
            case REMOVED -> parts.stream().filter(p -> !p.match()).forEach(p -> ranges.add(new int[] {p.start(), p.end()}));
            case ISOLATED -> parts.forEach(p -> ranges.add(new int[] {p.start(), p.end()}));
            case CONTIGUOUS -> {
                boolean previousMatched = false;
                for (Part p : parts) {
                    if (p.match() && previousMatched) ranges.get(ranges.size() - 1)[1] = p.end();
                    else ranges.add(new int[] {p.start(), p.end()});
                    previousMatched = p.match();
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                for (Part p : parts) {
                    if (p.match() && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[1] = p.end();
                    else ranges.add(new int[] {p.start(), p.end()});
                }
            }
            case MERGED_WITH_NEXT -> {
                int pending = -1;
                for (Part p : parts) {
                    if (p.match()) {
                        if (pending < 0) pending = p.start();
                        else { ranges.add(new int[] {pending, p.start()}); pending = p.start(); }
                    } else {
                        ranges.add(new int[] {pending >= 0 ? pending : p.start(), p.end()});
                        pending = -1;
                    }
                }
                if (pending >= 0) ranges.add(new int[] {pending, text.length()});
            }
        }
        List<Split> out = new ArrayList<>(ranges.size());
        for (int[] r : ranges) {
            if (r[1] > r[0]) out.add(new Split(text.substring(r[0], r[1]), s.atStart() && r[0] == 0));
        }
        return out;
    }
}
