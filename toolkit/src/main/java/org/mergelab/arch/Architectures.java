package org.mergelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The architectures MergeLab knows, read from the JSON files listed in {@code org/mergelab/arch/index.txt}. */
public final class Architectures {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<Architecture> KNOWN = load();

    private Architectures() {}

    public static List<Architecture> all() {
        return KNOWN;
    }

    /** The architecture of a model, by {@code architectures[0]} in its config.json, disambiguated by model_type. */
    public static Architecture forConfig(JsonNode config) {
        JsonNode names = config.get("architectures");
        if (names == null || !names.isArray() || names.size() != 1) {
            throw new IllegalArgumentException("config.json must list exactly one entry in 'architectures' (found "
                    + names + ")");
        }
        String cls = names.get(0).asText();
        String modelType = config.path("model_type").asText("");
        List<Architecture> matches = KNOWN.stream().filter(a -> a.classNames().contains(cls)).toList();
        if (matches.isEmpty()) {
            throw new IllegalArgumentException("architecture " + cls + " is not supported; supported: "
                    + String.join(", ", KNOWN.stream().flatMap(a -> a.classNames().stream()).toList()));
        }
        return matches.stream().filter(a -> a.modelType().equals(modelType)).findFirst().orElse(matches.get(0));
    }

    /** Whether MergeLab has a description for this config's {@code architectures[0]}. */
    public static boolean isKnown(JsonNode config) {
        JsonNode names = config.get("architectures");
        if (names == null || !names.isArray() || names.size() != 1) return false;
        String cls = names.get(0).asText();
        return KNOWN.stream().anyMatch(a -> a.classNames().contains(cls));
    }

    public static Architecture byName(String name) {
        return KNOWN.stream().filter(a -> a.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no architecture named " + name));
    }

    private static List<Architecture> load() {
        List<Architecture> out = new ArrayList<>();
        try (InputStream index = Architectures.class.getResourceAsStream("index.txt")) {
            if (index == null) throw new IllegalStateException("org/mergelab/arch/index.txt is missing from the jar");
            for (String line : new String(index.readAllBytes()).split("\n")) {
                String file = line.strip();
                if (file.isEmpty() || file.startsWith("#")) continue;
                try (InputStream in = Architectures.class.getResourceAsStream(file)) {
                    if (in == null) throw new IllegalStateException("architecture file " + file + " is missing");
                    out.add(parse(file.replaceFirst("\\.json$", ""), JSON.readTree(in)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Collections.unmodifiableList(out);
    }

    static Architecture parse(String name, JsonNode n) {
        List<String> classes = new ArrayList<>();
        n.path("architectures").forEach(c -> classes.add(c.asText()));
        return new Architecture(name, n.path("model_type").asText(), List.copyOf(classes),
                n.path("num_layers_key").asText("num_hidden_layers"), weights(n.path("pre_weights")),
                weights(n.path("layer_weights")), weights(n.path("post_weights")));
    }

    private static List<WeightTemplate> weights(JsonNode arr) {
        List<WeightTemplate> out = new ArrayList<>();
        for (JsonNode w : arr) {
            out.add(new WeightTemplate(w.get("name").asText(), w.path("vocabulary_axis").asInt(-1),
                    w.path("optional").asBoolean(false), strings(w.path("aliases")), strings(w.path("tied_names"))));
        }
        return List.copyOf(out);
    }

    private static List<String> strings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(s -> out.add(s.asText()));
        return List.copyOf(out);
    }
}
