package org.mergelab.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The decoder families the forward pass runs, each described by how it differs from Llama: Mistral is Llama with a
 * sliding attention window, Qwen2 adds biases to the q, k and v projections, Qwen3 normalises each head's queries
 * and keys (RMSNorm over the head dimension) before the rotary embedding.
 */
public enum Family {
    LLAMA("llama", "LlamaForCausalLM", false, false),
    MISTRAL("mistral", "MistralForCausalLM", false, false),
    QWEN2("qwen2", "Qwen2ForCausalLM", true, false),
    QWEN3("qwen3", "Qwen3ForCausalLM", false, true);

    private final String modelType;
    private final String architecture;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Family(String modelType, String architecture, boolean qkvBias, boolean qkNorm) {
        this.modelType = modelType;
        this.architecture = architecture;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public String modelType() { return modelType; }

    public String architecture() { return architecture; }

    /** q_proj, k_proj and v_proj always carry a bias (whatever attention_bias says). */
    public boolean qkvBias() { return qkvBias; }

    /** self_attn.q_norm and k_norm: RMSNorm of each head's queries and keys. */
    public boolean qkNorm() { return qkNorm; }

    /** The family of a config.json's {@code architectures[0]} (and model_type), or an error listing those supported. */
    static Family of(String architecture, String modelType, String where) {
        for (Family f : values()) {
            if (f.architecture.equals(architecture)) return f;
        }
        if (architecture == null || architecture.isEmpty()) {
            for (Family f : values()) {
                if (f.modelType.equals(modelType)) return f;
            }
        }
        throw new UnsupportedModelException(where + ": architecture " + (architecture == null ? "(none)" : architecture)
                + (modelType.isEmpty() ? "" : " (model_type " + modelType + ")")
                + " is not supported by the forward pass; supported: " + supported());
    }

    static String supported() {
        return Arrays.stream(values()).map(f -> f.architecture + " (" + f.modelType + ")")
                .collect(Collectors.joining(", "));
    }
}
