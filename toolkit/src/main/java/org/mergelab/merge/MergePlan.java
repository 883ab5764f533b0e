package org.mergelab.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import org.mergelab.arch.Architecture;
import org.mergelab.io.Checkpoint;
import org.mergelab.io.DType;
import org.mergelab.io.TensorInfo;
import org.mergelab.io.TensorSpec;
import org.mergelab.merge.vocab.VocabularyPlan;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.Recipe;

/**
 * A recipe turned into one task per output tensor, before any tensor is read: which inputs, which parameter
 * values, which dtypes. {@link #describe()} is what {@code mergelab merge --dry-run} prints.
 */
public final class MergePlan {
    /** How a task produces its tensor. */
    public enum Kind {
        /** Run the merge method. */
        MERGE,
        /** Only one input has this optional tensor and the method copies it unchanged. */
        PASSTHROUGH,
        /** An integer buffer (position ids, say): copied, and it must be equal in every input. */
        COPY_BUFFER
    }

    /** One input tensor: which model, under which name in that model's checkpoint, with which parameters. */
    public record Input(ModelRef model, Checkpoint checkpoint, String tensorName, Map<String, Object> parameters) {
        public TensorInfo info() {
            return checkpoint.info(tensorName);
        }
    }

    /**
     * @param workDtype   inputs are rounded to this before the method sees them (null: kept as stored)
     * @param resultDtype the method's result is rounded to this (mergekit returns the working dtype)
     * @param outDtype    the dtype written to disk
     * @param layer       the output layer, or -1 for tensors outside the layers
     * @param t           the layer's position in its slice, used by gradients
     */
    public record Task(int index, String outputName, Kind kind, List<Input> inputs, int baseIndex,
                       Map<String, Object> shared, long[] shape, DType workDtype, DType resultDtype, DType outDtype,
                       int layer, double t) {
        public long numel() {
            return TensorInfo.numel(shape);
        }

        public TensorSpec spec() {
            return new TensorSpec(outputName, outDtype, shape);
        }

        /** Parameter values in a compact form for tables and logs: "t=0.5" or "weight=[0.6, 0.4]; normalize=true". */
        public String parameterSummary() {
            StringJoiner j = new StringJoiner("; ");
            shared.forEach((k, v) -> j.add(k + "=" + format(v)));
            if (!inputs.isEmpty()) {
                for (String key : inputs.get(0).parameters().keySet()) {
                    StringJoiner vals = new StringJoiner(", ", "[", "]");
                    for (Input in : inputs) vals.add(format(in.parameters().get(key)));
                    j.add(key + "=" + vals);
                }
            }
            return j.toString();
        }

        private static String format(Object v) {
            if (v instanceof Double d) {
                String s = String.format("%.6g", d);
                if (s.contains(".") && !s.contains("e")) s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
                return s;
            }
            return String.valueOf(v);
        }
    }

    private final Recipe recipe;
    private final MergeMethod method;
    private final Architecture architecture;
    private final ObjectNode outConfig;
    private final ModelRef donor;
    private final Checkpoint donorCheckpoint;
    private final List<Task> tasks;
    private final List<String> warnings;
    private final Map<ModelRef, Checkpoint> checkpoints;
    private final VocabularyPlan vocabulary;

    MergePlan(Recipe recipe, MergeMethod method, Architecture architecture, ObjectNode outConfig, ModelRef donor,
              Checkpoint donorCheckpoint, List<Task> tasks, List<String> warnings,
              Map<ModelRef, Checkpoint> checkpoints) {
        this(recipe, method, architecture, outConfig, donor, donorCheckpoint, tasks, warnings, checkpoints,
                VocabularyPlan.none());
    }

    MergePlan(Recipe recipe, MergeMethod method, Architecture architecture, ObjectNode outConfig, ModelRef donor,
              Checkpoint donorCheckpoint, List<Task> tasks, List<String> warnings,
              Map<ModelRef, Checkpoint> checkpoints, VocabularyPlan vocabulary) {
        this.vocabulary = vocabulary;
        this.recipe = recipe;
        this.method = method;
        this.architecture = architecture;
        this.outConfig = outConfig;
        this.donor = donor;
        this.donorCheckpoint = donorCheckpoint;
        this.tasks = List.copyOf(tasks);
        this.warnings = List.copyOf(warnings);
        this.checkpoints = checkpoints;
    }

    public Recipe recipe() { return recipe; }

    public MergeMethod method() { return method; }

    public Architecture architecture() { return architecture; }

    /** The output's config.json: the donor's, with torch_dtype and (for slices) the layer count updated. */
    public ObjectNode outConfig() { return outConfig; }

    /** The model whose config, tokenizer and generation config the output takes: the base, else the first model. */
    public ModelRef donor() { return donor; }

    public Checkpoint donorCheckpoint() { return donorCheckpoint; }

    public List<Task> tasks() { return tasks; }

    public List<String> warnings() { return warnings; }

    public Map<ModelRef, Checkpoint> checkpoints() { return checkpoints; }

    /** What the tokenizer settings do: the merged vocabulary, the re-indexing of vocabulary tensors, the chat template. */
    public VocabularyPlan vocabulary() { return vocabulary; }

    public long bytesToRead() {
        return tasks.stream().flatMap(t -> t.inputs().stream()).mapToLong(i -> i.info().byteSize()).sum();
    }

    public long bytesToWrite() {
        return tasks.stream().mapToLong(t -> t.spec().byteSize()).sum();
    }

    /** A human-readable plan: one line per tensor with its inputs and parameters. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("merge_method: ").append(method.name()).append(" (").append(method.prettyName()).append(")\n");
        sb.append("architecture: ").append(architecture.name()).append("; config from ").append(donor).append('\n');
        sb.append(String.format("%d tensors, %.1f MB to read, %.1f MB to write%n", tasks.size(), bytesToRead() / 1e6,
                bytesToWrite() / 1e6));
        if (vocabulary.vocabulary() != null) {
            sb.append("tokenizer: ").append(vocabulary.settings().source()).append(", ")
                    .append(vocabulary.vocabulary().size()).append(" tokens, vocabulary axis ")
                    .append(vocabulary.paddedSize()).append('\n');
        }
        for (String w : warnings) sb.append("warning: ").append(w).append('\n');
        for (Task t : tasks) {
            StringJoiner ins = new StringJoiner(", ");
            for (int i = 0; i < t.inputs().size(); i++) {
                Input in = t.inputs().get(i);
                ins.add((i == t.baseIndex() ? "*" : "") + in.model() + (in.tensorName().equals(t.outputName()) ? ""
                        : ":" + in.tensorName()));
            }
            sb.append(String.format("%-55s %-6s %s %s <- %s  %s%n", t.outputName(), t.outDtype().safetensorsName(),
                    TensorInfo.shapeString(t.shape()), t.kind() == Kind.MERGE ? method.name() : t.kind().name().toLowerCase(),
                    ins, t.parameterSummary()));
        }
        return sb.toString();
    }
}
