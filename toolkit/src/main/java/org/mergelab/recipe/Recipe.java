package org.mergelab.recipe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.mergelab.io.DType;

/**
 * A mergekit recipe, parsed: what to merge, how, and with which parameters, each element remembering the line it
 * came from. The {@code models:}, {@code slices:} and {@code modules:} forms are kept as written; {@link #slicesFor}
 * turns them into the slices the planner walks.
 */
public final class Recipe {
    public record ModelEntry(ModelRef model, Map<String, Setting> parameters, int line) {}

    /** One model's contribution to a slice: layers {@code [start, end)} of {@code model}. */
    public record SliceSource(ModelRef model, int start, int end, Map<String, Setting> parameters, int line) {
        public int length() {
            return end - start;
        }
    }

    public record Slice(List<SliceSource> sources, ModelRef baseModel, Map<String, Setting> parameters, int line) {}

    /** A module of a multi-module architecture (a vision tower, a text decoder); {@code default} otherwise. */
    public record Module(String name, List<ModelEntry> models, List<Slice> slices, Map<String, Setting> parameters,
                         int line) {}

    private final Path file;
    private final String text;
    private final String mergeMethod;
    private final int mergeMethodLine;
    private final ModelRef baseModel;
    private final int baseModelLine;
    private final DType dtype;
    private final DType outDtype;
    private final Map<String, Setting> parameters;
    private final int parametersLine;
    private final List<ModelEntry> models;
    private final List<Slice> slices;
    private final List<Module> modules;
    private final TokenizerSettings tokenizer;
    private final String chatTemplate;
    private final int chatTemplateLine;
    private final List<String> warnings;

    Recipe(Path file, String text, String mergeMethod, int mergeMethodLine, ModelRef baseModel, int baseModelLine,
           DType dtype, DType outDtype, Map<String, Setting> parameters, int parametersLine, List<ModelEntry> models,
           List<Slice> slices, List<Module> modules, TokenizerSettings tokenizer, String chatTemplate,
           int chatTemplateLine, List<String> warnings) {
        this.file = file;
        this.text = text;
        this.mergeMethod = mergeMethod;
        this.mergeMethodLine = mergeMethodLine;
        this.baseModel = baseModel;
        this.baseModelLine = baseModelLine;
        this.dtype = dtype;
        this.outDtype = outDtype;
        this.parameters = parameters;
        this.parametersLine = parametersLine;
        this.models = models;
        this.slices = slices;
        this.modules = modules;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.chatTemplateLine = chatTemplateLine;
        this.warnings = Collections.unmodifiableList(new ArrayList<>(warnings));
    }

    public static Recipe parse(String yaml) {
        return RecipeParser.parse(yaml, null);
    }

    public static Recipe load(Path file) {
        return RecipeParser.load(file);
    }

    /** The file the recipe came from, or null when parsed from a string. */
    public Path file() { return file; }

    /** "recipe.yml", or "recipe" for one parsed from a string: how messages name it. */
    public String where() { return file == null ? "recipe" : file.toString(); }

    /** The recipe exactly as written (saved verbatim as mergekit_config.yml). */
    public String text() { return text; }

    public String mergeMethod() { return mergeMethod; }

    public int mergeMethodLine() { return mergeMethodLine; }

    public ModelRef baseModel() { return baseModel; }

    public int baseModelLine() { return baseModelLine; }

    /** The working dtype inputs are rounded to before merging, or null to keep each checkpoint's own. */
    public DType dtype() { return dtype; }

    /** The dtype of saved tensors, or null for the working dtype. */
    public DType outDtype() { return outDtype; }

    public Map<String, Setting> parameters() { return parameters; }

    public int parametersLine() { return parametersLine; }

    /** The {@code models:} entries, or null if the recipe uses {@code slices:} or {@code modules:}. */
    public List<ModelEntry> models() { return models; }

    /** The {@code slices:} entries, or null. */
    public List<Slice> slices() { return slices; }

    /** The {@code modules:} entries, or null. */
    public List<Module> modules() { return modules; }

    /** The output vocabulary ({@code tokenizer_source} or {@code tokenizer:}), or null to copy the donor's tokenizer. */
    public TokenizerSettings tokenizer() { return tokenizer; }

    /** {@code chat_template} as written ({@code auto}, a built-in name or a Jinja template), or null. */
    public String chatTemplate() { return chatTemplate; }

    public int chatTemplateLine() { return chatTemplateLine; }

    /** Things the recipe says that MergeLab ignores (unknown keys), each naming its line. */
    public List<String> warnings() { return warnings; }

    /** Every model the recipe names, base first, in order of appearance, without repeats. */
    public List<ModelRef> referencedModels() {
        Set<ModelRef> out = new LinkedHashSet<>();
        if (baseModel != null) out.add(baseModel);
        if (models != null) models.forEach(m -> out.add(m.model()));
        if (slices != null) addSlices(out, slices);
        if (modules != null) {
            for (Module m : modules) {
                if (m.models() != null) m.models().forEach(e -> out.add(e.model()));
                if (m.slices() != null) addSlices(out, m.slices());
            }
        }
        return List.copyOf(out);
    }

    private static void addSlices(Set<ModelRef> out, List<Slice> slices) {
        for (Slice s : slices) {
            if (s.baseModel() != null) out.add(s.baseModel());
            s.sources().forEach(src -> out.add(src.model()));
        }
    }

    /**
     * The slices the merge walks. A {@code models:} recipe is one slice over all layers of every model, with the
     * base model appended (without parameters) when it is not listed, as mergekit does.
     */
    public List<Slice> slicesFor(ToIntFunction<ModelRef> numLayers) {
        if (slices != null) return slices;
        if (models != null) return slicesOf(models, numLayers);
        Module m = singleModule();
        return m.slices() != null ? m.slices() : slicesOf(m.models(), numLayers);
    }

    /**
     * The one module of a {@code modules:} recipe. MergeLab's architectures have a single module, which mergekit
     * calls {@code default}; multi-module (vision-language) architectures are not described yet.
     */
    public Module singleModule() {
        if (modules == null) return null;
        if (modules.size() != 1 || !modules.get(0).name().equals("default")) {
            throw new RecipeException(where(), modules.get(0).line(), "modules: names " + modules.stream()
                    .map(Module::name).toList() + ", but the architectures MergeLab describes have one module,"
                    + " 'default' (multi-module vision-language architectures are not supported yet)");
        }
        Module m = modules.get(0);
        if ((m.models() == null) == (m.slices() == null)) {
            throw new RecipeException(where(), m.line(), "module 'default' needs exactly one of models: or slices:");
        }
        return m;
    }

    /** Whether the output's layers come from slices (so the output config's layer count must be set). */
    public boolean usesSlices() {
        return slices != null || modules != null && singleModule().slices() != null;
    }

    private List<Slice> slicesOf(List<ModelEntry> entries, ToIntFunction<ModelRef> numLayers) {
        List<SliceSource> sources = new ArrayList<>();
        boolean baseIncluded = false;
        for (ModelEntry m : entries) {
            if (m.model().equals(baseModel)) baseIncluded = true;
            sources.add(new SliceSource(m.model(), 0, numLayers.applyAsInt(m.model()), m.parameters(), m.line()));
        }
        if (baseModel != null && !baseIncluded) {
            sources.add(new SliceSource(baseModel, 0, numLayers.applyAsInt(baseModel), Map.of(), baseModelLine));
        }
        return List.of(new Slice(sources, null, Map.of(), entries.isEmpty() ? 0 : entries.get(0).line()));
    }

    /** The first line that names {@code model}, for messages about it (0 if none does). */
    public int lineOf(ModelRef model) {
        if (model.equals(baseModel)) return baseModelLine;
        if (models != null) {
            for (ModelEntry m : models) if (m.model().equals(model)) return m.line();
        }
        if (modules != null) {
            for (Module mod : modules) {
                if (mod.models() == null) continue;
                for (ModelEntry m : mod.models()) if (m.model().equals(model)) return m.line();
            }
        }
        List<Slice> all = new ArrayList<>();
        if (slices != null) all.addAll(slices);
        if (modules != null) modules.forEach(m -> { if (m.slices() != null) all.addAll(m.slices()); });
        for (Slice s : all) {
            for (SliceSource src : s.sources()) if (src.model().equals(model)) return src.line();
        }
        return 0;
    }

    /** The base model a slice uses: its own, else the recipe's. */
    public ModelRef baseModelOf(Slice slice) {
        return slice.baseModel() != null ? slice.baseModel() : baseModel;
    }
}
