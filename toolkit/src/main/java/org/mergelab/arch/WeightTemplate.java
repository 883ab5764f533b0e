package org.mergelab.arch;

import java.util.List;

/**
 * One tensor of an architecture, possibly templated over layers ({@code ${layer}}).
 *
 * @param vocabularyAxis the axis that runs over the vocabulary (embeddings and LM heads), or -1
 * @param optional       may be absent from a checkpoint (a tied LM head, an optional bias)
 * @param aliases        other names the same tensor goes by in some checkpoints
 * @param tiedNames      names to read instead when the tensor itself is absent (the embedding, for a tied head)
 */
public record WeightTemplate(String name, int vocabularyAxis, boolean optional, List<String> aliases,
                             List<String> tiedNames) {

    public boolean isEmbedding() {
        return vocabularyAxis >= 0;
    }

    /** This weight with {@code ${layer}} replaced in every name. */
    public WeightTemplate forLayer(int layer) {
        return new WeightTemplate(sub(name, layer), vocabularyAxis, optional,
                aliases.stream().map(a -> sub(a, layer)).toList(), tiedNames.stream().map(a -> sub(a, layer)).toList());
    }

    private static String sub(String s, int layer) {
        return s.replace("${layer}", Integer.toString(layer));
    }

    /** Every name the tensor may be stored under, in lookup order: name, aliases, then tied names. */
    public List<String> lookupNames() {
        return java.util.stream.Stream.of(List.of(name), aliases, tiedNames).flatMap(List::stream).toList();
    }
}
