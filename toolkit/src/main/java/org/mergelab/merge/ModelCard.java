package org.mergelab.merge;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.mergelab.Version;
import org.mergelab.recipe.ModelRef;

/**
 * The README.md of a merged model, in the Hugging Face convention: YAML front matter (base models that are Hub ids,
 * tags, library), the method with its reference, the models, and the recipe verbatim.
 */
final class ModelCard {
    private ModelCard() {}

    static String write(MergePlan plan, String name) {
        MergeMethod m = plan.method();
        List<ModelRef> models = plan.recipe().referencedModels();
        Set<String> hubIds = new LinkedHashSet<>();
        for (ModelRef r : models) {
            if (looksLikeHubId(r.model())) hubIds.add(r.model());
        }
        StringBuilder sb = new StringBuilder("---\n");
        if (!hubIds.isEmpty()) {
            sb.append("base_model:\n");
            hubIds.forEach(h -> sb.append("- ").append(h).append('\n'));
        }
        sb.append("library_name: transformers\ntags:\n- merge\n- mergekit\n- mergelab\n---\n");
        sb.append("# ").append(name).append("\n\n");
        sb.append("This is a merge of pre-trained language models created with [MergeLab](https://github.com/mergelab/mergelab)")
                .append(" ").append(Version.get()).append(", following mergekit's recipe format and semantics.\n\n");
        sb.append("## Merge Details\n\n### Merge Method\n\n");
        ModelRef base = plan.recipe().baseModel();
        boolean usesBase = base != null && m.contract().base() != MergeMethod.BasePolicy.IGNORED
                && !m.name().equals("slerp");
        sb.append("This model was merged using the [").append(m.prettyName()).append("](").append(m.reference())
                .append(") merge method").append(usesBase ? " using " + link(base) + " as a base" : "").append(".\n\n");
        sb.append("### Models Merged\n\nThe following models were included in the merge:\n");
        List<ModelRef> others = new ArrayList<>(models);
        if (usesBase) others.remove(base);
        for (ModelRef r : others) sb.append("* ").append(link(r)).append('\n');
        sb.append("\n### Configuration\n\nThe following YAML configuration was used to produce this model:\n\n```yaml\n")
                .append(plan.recipe().text().strip()).append("\n```\n");
        return sb.toString();
    }

    private static String link(ModelRef r) {
        return looksLikeHubId(r.model()) ? "[" + r.model() + "](https://huggingface.co/" + r.model() + ")"
                : r.model();
    }

    static boolean looksLikeHubId(String s) {
        return s.matches("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*") && !s.startsWith(".")
                && !new java.io.File(s).isDirectory();
    }
}
