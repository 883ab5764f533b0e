package org.mergelab.recipe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.mergelab.io.DType;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads a mergekit recipe from YAML node by node, so that every value keeps its line and every mistake is reported
 * where it was made.
 */
final class RecipeParser {
    private static final Set<String> TOP_KEYS = Set.of("merge_method", "base_model", "dtype", "out_dtype", "parameters",
            "models", "slices", "modules", "tokenizer_source", "tokenizer", "chat_template");

    private final String where;
    private final List<String> warnings = new ArrayList<>();
    private final ScalarValues scalars = new ScalarValues();

    private RecipeParser(String where) {
        this.where = where;
    }

    static Recipe load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new RecipeException(file, 0, "cannot read recipe: " + e.getMessage());
        }
        return parse(text, file);
    }

    static Recipe parse(String text, Path file) {
        return new RecipeParser(file == null ? "recipe" : file.toString()).parseText(text, file);
    }

    private Recipe parseText(String text, Path file) {
        Node root;
        try {
            LoaderOptions options = new LoaderOptions();
            root = new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(),
                    options, new PyYamlResolver()).compose(new java.io.StringReader(text));
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 0;
            throw new RecipeException(where, line, "YAML syntax error: " + e.getProblem());
        } catch (YAMLException e) {
            throw new RecipeException(where, 0, "YAML error: " + e.getMessage());
        }
        if (!(root instanceof MappingNode map)) {
            throw new RecipeException(where, root == null ? 0 : line(root), "a recipe must be a YAML mapping");
        }
        Map<String, NodeTuple> top = entries(map);
        for (Map.Entry<String, NodeTuple> e : top.entrySet()) {
            if (!TOP_KEYS.contains(e.getKey())) {
                warn(e.getValue().getKeyNode(), "unknown key '" + e.getKey() + "' is ignored");
            }
        }
        NodeTuple method = top.get("merge_method");
        if (method == null) throw new RecipeException(where, 0, "merge_method is missing");
        String mergeMethod = string(method.getValueNode(), "merge_method");
        ModelRef base = top.containsKey("base_model") ? modelRef(top.get("base_model").getValueNode()) : null;
        int baseLine = top.containsKey("base_model") ? line(top.get("base_model").getValueNode()) : 0;
        DType dtype = dtype(top.get("dtype"));
        DType outDtype = dtype(top.get("out_dtype"));
        Map<String, Setting> parameters = top.containsKey("parameters")
                ? parameters(top.get("parameters").getValueNode()) : Map.of();
        int parametersLine = top.containsKey("parameters") ? line(top.get("parameters").getKeyNode()) : 0;

        int forms = 0;
        for (String k : List.of("models", "slices", "modules")) {
            if (top.containsKey(k) && !isEmpty(top.get(k).getValueNode())) forms++;
        }
        if (forms != 1) {
            throw new RecipeException(where, 0, "exactly one of 'models', 'slices' or 'modules' must be present");
        }
        List<Recipe.ModelEntry> models = top.containsKey("models") ? models(top.get("models").getValueNode()) : null;
        List<Recipe.Slice> slices = top.containsKey("slices") ? slices(top.get("slices").getValueNode()) : null;
        List<Recipe.Module> modules = top.containsKey("modules") ? modules(top.get("modules").getValueNode()) : null;

        TokenizerSettings tokenizer = null;
        if (top.containsKey("tokenizer_source") && !isEmpty(top.get("tokenizer_source").getValueNode())) {
            Node n = top.get("tokenizer_source").getValueNode();
            tokenizer = new TokenizerSettings(tokenizerSource(n, "tokenizer_source"), Map.of(), null, line(n));
        }
        if (top.containsKey("tokenizer") && !isEmpty(top.get("tokenizer").getValueNode())) {
            if (tokenizer != null) {
                throw new RecipeException(where, line(top.get("tokenizer").getKeyNode()),
                        "cannot specify both tokenizer_source (line " + tokenizer.line() + ") and tokenizer");
            }
            tokenizer = tokenizerBlock(top.get("tokenizer").getValueNode());
        }
        String chatTemplate = null;
        int chatTemplateLine = 0;
        if (top.containsKey("chat_template") && !isEmpty(top.get("chat_template").getValueNode())) {
            chatTemplate = string(top.get("chat_template").getValueNode(), "chat_template");
            chatTemplateLine = line(top.get("chat_template").getValueNode());
        }
        return new Recipe(file, text, mergeMethod, line(method.getValueNode()), base, baseLine, dtype, outDtype,
                parameters, parametersLine, models, slices, modules, tokenizer, chatTemplate, chatTemplateLine, warnings);
    }

    // ---- tokenizer_source / tokenizer: (mergekit's TokenizerConfig) ----

    private TokenizerSettings.Source tokenizerSource(Node n, String what) {
        String s = string(n, what);
        if (s.equals("union")) return new TokenizerSettings.Union();
        if (s.equals("base")) return new TokenizerSettings.Base();
        return new TokenizerSettings.FromModel(modelRef(n));
    }

    private TokenizerSettings tokenizerBlock(Node node) {
        Map<String, NodeTuple> e = entries(mapping(node, "tokenizer"));
        for (Map.Entry<String, NodeTuple> k : e.entrySet()) {
            if (!Set.of("source", "tokens", "pad_to_multiple_of").contains(k.getKey())) {
                warn(k.getValue().getKeyNode(), "unknown key '" + k.getKey() + "' in tokenizer is ignored (expected"
                        + " source, tokens, pad_to_multiple_of)");
            }
        }
        TokenizerSettings.Source source = e.containsKey("source") && !isEmpty(e.get("source").getValueNode())
                ? tokenizerSource(e.get("source").getValueNode(), "tokenizer source") : new TokenizerSettings.Union();
        Map<String, TokenizerSettings.TokenSetting> tokens = new java.util.LinkedHashMap<>();
        if (e.containsKey("tokens") && !isEmpty(e.get("tokens").getValueNode())) {
            for (Map.Entry<String, NodeTuple> t : entries(mapping(e.get("tokens").getValueNode(), "tokens")).entrySet()) {
                tokens.put(t.getKey(), tokenSetting(t.getKey(), t.getValue()));
            }
        }
        Integer pad = null;
        if (e.containsKey("pad_to_multiple_of") && !isEmpty(e.get("pad_to_multiple_of").getValueNode())) {
            Node p = e.get("pad_to_multiple_of").getValueNode();
            pad = integer(p, "pad_to_multiple_of");
            if (pad < 1) throw new RecipeException(where, line(p), "pad_to_multiple_of must be a positive integer");
        }
        return new TokenizerSettings(source, java.util.Collections.unmodifiableMap(tokens), pad, line(node));
    }

    private TokenizerSettings.TokenSetting tokenSetting(String token, NodeTuple t) {
        Node v = t.getValueNode();
        int at = line(t.getKeyNode());
        if (isEmpty(v)) return new TokenizerSettings.TokenSetting(null, false, at);
        String what = "token '" + token + "'";
        Map<String, NodeTuple> e = entries(mapping(v, what));
        checkKeys(e, Set.of("source", "force"), what);
        boolean force = false;
        if (e.containsKey("force")) {
            Object f = scalars.plain(e.get("force").getValueNode());
            if (!(f instanceof Boolean b)) {
                throw new RecipeException(where, line(e.get("force").getValueNode()), what + ": force must be true or false");
            }
            force = b;
        }
        TokenizerSettings.EmbeddingSource source = null;
        if (e.containsKey("source") && !isEmpty(e.get("source").getValueNode())) {
            Node s = e.get("source").getValueNode();
            if (s instanceof MappingNode m && entries(m).containsKey("kind")) {
                Map<String, NodeTuple> k = entries(m);
                String kind = string(k.get("kind").getValueNode(), "kind");
                if (kind.equals("zero")) {
                    checkKeys(k, Set.of("kind"), what + " source of kind zero");
                    source = new TokenizerSettings.Zero();
                } else if (kind.equals("model_token")) {
                    checkKeys(k, Set.of("kind", "model", "token", "token_id"), what + " source of kind model_token");
                    if (!k.containsKey("model")) throw new RecipeException(where, line(m), what + ": model_token needs 'model'");
                    boolean hasToken = k.containsKey("token") && !isEmpty(k.get("token").getValueNode());
                    boolean hasId = k.containsKey("token_id") && !isEmpty(k.get("token_id").getValueNode());
                    if (hasToken == hasId) {
                        throw new RecipeException(where, line(m), what + ": model_token needs exactly one of token and"
                                + " token_id");
                    }
                    source = new TokenizerSettings.ModelToken(modelRef(k.get("model").getValueNode()),
                            hasToken ? string(k.get("token").getValueNode(), "token") : null,
                            hasId ? integer(k.get("token_id").getValueNode(), "token_id") : null);
                } else {
                    throw new RecipeException(where, line(k.get("kind").getValueNode()), what + ": unknown source kind '"
                            + kind + "' (expected model_token or zero)");
                }
            } else {
                source = new TokenizerSettings.ModelRow(modelRef(s));
            }
        }
        if (force && source == null) {
            throw new RecipeException(where, at, what + ": force needs a source to take the row from");
        }
        return new TokenizerSettings.TokenSetting(source, force, at);
    }

    private List<Recipe.ModelEntry> models(Node node) {
        List<Recipe.ModelEntry> out = new ArrayList<>();
        for (Node item : sequence(node, "models")) {
            Map<String, NodeTuple> e = entries(mapping(item, "a models: entry"));
            checkKeys(e, Set.of("model", "parameters"), "a models: entry");
            NodeTuple model = e.get("model");
            if (model == null) throw new RecipeException(where, line(item), "a models: entry needs 'model'");
            out.add(new Recipe.ModelEntry(modelRef(model.getValueNode()), optionalParameters(e), line(item)));
        }
        return List.copyOf(out);
    }

    private List<Recipe.Slice> slices(Node node) {
        List<Recipe.Slice> out = new ArrayList<>();
        for (Node item : sequence(node, "slices")) {
            Map<String, NodeTuple> e = entries(mapping(item, "a slices: entry"));
            checkKeys(e, Set.of("sources", "base_model", "parameters", "residual_weight"), "a slices: entry");
            if (e.containsKey("residual_weight")) {
                warn(e.get("residual_weight").getKeyNode(), "residual_weight is ignored (mergekit ignores it too)");
            }
            NodeTuple sources = e.get("sources");
            if (sources == null) throw new RecipeException(where, line(item), "a slice needs 'sources'");
            List<Recipe.SliceSource> srcs = new ArrayList<>();
            for (Node s : sequence(sources.getValueNode(), "sources")) {
                Map<String, NodeTuple> se = entries(mapping(s, "a slice source"));
                checkKeys(se, Set.of("model", "layer_range", "parameters"), "a slice source");
                NodeTuple model = se.get("model");
                NodeTuple range = se.get("layer_range");
                if (model == null || range == null) {
                    throw new RecipeException(where, line(s), "a slice source needs 'model' and 'layer_range'");
                }
                List<Node> r = sequence(range.getValueNode(), "layer_range");
                if (r.size() != 2) {
                    throw new RecipeException(where, line(range.getValueNode()),
                            "layer_range must be [start, end) with two integers");
                }
                int start = integer(r.get(0), "layer_range"), end = integer(r.get(1), "layer_range");
                if (start < 0 || end < start) {
                    throw new RecipeException(where, line(range.getValueNode()),
                            "layer_range [" + start + ", " + end + "] is not an increasing range of layers");
                }
                srcs.add(new Recipe.SliceSource(modelRef(model.getValueNode()), start, end, optionalParameters(se),
                        line(s)));
            }
            if (srcs.isEmpty()) throw new RecipeException(where, line(item), "a slice needs at least one source");
            ModelRef base = e.containsKey("base_model") ? modelRef(e.get("base_model").getValueNode()) : null;
            out.add(new Recipe.Slice(List.copyOf(srcs), base, optionalParameters(e), line(item)));
        }
        return List.copyOf(out);
    }

    private List<Recipe.Module> modules(Node node) {
        List<Recipe.Module> out = new ArrayList<>();
        for (Map.Entry<String, NodeTuple> m : entries(mapping(node, "modules")).entrySet()) {
            Map<String, NodeTuple> e = entries(mapping(m.getValue().getValueNode(), "module " + m.getKey()));
            checkKeys(e, Set.of("models", "slices", "parameters"), "module " + m.getKey());
            out.add(new Recipe.Module(m.getKey(), e.containsKey("models") ? models(e.get("models").getValueNode()) : null,
                    e.containsKey("slices") ? slices(e.get("slices").getValueNode()) : null, optionalParameters(e),
                    line(m.getValue().getKeyNode())));
        }
        return List.copyOf(out);
    }

    private Map<String, Setting> optionalParameters(Map<String, NodeTuple> e) {
        NodeTuple p = e.get("parameters");
        return p == null || isEmpty(p.getValueNode()) ? Map.of() : parameters(p.getValueNode());
    }

    private Map<String, Setting> parameters(Node node) {
        if (isEmpty(node)) return Map.of();
        Map<String, Setting> out = new LinkedHashMap<>();
        for (Map.Entry<String, NodeTuple> e : entries(mapping(node, "parameters")).entrySet()) {
            out.put(e.getKey(), setting(e.getValue().getValueNode(), e.getKey()));
        }
        return out;
    }

    private Setting setting(Node node, String param) {
        if (node instanceof ScalarNode s) {
            return new Setting.Scalar(scalars.plain(s), line(s));
        }
        if (node instanceof MappingNode m) {
            // One bare {filter, value} mapping: mergekit 0.1.5 treats it as a one-entry list.
            return new Setting.Conditionals(List.of(conditional(m, param)), line(m));
        }
        List<Node> items = ((SequenceNode) node).getValue();
        if (items.stream().allMatch(i -> i instanceof ScalarNode)) {
            List<Object> values = new ArrayList<>();
            for (Node i : items) values.add(scalars.plain(i));
            return new Setting.Gradient(values, line(node));
        }
        if (items.stream().allMatch(i -> i instanceof MappingNode)) {
            List<Setting.Conditional> conds = new ArrayList<>();
            for (Node i : items) conds.add(conditional((MappingNode) i, param));
            return new Setting.Conditionals(conds, line(node));
        }
        throw new RecipeException(where, line(node), "parameter '" + param
                + "' mixes plain values and {filter, value} entries in one list");
    }

    private Setting.Conditional conditional(MappingNode m, String param) {
        Map<String, NodeTuple> e = entries(m);
        checkKeys(e, Set.of("filter", "value"), "a conditional value of '" + param + "'");
        NodeTuple value = e.get("value");
        if (value == null) throw new RecipeException(where, line(m), "a conditional value of '" + param + "' needs 'value'");
        Node v = value.getValueNode();
        Setting inner;
        if (v instanceof ScalarNode s) {
            inner = new Setting.Scalar(scalars.plain(s), line(s));
        } else if (v instanceof SequenceNode seq && seq.getValue().stream().allMatch(i -> i instanceof ScalarNode)) {
            List<Object> values = new ArrayList<>();
            for (Node i : seq.getValue()) values.add(scalars.plain(i));
            inner = new Setting.Gradient(values, line(seq));
        } else {
            throw new RecipeException(where, line(v), "the value of a conditional '" + param
                    + "' must be a number, a boolean, a string or a list of them");
        }
        String filter = null;
        if (e.containsKey("filter")) {
            Object f = scalars.plain(e.get("filter").getValueNode());
            filter = f == null ? null : f.toString();
        }
        return new Setting.Conditional(filter, inner, line(m));
    }

    private ModelRef modelRef(Node node) {
        Node n = node;
        if (node instanceof MappingNode m) {
            // mergekit's dict form: {model: path, ...}
            Map<String, NodeTuple> e = entries(m);
            if (!e.containsKey("model")) throw new RecipeException(where, line(m), "a model reference needs 'model'");
            for (String k : e.keySet()) {
                if (!k.equals("model")) warn(e.get(k).getKeyNode(), "model reference key '" + k + "' is ignored");
            }
            n = e.get("model").getValueNode();
        }
        String text = string(n, "model");
        try {
            return ModelRef.parse(text);
        } catch (IllegalArgumentException ex) {
            throw new RecipeException(where, line(n), ex.getMessage());
        }
    }

    private DType dtype(NodeTuple t) {
        if (t == null) return null;
        String s = string(t.getValueNode(), t.getKeyNode() instanceof ScalarNode k ? k.getValue() : "dtype");
        try {
            DType d = DType.parse(s);
            if (!d.isFloating() || d == DType.F8_E4M3 || d == DType.F8_E5M2) {
                throw new IllegalArgumentException("unsupported dtype '" + s + "'");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new RecipeException(where, line(t.getValueNode()), e.getMessage());
        }
    }

    private Map<String, NodeTuple> entries(MappingNode m) {
        Map<String, NodeTuple> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                throw new RecipeException(where, line(t.getKeyNode()), "mapping keys must be plain strings");
            }
            if (out.containsKey(k.getValue())) {
                warn(k, "key '" + k.getValue() + "' appears twice; the last one is used");
            }
            out.put(k.getValue(), t);
        }
        return out;
    }

    private void checkKeys(Map<String, NodeTuple> e, Set<String> allowed, String what) {
        for (Map.Entry<String, NodeTuple> k : e.entrySet()) {
            if (!allowed.contains(k.getKey())) {
                throw new RecipeException(where, line(k.getValue().getKeyNode()), "unknown key '" + k.getKey() + "' in "
                        + what + " (expected " + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private MappingNode mapping(Node n, String what) {
        if (n instanceof MappingNode m) return m;
        throw new RecipeException(where, line(n), what + " must be a mapping");
    }

    private List<Node> sequence(Node n, String what) {
        if (n instanceof SequenceNode s) return s.getValue();
        throw new RecipeException(where, line(n), what + " must be a list");
    }

    private String string(Node n, String what) {
        Object v = n instanceof ScalarNode ? scalars.plain(n) : null;
        if (v == null || v instanceof Map || v instanceof List) {
            throw new RecipeException(where, line(n), what + " must be a single value");
        }
        return v.toString();
    }

    private int integer(Node n, String what) {
        Object v = n instanceof ScalarNode ? scalars.plain(n) : null;
        if (v instanceof Number num && num.doubleValue() == Math.rint(num.doubleValue())) return num.intValue();
        throw new RecipeException(where, line(n), what + " must hold integers");
    }

    private static boolean isEmpty(Node n) {
        return n == null || n instanceof ScalarNode s && (s.getValue().isEmpty() || s.getValue().equals("null")
                || s.getValue().equals("~"));
    }

    private void warn(Node at, String message) {
        warnings.add(where + " line " + line(at) + ": " + message);
    }

    static int line(Node n) {
        return n.getStartMark() == null ? 0 : n.getStartMark().getLine() + 1;
    }

    /**
     * PyYAML's YAML 1.1 float rule, which mergekit's recipes are read with: a float needs a '.', and an exponent needs
     * its sign, so "1e-4" and "1.0e4" stay strings. SnakeYAML 2 also reads "1e-4" as a float; without this, such a
     * value would differ from mergekit wherever a string is kept (model names, filters, string parameters).
     */
    private static final class PyYamlResolver extends Resolver {
        private static final Pattern PY_FLOAT = Pattern.compile("^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?"
                + "|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*"
                + "|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$");

        @Override
        public Tag resolve(NodeId kind, String value, boolean implicit) {
            Tag tag = super.resolve(kind, value, implicit);
            if (implicit && Tag.FLOAT.equals(tag) && !PY_FLOAT.matcher(value).matches()) return Tag.STR;
            return tag;
        }
    }

    /** Constructs plain values from nodes whose tags {@link PyYamlResolver} chose. */
    private static final class ScalarValues extends SafeConstructor {
        ScalarValues() {
            super(new LoaderOptions());
        }

        Object plain(Node n) {
            return constructObject(n);
        }
    }
}
