package org.mergelab.model;

import java.util.Arrays;
import org.mergelab.io.TensorInfo;

/**
 * Builds a {@link Transformer} from a {@link WeightSource}, one tensor at a time, checking every shape against the
 * config: a tensor that is missing or has the wrong shape is an error naming it and where it was looked for.
 */
final class WeightLoader {
    private final ModelConfig c;
    private final WeightSource src;

    private WeightLoader(ModelConfig c, WeightSource src) {
        this.c = c;
        this.src = src;
    }

    static Transformer load(ModelConfig c, WeightSource src) {
        return new WeightLoader(c, src).load();
    }

    private Transformer load() {
        int hidden = c.hiddenSize(), vocab = c.vocabSize();
        String embedName = "model.embed_tokens.weight";
        float[] embed = tensor(embedName, vocab, hidden);
        Linear head;
        boolean tied = c.tieWordEmbeddings();
        if (!tied && !src.has("lm_head.weight")) {
            throw new UnsupportedModelException(src.describe() + ": lm_head.weight is missing and config.json says "
                    + "tie_word_embeddings is false");
        }
        DecoderLayer[] layers = new DecoderLayer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = layer(l);
        float[] norm = tensor("model.norm.weight", hidden);
        if (tied) {
            head = Linear.fromCheckpointLayout(embedName, embed, vocab, hidden, null);
            embed = null; // rows are gathered from the head's transpose: one copy of the matrix, not two
        } else {
            head = linear("lm_head.weight", vocab, hidden, false);
        }
        return new Transformer(c, embed, layers, norm, head);
    }

    private DecoderLayer layer(int l) {
        String p = "model.layers." + l + ".";
        int hidden = c.hiddenSize(), inter = c.intermediateSize();
        Family f = c.family();
        boolean qkvBias = f.qkvBias() || c.attentionBias();
        boolean oBias = f != Family.QWEN2 && c.attentionBias();
        return new DecoderLayer(
                tensor(p + "input_layernorm.weight", hidden),
                linear(p + "self_attn.q_proj", c.qDim(), hidden, qkvBias),
                linear(p + "self_attn.k_proj", c.kvDim(), hidden, qkvBias),
                linear(p + "self_attn.v_proj", c.kvDim(), hidden, qkvBias),
                linear(p + "self_attn.o_proj", hidden, c.qDim(), oBias),
                f.qkNorm() ? tensor(p + "self_attn.q_norm.weight", c.headDim()) : null,
                f.qkNorm() ? tensor(p + "self_attn.k_norm.weight", c.headDim()) : null,
                tensor(p + "post_attention_layernorm.weight", hidden),
                linear(p + "mlp.gate_proj", inter, hidden, c.mlpBias()),
                linear(p + "mlp.up_proj", inter, hidden, c.mlpBias()),
                linear(p + "mlp.down_proj", hidden, inter, c.mlpBias()),
                c.slidingLayers()[l]);
    }

    private Linear linear(String module, int out, int in, boolean bias) {
        String wName = module.endsWith(".weight") ? module : module + ".weight";
        float[] w = tensor(wName, out, in);
        float[] b = bias ? tensor(module + ".bias", out) : null;
        return Linear.fromCheckpointLayout(wName, w, out, in, b);
    }

    private float[] tensor(String name, long... shape) {
        if (!src.has(name)) {
            throw new UnsupportedModelException(src.describe() + ": tensor " + name + " is missing (expected shape "
                    + TensorInfo.shapeString(shape) + " for " + c.family().architecture() + ")");
        }
        long[] actual = src.shape(name);
        if (!Arrays.equals(actual, shape)) {
            throw new UnsupportedModelException(src.describe() + ": tensor " + name + " has shape "
                    + TensorInfo.shapeString(actual) + " but config.json implies " + TensorInfo.shapeString(shape));
        }
        return src.read(name);
    }
}
