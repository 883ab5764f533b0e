package org.mergelab.merge.vocab;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code chat_template} setting, resolved to the text of a Jinja template as mergekit 0.1.5 does: {@code auto}
 * takes the template most of the models' tokenizers have (stripped of surrounding whitespace; the first of equally
 * common ones); a built-in name ({@link #BUILT_IN}) takes MergeLab's template of that name, which renders every
 * conversation exactly as mergekit's does; anything else is a template itself and must be at least 20 characters
 * long and contain '{'.
 */
public final class ChatTemplates {
    public static final List<String> BUILT_IN = List.of("alpaca", "chatml", "llama3", "mistral", "exaone");

    private ChatTemplates() {}

    /** The text of a built-in template. */
    public static Optional<String> builtIn(String name) {
        if (!BUILT_IN.contains(name)) return Optional.empty();
        try (InputStream in = ChatTemplates.class.getResourceAsStream("chat-templates/" + name + ".jinja")) {
            if (in == null) throw new IllegalStateException("chat template " + name + " is missing from the jar");
            return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Resolves {@code setting}.
     *
     * @param modelTemplates each model's chat template in recipe order (null for none), read only for {@code auto}
     * @return the template, or empty for {@code auto} when no model has one
     * @throws IllegalArgumentException for a setting that is neither a built-in name nor a plausible template
     */
    public static Optional<String> resolve(String setting, java.util.function.Supplier<List<String>> modelTemplates) {
        if (setting.equals("auto")) {
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (String t : modelTemplates.get()) {
                if (t != null && !t.strip().isEmpty()) counts.merge(t.strip(), 1, Integer::sum);
            }
            return counts.entrySet().stream().reduce((a, b) -> b.getValue() > a.getValue() ? b : a)
                    .map(Map.Entry::getKey);
        }
        if (setting.length() < 256 && !setting.contains("\n") && !setting.contains("{")) {
            Optional<String> t = builtIn(setting);
            if (t.isPresent()) return t;
        }
        if (setting.length() < 20 || !setting.contains("{")) {
            throw new IllegalArgumentException("invalid chat template '" + setting + "': expected auto, one of "
                    + String.join(", ", BUILT_IN) + ", or a Jinja template (at least 20 characters, with '{')");
        }
        return Optional.of(setting);
    }
}
