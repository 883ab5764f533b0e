package org.mergelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The layout of a family MergeLab has no description for, inferred from tensor names as mergekit does: tensors with
 * a {@code .N.} in their name form the layer stack (the most common prefix before the number), everything else is
 * a weight before the layers. A layer tensor missing from some layer or some model is optional. The layer count is
 * the highest index plus one; since no config key is known for it, slices do not update the output config's count.
 */
public final class InferredLayout {
    private static final Pattern LAYER = Pattern.compile("^(.*?)\\.(\\d+)\\.(.*)$");

    private InferredLayout() {}

    /**
     * @param modelTensors each model's tensor names (and shapes, to spot the vocabulary axis)
     * @param config       the donor's config.json (for vocab_size)
     */
    public static Architecture infer(String className, Collection<Map<String, long[]>> modelTensors, JsonNode config) {
        Map<String, Integer> prefixCount = new LinkedHashMap<>();
        for (Map<String, long[]> m : modelTensors) {
            for (String n : m.keySet()) {
                Matcher x = LAYER.matcher(n);
                if (x.matches()) prefixCount.merge(x.group(1), 1, Integer::sum);
            }
        }
        String prefix = prefixCount.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                .orElse(null);
        Set<String> suffixes = new LinkedHashSet<>();
        Set<String> others = new LinkedHashSet<>();
        int layers = 0;
        for (Map<String, long[]> m : modelTensors) {
            for (String n : m.keySet()) {
                Matcher x = LAYER.matcher(n);
                if (prefix != null && x.matches() && x.group(1).equals(prefix)) {
                    suffixes.add(x.group(3));
                    layers = Math.max(layers, Integer.parseInt(x.group(2)) + 1);
                } else {
                    others.add(n);
                }
            }
        }
        long vocab = config.path("vocab_size").asLong(-1);
        List<WeightTemplate> pre = new ArrayList<>();
        for (String n : others) {
            boolean everywhere = modelTensors.stream().allMatch(m -> m.containsKey(n));
            long[] shape = modelTensors.stream().filter(m -> m.containsKey(n)).findFirst().get().get(n);
            boolean embedding = shape.length == 2 && shape[0] == vocab
                    || n.contains("embed_tokens") || n.contains("wte") || n.contains("lm_head");
            pre.add(new WeightTemplate(n, embedding ? 0 : -1, !everywhere, List.of(), List.of()));
        }
        List<WeightTemplate> layer = new ArrayList<>();
        for (String suffix : suffixes) {
            boolean everywhere = true;
            for (Map<String, long[]> m : modelTensors) {
                for (int l = 0; l < layers && everywhere; l++) {
                    everywhere = m.containsKey(prefix + "." + l + "." + suffix);
                }
            }
            layer.add(new WeightTemplate(prefix + ".${layer}." + suffix, -1, !everywhere, List.of(), List.of()));
        }
        return new Architecture("inferred:" + className, config.path("model_type").asText(""), List.of(className),
                "", List.copyOf(pre), List.copyOf(layer), List.of(), layers);
    }
}
