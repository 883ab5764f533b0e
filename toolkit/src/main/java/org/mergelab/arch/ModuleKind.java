package org.mergelab.arch;

import java.util.Locale;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a tensor is for, whatever the family calls it: the labels tables group by and charts draw one line per.
 */
public enum ModuleKind {
    ATTN_Q, ATTN_K, ATTN_V, ATTN_O, ATTN_QKV, MLP_GATE, MLP_UP, MLP_GATE_UP, MLP_DOWN, NORM, EMBED, LM_HEAD, OTHER;

    private static final Pattern LAYER = Pattern.compile("\\.(\\d+)\\.");

    /** The label used in tables: "attn_q", "mlp_down", "lm_head". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ModuleKind of(String tensorName) {
        String n = tensorName.toLowerCase(Locale.ROOT);
        if (n.contains("lm_head") || n.endsWith("wcls") || n.contains("output.weight") && !n.contains("layers")) {
            return LM_HEAD;
        }
        if (n.contains("embed_tokens") || n.contains("wte") || n.contains("tok_embeddings") || n.contains("word_embeddings")
                || n.contains("wpe") || n.contains("embed_positions")) {
            return EMBED;
        }
        if (n.contains("norm") || n.contains(".ln_") || n.contains("ln_f") || n.contains("layernorm")) return NORM;
        // Fused projections first: "qkv_proj" also contains "v_proj".
        if (n.contains("qkv") || n.contains("c_attn") || n.contains("query_key_value")) return ATTN_QKV;
        if (n.contains("q_proj") || n.contains(".wq.") || n.contains("query")) return ATTN_Q;
        if (n.contains("k_proj") || n.contains(".wk.") || n.contains(".key")) return ATTN_K;
        if (n.contains("v_proj") || n.contains(".wv.") || n.contains(".value")) return ATTN_V;
        if (n.contains("o_proj") || n.contains(".wo.") || n.contains("dense") && n.contains("attn")
                || n.contains("attn.c_proj") || n.contains("out_proj")) {
            return ATTN_O;
        }
        if (n.contains("gate_up")) return MLP_GATE_UP;
        if (n.contains("gate_proj") || n.contains(".w1.")) return MLP_GATE;
        if (n.contains("up_proj") || n.contains(".w3.") || n.contains("c_fc") || n.contains("fc1")) return MLP_UP;
        if (n.contains("down_proj") || n.contains(".w2.") || n.contains("mlp.c_proj") || n.contains("fc2")) return MLP_DOWN;
        return OTHER;
    }

    /** The layer a tensor belongs to: the first {@code .N.} in its name ("model.layers.3.mlp..." is layer 3). */
    public static OptionalInt layerOf(String tensorName) {
        Matcher m = LAYER.matcher(tensorName);
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }
}
