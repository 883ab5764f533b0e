package org.mergelab.merge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.mergelab.arch.Architecture;
import org.mergelab.arch.Architectures;
import org.mergelab.arch.InferredLayout;
import org.mergelab.arch.WeightTemplate;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.CheckpointException;
import org.mergelab.io.DType;
import org.mergelab.io.TensorInfo;
import org.mergelab.io.TokenizerFolder;
import org.mergelab.merge.vocab.ChatTemplates;
import org.mergelab.merge.vocab.EmbeddingAlignment;
import org.mergelab.merge.vocab.OutputVocabulary;
import org.mergelab.merge.vocab.VocabularyPlan;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.ParamSpec;
import org.mergelab.recipe.ParameterResolver;
import org.mergelab.recipe.Recipe;
import org.mergelab.recipe.RecipeException;
import org.mergelab.recipe.Setting;
import org.mergelab.recipe.TokenizerSettings;

/**
 * Turns a recipe into a {@link MergePlan}, checking everything that can be checked from headers and configs (method,
 * models, architectures, layer ranges, parameter types, tensor shapes) before any tensor is read, with mergekit's
 * rules: one output slice at a time, gradients positioned by {@code t = k/(N-1)} within each slice, tensors outside
 * the layers at {@code t = 0} in the first (embeddings) or last (norm, head) slice's context.
 */
final class MergePlanner {
    private final Recipe recipe;
    private final MergeMethod method;
    private final Function<ModelRef, Checkpoint> open;
    private final Map<ModelRef, Checkpoint> checkpoints = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();
    private final List<MergePlan.Task> tasks = new ArrayList<>();
    /** Slices whose sources all name one model (listed more than once): their tensors are copies of it. */
    private final Set<Recipe.Slice> singleModelSlices = new HashSet<>();
    private final Set<String> parameterWarnings = new HashSet<>();
    private Architecture arch;
    private boolean allowCrimes;
    /** The recipe's {@code modules: default:} entry, whose parameters rank between the slice's and the recipe's. */
    private Recipe.Module module;
    private int outLayer;
    private VocabularyPlan vocabulary = VocabularyPlan.none();

    private MergePlanner(Recipe recipe, Function<ModelRef, Checkpoint> open) {
        this.recipe = recipe;
        this.open = open;
        this.method = Methods.byName(recipe.mergeMethod()).orElseThrow(() -> new RecipeException(recipe.where(),
                recipe.mergeMethodLine(), "unknown merge method '" + recipe.mergeMethod() + "' (known: "
                + String.join(", ", Methods.names()) + ")"));
    }

    static MergePlan plan(Recipe recipe, Function<ModelRef, Checkpoint> open) {
        return plan(recipe, open, false);
    }

    /** @param allowCrimes merge models of different known architectures with the donor's layout, warning instead */
    static MergePlan plan(Recipe recipe, Function<ModelRef, Checkpoint> open, boolean allowCrimes) {
        MergePlanner planner = new MergePlanner(recipe, open);
        planner.allowCrimes = allowCrimes;
        try {
            return planner.plan();
        } catch (RuntimeException e) {
            planner.checkpoints.values().forEach(Checkpoint::close);
            throw e;
        }
    }

    private MergePlan plan() {
        warnings.addAll(recipe.warnings());
        module = recipe.singleModule();
        for (ModelRef m : recipe.referencedModels()) checkpoint(m);
        ModelRef donor = recipe.baseModel() != null ? recipe.baseModel() : recipe.referencedModels().get(0);
        Checkpoint donorCk = checkpoint(donor);
        arch = Architectures.isKnown(donorCk.config()) ? architectureOf(donor) : inferArchitecture(donorCk);
        for (ModelRef m : recipe.referencedModels()) {
            Architecture a = arch.inferred() ? arch : architectureOf(m);
            if (!a.equals(arch)) {
                String what = "model " + m + " is " + a.name() + " but " + donor + " is " + arch.name();
                if (!allowCrimes) {
                    throw new RecipeException(recipe.where(), recipe.lineOf(m), what + "; models of different"
                            + " architectures are merged only with --allow-crimes (tensor names and shapes must still match)");
                }
                warnings.add(recipe.where() + " line " + recipe.lineOf(m) + ": " + what + "; merged with "
                        + arch.name() + "'s layout (--allow-crimes)");
            }
        }
        vocabulary = planVocabulary(donor);
        List<Recipe.Slice> slices = new ArrayList<>();
        for (Recipe.Slice s : recipe.slicesFor(m -> arch.numLayers(checkpoint(m).config()))) slices.add(withoutRepeats(s));
        checkParameters(slices);
        for (Recipe.Slice s : slices) checkSlice(s);

        Recipe.Slice first = slices.get(0), last = slices.get(slices.size() - 1);
        for (WeightTemplate w : arch.preWeights()) {
            planTensor(w, repeat(w, first.sources().size()), first, sourcesOf(first), 0.0, -1);
        }
        for (Recipe.Slice s : slices) {
            int n = s.sources().get(0).length();
            for (int k = 0; k < n; k++) {
                double t = n > 1 ? (double) k / (n - 1) : 1.0;
                List<WeightTemplate> outWeights = arch.layerWeights(outLayer);
                List<List<WeightTemplate>> inWeights = new ArrayList<>();
                for (Recipe.SliceSource src : s.sources()) inWeights.add(arch.layerWeights(src.start() + k));
                for (int w = 0; w < outWeights.size(); w++) {
                    List<WeightTemplate> ins = new ArrayList<>();
                    for (List<WeightTemplate> l : inWeights) ins.add(l.get(w));
                    planTensor(outWeights.get(w), ins, s, sourcesOf(s), t, outLayer);
                }
                outLayer++;
            }
        }
        for (WeightTemplate w : arch.postWeights()) {
            planTensor(w, repeat(w, last.sources().size()), last, sourcesOf(last), 0.0, -1);
        }
        return new MergePlan(recipe, method, arch, withVocabSize(outConfig(donorCk, slices)), donor, donorCk, tasks,
                warnings, checkpoints, vocabulary);
    }

    private Checkpoint checkpoint(ModelRef m) {
        Checkpoint c = checkpoints.get(m);
        if (c != null) return c;
        try {
            c = open.apply(m);
        } catch (IllegalArgumentException | CheckpointException e) {
            throw new RecipeException(recipe.where(), recipe.lineOf(m), e.getMessage());
        }
        checkpoints.put(m, c);
        return c;
    }

    /** An architecture MergeLab has no description for: its layout, inferred from every model's tensor names. */
    private Architecture inferArchitecture(Checkpoint donor) {
        List<Map<String, long[]>> tensors = new ArrayList<>();
        for (Checkpoint c : checkpoints.values()) {
            Map<String, long[]> m = new LinkedHashMap<>();
            c.infos().forEach((n, info) -> m.put(n, info.shape()));
            tensors.add(m);
        }
        String cls = donor.config().path("architectures").path(0).asText("unknown");
        Architecture a = InferredLayout.infer(cls, tensors, donor.config());
        warnings.add("architecture " + cls + " is not described in MergeLab; its layout was inferred from tensor names ("
                + a.layerWeights().size() + " tensors per layer, " + a.inferredLayers() + " layers, "
                + a.preWeights().size() + " other tensors)");
        return a;
    }

    private Architecture architectureOf(ModelRef m) {
        try {
            return Architectures.forConfig(checkpoint(m).config());
        } catch (IllegalArgumentException e) {
            throw new RecipeException(recipe.where(), recipe.lineOf(m), "model " + m + ": " + e.getMessage());
        }
    }

    private void checkParameters(List<Recipe.Slice> slices) {
        Set<String> known = new HashSet<>();
        for (ParamSpec p : method.parameters()) {
            known.add(p.name());
            ParameterResolver.check(recipe, p, slices);
        }
        Map<String, Integer> unknown = new LinkedHashMap<>();
        List<Map<String, Setting>> all = new ArrayList<>();
        all.add(recipe.parameters());
        if (module != null) all.add(module.parameters());
        for (Recipe.Slice s : slices) {
            all.add(s.parameters());
            s.sources().forEach(src -> all.add(src.parameters()));
        }
        for (Map<String, Setting> m : all) {
            m.forEach((k, v) -> {
                if (!known.contains(k)) unknown.putIfAbsent(k, v.line());
            });
        }
        unknown.forEach((k, line) -> warnings.add(recipe.where() + " line " + line + ": '" + k + "' is not a parameter of "
                + method.name() + " (it takes " + String.join(", ", known.stream().sorted().toList()) + "); ignored"));
    }

    private void checkSlice(Recipe.Slice s) {
        int n = s.sources().get(0).length();
        for (Recipe.SliceSource src : s.sources()) {
            if (src.length() != n) {
                throw new RecipeException(recipe.where(), s.line(), "all sources of a slice must have the same number"
                        + " of layers (" + s.sources().get(0).model() + " has " + n + ", " + src.model() + " has "
                        + src.length() + ")");
            }
            int layers = arch.numLayers(checkpoint(src.model()).config());
            if (src.end() > layers) {
                throw new RecipeException(recipe.where(), src.line(), "layer_range [" + src.start() + ", " + src.end()
                        + "] of " + src.model() + " reaches past its last layer (it has " + layers
                        + " layers, numbered 0 to " + (layers - 1) + "; the end of the range is exclusive)");
            }
        }
        if (singleModelSlices.contains(s)) return;
        MergeMethod.Contract c = method.contract();
        int count = s.sources().size();
        ModelRef base = c.base() == MergeMethod.BasePolicy.IGNORED ? null : recipe.baseModelOf(s);
        boolean baseIn = base != null && s.sources().stream().anyMatch(src -> src.model().equals(base));
        String what = recipe.slices() != null ? "slice" : "recipe";
        if (base != null && !baseIn) {
            throw new RecipeException(recipe.where(), s.baseModel() != null ? s.line() : recipe.baseModelLine(),
                    "base_model " + base + " is not among the models this " + what + " merges; " + method.name()
                            + " needs its base model to be one of them");
        }
        if (c.base() == MergeMethod.BasePolicy.REQUIRED && !baseIn) {
            throw new RecipeException(recipe.where(), recipe.mergeMethodLine(), method.name()
                    + " needs a base_model (one of the models it merges); none is set");
        }
        if (count < c.minInputs() || count > c.maxInputs()) {
            throw new RecipeException(recipe.where(), s.line(), method.name() + " merges "
                    + expected(c.minInputs(), c.maxInputs()) + " models, but this " + what + " gives it " + count
                    + (recipe.slices() == null && recipe.baseModel() != null ? " (base_model included)" : ""));
        }
        int nonBase = count - (baseIn ? 1 : 0);
        if (nonBase < c.minNonBase() || nonBase > c.maxNonBase()) {
            throw new RecipeException(recipe.where(), s.line(), method.name() + " merges "
                    + expected(c.minNonBase(), c.maxNonBase()) + " models besides its base model, but this " + what
                    + " gives it " + nonBase + (baseIn ? " (base_model " + base + " is one of the " + count
                    + " models" + (c.base() == MergeMethod.BasePolicy.OPTIONAL ? "; a base model, if set, must be"
                    + " another model" : "") + ")" : ""));
        }
    }

    private static String expected(int min, int max) {
        return min == max ? "exactly " + min : max == Integer.MAX_VALUE ? "at least " + min
                : "between " + min + " and " + max;
    }

    /**
     * A slice that names a model more than once merges it once, with the first listing's parameters: mergekit 0.1.4
     * keyed inputs by model (its issue #214); 0.1.5 refuses ("Duplicate merge inputs"). Seed 003's recipe merges
     * Llama-2-7b-chat with itself, which 0.1.4 (and MergeLab) turn into a copy.
     */
    private Recipe.Slice withoutRepeats(Recipe.Slice s) {
        List<Recipe.SliceSource> kept = new ArrayList<>();
        Set<ModelRef> seen = new HashSet<>();
        for (Recipe.SliceSource src : s.sources()) {
            if (seen.add(src.model())) {
                kept.add(src);
            } else {
                warnings.add(recipe.where() + " line " + src.line() + ": " + src.model() + " is listed more than once"
                        + " in a " + (recipe.slices() != null ? "slice" : "recipe") + "; it is merged once, with the"
                        + " first listing's parameters (mergekit 0.1.4 does the same; 0.1.5 refuses: \"Duplicate merge"
                        + " inputs\")");
            }
        }
        if (kept.size() == s.sources().size()) return s;
        Recipe.Slice out = new Recipe.Slice(List.copyOf(kept), s.baseModel(), s.parameters(), s.line());
        if (kept.size() == 1 && method.contract().minInputs() > 1) {
            singleModelSlices.add(out);
            warnings.add(recipe.where() + " line " + s.line() + ": only " + kept.get(0).model() + " is left to merge"
                    + " there, so its tensors are copied unchanged");
        }
        return out;
    }

    private static List<ModelRef> sourcesOf(Recipe.Slice s) {
        return s.sources().stream().map(Recipe.SliceSource::model).toList();
    }

    private static List<WeightTemplate> repeat(WeightTemplate w, int n) {
        List<WeightTemplate> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(w);
        return out;
    }

    private void planTensor(WeightTemplate out, List<WeightTemplate> ins, Recipe.Slice slice, List<ModelRef> models,
                            double t, int layer) {
        if (out.optional()) {
            boolean any = false;
            for (int i = 0; i < models.size(); i++) {
                Checkpoint ck = checkpoint(models.get(i));
                WeightTemplate w = ins.get(i);
                if (ck.has(w.name()) || w.aliases().stream().anyMatch(ck::has)) any = true;
            }
            if (!any) return;
        }
        ParameterResolver.Scope scope = new ParameterResolver.Scope(recipe, slice, module);
        ModelRef base = method.contract().base() == MergeMethod.BasePolicy.IGNORED ? null : recipe.baseModelOf(slice);
        List<MergePlan.Input> inputs = new ArrayList<>();
        int baseIndex = -1;
        for (int i = 0; i < models.size(); i++) {
            ModelRef m = models.get(i);
            Checkpoint ck = checkpoint(m);
            String actual = ins.get(i).lookupNames().stream().filter(ck::has).findFirst().orElse(null);
            if (actual == null) {
                if (out.optional()) continue;
                throw new RecipeException(recipe.where(), recipe.lineOf(m), "tensor " + ins.get(i).name()
                        + " is required but not present in model " + m + " (" + ck.dir() + ")");
            }
            Map<String, Object> params = new LinkedHashMap<>();
            for (ParamSpec p : method.parameters()) {
                if (!p.perModel() || (!p.includeBase() && m.equals(base))) continue;
                params.put(p.name(), ParameterResolver.forModel(p, scope, m, ins.get(i).name(), t));
            }
            if (m.equals(base)) baseIndex = inputs.size();
            inputs.add(new MergePlan.Input(m, ck, actual, params));
        }
        Map<String, Object> shared = new LinkedHashMap<>();
        for (ParamSpec p : method.parameters()) {
            if (!p.perModel()) shared.put(p.name(), ParameterResolver.shared(p, scope, out.name(), t));
        }
        long[] shape = inputs.get(0).info().shape();
        long[] aligned = alignVocabulary(out, inputs, slice);
        if (aligned != null) shape = aligned;
        for (MergePlan.Input in : inputs) {
            if (aligned == null && !Arrays.equals(in.info().shape(), shape)) {
                StringBuilder sb = new StringBuilder("cannot merge tensor " + out.name() + ": shapes differ (");
                for (int i = 0; i < inputs.size(); i++) {
                    sb.append(i > 0 ? ", " : "").append(inputs.get(i).model()).append(' ')
                            .append(inputs.get(i).info().shapeString());
                }
                throw new RecipeException(recipe.where(), recipe.lineOf(in.model()), sb.append(')').toString());
            }
        }
        boolean allFloat = inputs.stream().allMatch(in -> in.info().dtype().isFloating());
        MergePlan.Kind kind = kindOf(out, slice, models, inputs, baseIndex, base, allFloat);
        if (kind == null) {
            warnings.add("optional tensor " + out.name() + " is left out: only " + inputs.size() + " of the models have"
                    + " it, too few for " + method.name() + " (mergekit does the same)");
            return;
        }
        if (kind == MergePlan.Kind.MERGE) checkValues(out.name(), slice, inputs, shared, baseIndex);
        DType stored = inputs.get(0).info().dtype();
        for (MergePlan.Input in : inputs) stored = promote(stored, in.info().dtype());
        DType work = kind == MergePlan.Kind.COPY_BUFFER ? stored : recipe.dtype() != null ? recipe.dtype() : stored;
        DType result = kind == MergePlan.Kind.MERGE ? method.resultDtype(work) : work;
        DType outDtype = kind == MergePlan.Kind.COPY_BUFFER ? stored : recipe.outDtype() != null ? recipe.outDtype() : result;
        tasks.add(new MergePlan.Task(tasks.size(), out.name(), kind, List.copyOf(inputs), baseIndex, shared, shape,
                work, result, outDtype, layer, t));
    }

    /**
     * How a tensor is produced, by mergekit's rules for optional tensors that some inputs lack (the method's
     * {@link MergeMethod.OptionalPolicy}), or null when it is left out; fails when the inputs that have it break
     * the method's contract.
     */
    private MergePlan.Kind kindOf(WeightTemplate out, Recipe.Slice slice, List<ModelRef> models,
                                  List<MergePlan.Input> inputs, int baseIndex, ModelRef base, boolean allFloat) {
        if (!allFloat) return MergePlan.Kind.COPY_BUFFER;
        if (singleModelSlices.contains(slice)) return MergePlan.Kind.PASSTHROUGH;
        MergeMethod.Contract c = method.contract();
        MergeMethod.OptionalPolicy policy = method.optionalPolicy();
        int present = inputs.size();
        if (out.optional() && present < models.size()) {
            boolean onlyBase = present == 1 && baseIndex == 0;
            if (present == 1 && (policy == MergeMethod.OptionalPolicy.PASSTHROUGH_SINGLETON
                    || (policy == MergeMethod.OptionalPolicy.PASSTHROUGH_BASE_SINGLETON && onlyBase))) {
                return MergePlan.Kind.PASSTHROUGH;
            }
            if (policy == MergeMethod.OptionalPolicy.BASE_OR_SKIP && present < c.minInputs()) {
                return onlyBase ? MergePlan.Kind.PASSTHROUGH : null;
            }
        }
        int nonBase = present - (baseIndex >= 0 ? 1 : 0);
        String problem = null;
        if (base != null && baseIndex < 0) {
            problem = "base model " + base + " does not have it, and " + method.name() + " needs the base";
        } else if (present < c.minInputs() || present > c.maxInputs() || nonBase < c.minNonBase()
                || nonBase > c.maxNonBase()) {
            problem = "only " + present + " of the " + models.size() + " models have it, which " + method.name()
                    + " cannot merge";
        }
        if (problem != null) {
            throw new RecipeException(recipe.where(), slice.line(), "tensor " + out.name() + ": " + problem);
        }
        return MergePlan.Kind.MERGE;
    }

    /** The method's checks of the values resolved for one tensor: errors name the line that sets the value. */
    private void checkValues(String tensor, Recipe.Slice slice, List<MergePlan.Input> inputs,
                             Map<String, Object> shared, int baseIndex) {
        List<String> names = inputs.stream().map(in -> in.model().toString()).toList();
        List<Map<String, Object>> perModel = inputs.stream().map(MergePlan.Input::parameters).toList();
        for (MergeMethod.Problem p : method.check(new MergeMethod.Resolved(tensor, shared, names, perModel, baseIndex))) {
            ModelRef model = p.input() >= 0 ? inputs.get(p.input()).model() : null;
            int line = settingLine(slice, model, p.parameter());
            if (p.fatal()) {
                throw new RecipeException(recipe.where(), line, "parameter '" + p.parameter() + "' (tensor " + tensor
                        + "): " + p.message());
            }
            String w = recipe.where() + " line " + line + ": parameter '" + p.parameter() + "': " + p.message();
            if (parameterWarnings.add(w)) warnings.add(w);
        }
    }

    /** The line of the setting that gives {@code param} its value (for {@code model}), as the resolver looks. */
    private int settingLine(Recipe.Slice slice, ModelRef model, String param) {
        if (model != null) {
            for (Recipe.SliceSource src : slice.sources()) {
                if (src.model().equals(model) && src.parameters().containsKey(param)) {
                    return src.parameters().get(param).line();
                }
            }
        }
        if (slice.parameters().containsKey(param)) return slice.parameters().get(param).line();
        if (recipe.parameters().containsKey(param)) return recipe.parameters().get(param).line();
        return model != null ? recipe.lineOf(model) : slice.line();
    }

    /** torch.promote_types for the float types checkpoints use. */
    static DType promote(DType a, DType b) {
        if (a == b) return a;
        if (a == DType.F64 || b == DType.F64) return DType.F64;
        return DType.F32;
    }

    private ObjectNode outConfig(Checkpoint donor, List<Recipe.Slice> slices) {
        ObjectNode cfg = donor.config().deepCopy();
        DType d = recipe.outDtype() != null ? recipe.outDtype() : recipe.dtype();
        if (d != null) cfg.put("torch_dtype", d.torchName());
        if (recipe.usesSlices() && !arch.numLayersKey().isEmpty()) {
            int layers = slices.stream().mapToInt(s -> s.sources().get(0).length()).sum();
            String[] key = arch.numLayersKey().split("\\.");
            ObjectNode node = cfg;
            for (int i = 0; i < key.length - 1; i++) {
                JsonNode child = node.get(key[i]);
                if (!(child instanceof ObjectNode o)) break;
                node = o;
            }
            node.put(key[key.length - 1], layers);
        }
        return cfg;
    }

    // ---- vocabulary: tokenizer_source / tokenizer / chat_template (mergekit's BuildTokenizer, PermutedVocabulary) ----

    private VocabularyPlan planVocabulary(ModelRef donor) {
        TokenizerSettings settings = recipe.tokenizer();
        String template = null;
        if (recipe.chatTemplate() != null) {
            try {
                template = ChatTemplates.resolve(recipe.chatTemplate(), this::modelChatTemplates).orElse(null);
            } catch (IllegalArgumentException e) {
                throw new RecipeException(recipe.where(), recipe.chatTemplateLine(), e.getMessage());
            }
        }
        if (settings == null) {
            if (template != null && !TokenizerFolder.exists(checkpoint(donor).dir())) {
                warnings.add("chat_template is set but " + donor + " has no tokenizer to save it with; it is not saved");
            }
            return new VocabularyPlan(null, null, template);
        }
        OutputVocabulary built;
        try {
            built = OutputVocabulary.build(settings, recipe.baseModel(), recipe.referencedModels(),
                    m -> TokenizerFolder.read(checkpoint(m).dir()), m -> checkpoint(m).configInt("vocab_size", -1),
                    warnings);
        } catch (CheckpointException e) {
            throw new RecipeException(recipe.where(), settings.line(), "cannot build the merged tokenizer: "
                    + e.getMessage());
        }
        return new VocabularyPlan(settings, built, template);
    }

    private List<String> modelChatTemplates() {
        List<String> out = new ArrayList<>();
        for (ModelRef m : recipe.referencedModels()) {
            try {
                out.add(TokenizerFolder.read(checkpoint(m).dir()).chatTemplate());
            } catch (CheckpointException e) {
                warnings.add("chat_template auto: cannot read the tokenizer of " + m + " (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    /**
     * For a tensor with a vocabulary axis when the vocabulary is rebuilt: plans the re-indexing of its inputs and
     * returns the output shape; null otherwise. The inputs must agree on every other axis.
     */
    private long[] alignVocabulary(WeightTemplate out, List<MergePlan.Input> inputs, Recipe.Slice slice) {
        if (vocabulary.vocabulary() == null || !out.isEmbedding()) return null;
        int axis = out.vocabularyAxis();
        List<long[]> shapes = new ArrayList<>();
        for (MergePlan.Input in : inputs) {
            long[] s = in.info().shape();
            long[] first = inputs.get(0).info().shape();
            boolean same = s.length == first.length && axis < s.length;
            for (int d = 0; same && d < s.length; d++) same = d == axis || s[d] == first[d];
            if (!same) {
                throw new RecipeException(recipe.where(), recipe.lineOf(in.model()), "cannot merge tensor " + out.name()
                        + ": apart from the vocabulary axis " + axis + " the shapes must agree, but "
                        + inputs.get(0).model() + " has " + inputs.get(0).info().shapeString() + " and " + in.model()
                        + " has " + in.info().shapeString());
            }
            shapes.add(s);
        }
        try {
            List<String> notes = new ArrayList<>();
            EmbeddingAlignment a = EmbeddingAlignment.plan(vocabulary.vocabulary(), vocabulary.settings(),
                    inputs.stream().map(MergePlan.Input::model).toList(), shapes, axis, recipe.baseModelOf(slice),
                    notes);
            for (String n : notes) if (!warnings.contains(n)) warnings.add(n);
            vocabulary.addAlignment(out.name(), a);
            return a.outShape();
        } catch (EmbeddingAlignment.TokenSettingException e) {
            throw new RecipeException(recipe.where(), e.line(), "tensor " + out.name() + ": " + e.getMessage());
        }
    }

    /** The merged vocabulary's (padded) size as the output config's vocab_size. */
    private ObjectNode withVocabSize(ObjectNode cfg) {
        if (vocabulary.paddedSize() >= 0) cfg.put("vocab_size", vocabulary.paddedSize());
        return cfg;
    }
}
