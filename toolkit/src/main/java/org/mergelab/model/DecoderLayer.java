package org.mergelab.model;

/**
 * One decoder layer's weights, named after transformers' modules ({@code model.layers.N.<name>}); shapes in torch
 * order (out, in) as the checkpoint stores them. Optional parts are null.
 */
record DecoderLayer(
        float[] inputLayernorm,         // input_layernorm.weight            (hidden)
        Linear qProj,                   // self_attn.q_proj.weight (+ .bias)  (heads * headDim, hidden)
        Linear kProj,                   // self_attn.k_proj.weight (+ .bias)  (kvHeads * headDim, hidden)
        Linear vProj,                   // self_attn.v_proj.weight (+ .bias)  (kvHeads * headDim, hidden)
        Linear oProj,                   // self_attn.o_proj.weight            (hidden, heads * headDim)
        float[] qNorm,                  // self_attn.q_norm.weight, Qwen3     (headDim)
        float[] kNorm,                  // self_attn.k_norm.weight, Qwen3     (headDim)
        float[] postAttentionLayernorm, // post_attention_layernorm.weight   (hidden)
        Linear gateProj,                // mlp.gate_proj.weight               (intermediate, hidden)
        Linear upProj,                  // mlp.up_proj.weight                 (intermediate, hidden)
        Linear downProj,                // mlp.down_proj.weight               (hidden, intermediate)
        boolean sliding) {              // masks keys beyond the config's sliding window
}
