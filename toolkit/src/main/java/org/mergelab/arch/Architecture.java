package org.mergelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A model family described as data: the tensors before the layers, the template repeated per layer, the tensors
 * after, and the config key holding the layer count. Adding a family is adding a JSON file under
 * {@code org/mergelab/arch/}.
 */
public record Architecture(String name, String modelType, List<String> classNames, String numLayersKey,
                           List<WeightTemplate> preWeights, List<WeightTemplate> layerWeights,
                           List<WeightTemplate> postWeights, int inferredLayers) {

    /** A known family: the layer count comes from the config. */
    public Architecture(String name, String modelType, List<String> classNames, String numLayersKey,
                        List<WeightTemplate> preWeights, List<WeightTemplate> layerWeights,
                        List<WeightTemplate> postWeights) {
        this(name, modelType, classNames, numLayersKey, preWeights, layerWeights, postWeights, -1);
    }

    /** Whether the layout was inferred from tensor names rather than read from a known family's description. */
    public boolean inferred() {
        return inferredLayers >= 0;
    }

    public List<WeightTemplate> layerWeights(int layer) {
        return layerWeights.stream().map(w -> w.forLayer(layer)).toList();
    }

    /** The layer count a config declares (dotted keys reach into nested configs, e.g. text_config.num_hidden_layers). */
    public int numLayers(JsonNode config) {
        if (inferredLayers >= 0) return inferredLayers;
        JsonNode n = config;
        for (String part : numLayersKey.split("\\.")) n = n == null ? null : n.get(part);
        if (n == null || !n.canConvertToInt()) {
            throw new IllegalArgumentException("config.json has no integer '" + numLayersKey + "' (the layer count of "
                    + name + ")");
        }
        return n.asInt();
    }

    /** Every tensor a checkpoint of {@code layers} layers has, in order. */
    public List<WeightTemplate> allWeights(int layers) {
        List<WeightTemplate> all = new ArrayList<>(preWeights);
        for (int l = 0; l < layers; l++) all.addAll(layerWeights(l));
        all.addAll(postWeights);
        return all;
    }
}
