package org.mergelab.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyper-parameters of a decoder, read from a Hugging Face config.json (transformers 4 and 5 spellings both:
 * {@code rope_theta}/{@code rope_scaling} or {@code rope_parameters}).
 *
 * @param slidingWindow   keys further back than this many positions are masked (0: no window)
 * @param slidingLayers   which layers use the window (all, for Mistral; per {@code layer_types} otherwise)
 * @param eosTokenIds     config.json's end-of-sequence ids (generation_config.json may add more)
 */
public record ModelConfig(Family family, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, int vocabSize, double rmsNormEps, Rope rope,
                          int maxPositions, boolean tieWordEmbeddings, int slidingWindow, boolean[] slidingLayers,
                          boolean attentionBias, boolean mlpBias, int bosTokenId, List<Integer> eosTokenIds) {

    /** Parses config.json; {@code where} names it in errors. */
    public static ModelConfig parse(JsonNode c, String where) {
        String arch = c.path("architectures").isArray() && c.path("architectures").size() > 0
                ? c.path("architectures").get(0).asText() : null;
        Family family = Family.of(arch, c.path("model_type").asText(""), where);
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new UnsupportedModelException(where + ": hidden_act '" + act + "' is not supported (only silu)");
        }
        int hidden = required(c, "hidden_size", where);
        int heads = required(c, "num_attention_heads", where);
        int kvHeads = c.path("num_key_value_heads").isInt() ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.path("head_dim").isInt() ? c.get("head_dim").asInt() : hidden / heads;
        if (heads % kvHeads != 0) {
            throw new UnsupportedModelException(where + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int layers = required(c, "num_hidden_layers", where);
        int maxPos = c.path("max_position_embeddings").asInt(2048);

        JsonNode rp = c.has("rope_parameters") && c.get("rope_parameters").isObject() ? c.get("rope_parameters")
                : c.path("rope_scaling");
        double theta = rp.has("rope_theta") ? rp.get("rope_theta").asDouble() : c.path("rope_theta").asDouble(10000.0);
        String ropeType = rp.isObject() ? rp.path("rope_type").asText(rp.path("type").asText("default")) : "default";
        if (rp.path("partial_rotary_factor").asDouble(1.0) != 1.0) {
            throw new UnsupportedModelException(where + ": partial_rotary_factor is not supported");
        }
        Rope rope = Rope.of(ropeType, theta, headDim, rp.path("factor").asDouble(1.0),
                rp.path("low_freq_factor").asDouble(1.0), rp.path("high_freq_factor").asDouble(4.0),
                rp.path("original_max_position_embeddings").asInt(maxPos), where);

        int window = 0;
        boolean[] sliding = new boolean[layers];
        JsonNode sw = c.get("sliding_window");
        if (sw != null && sw.canConvertToInt() && sw.asInt() > 0) {
            JsonNode types = c.get("layer_types");
            if (types != null && types.isArray()) {
                for (int l = 0; l < Math.min(layers, types.size()); l++) {
                    sliding[l] = types.get(l).asText().equals("sliding_attention");
                }
            } else if (family == Family.MISTRAL) {
                java.util.Arrays.fill(sliding, true);
            } else if (c.path("use_sliding_window").asBoolean(false)) {
                int from = c.path("max_window_layers").asInt(layers);
                for (int l = from; l < layers; l++) sliding[l] = true;
            }
            for (boolean s : sliding) if (s) window = sw.asInt();
        }

        List<Integer> eos = new ArrayList<>();
        JsonNode e = c.get("eos_token_id");
        if (e != null && e.isArray()) e.forEach(x -> eos.add(x.asInt()));
        else if (e != null && e.canConvertToInt()) eos.add(e.asInt());
        JsonNode bos = c.get("bos_token_id");
        return new ModelConfig(family, hidden, required(c, "intermediate_size", where), layers, heads, kvHeads,
                headDim, required(c, "vocab_size", where), c.path("rms_norm_eps").asDouble(1e-6), rope, maxPos,
                c.path("tie_word_embeddings").asBoolean(false), window, sliding,
                c.path("attention_bias").asBoolean(false), c.path("mlp_bias").asBoolean(false),
                bos != null && bos.canConvertToInt() ? bos.asInt() : -1, List.copyOf(eos));
    }

    private static int required(JsonNode c, String key, String where) {
        JsonNode n = c.get(key);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new UnsupportedModelException(where + ": config.json has no positive integer '" + key + "'");
        }
        return n.asInt();
    }

    public int qDim() { return numHeads * headDim; }

    public int kvDim() { return numKvHeads * headDim; }

    /** Query heads sharing one key/value head (grouped-query attention). */
    public int groupSize() { return numHeads / numKvHeads; }

    @Override
    public String toString() {
        return String.format("%s: %d layers, hidden %d, %d heads (%d key/value) of %d, intermediate %d, vocab %d, "
                        + "context %d, rope %s theta %.0f%s", family.architecture(), numLayers, hiddenSize, numHeads,
                numKvHeads, headDim, intermediateSize, vocabSize, maxPositions, rope.type(), rope.theta(),
                tieWordEmbeddings ? ", tied head" : "");
    }
}
