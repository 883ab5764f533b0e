package org.mergelab.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a llama2.c v0 checkpoint and its SentencePiece tokenizer into a Hugging Face {@code LlamaForCausalLM}
 * folder that transformers loads unchanged: config.json, generation_config.json, model.safetensors (float32, q/k
 * rows in rotate-half order, embeddings tied unless the file has its own classifier) and the tokenizer files.
 */
public final class Llama2cImporter {
    private Llama2cImporter() {}

    /** llama2.c array name to the Hugging Face tensor name; {@code %d} is the layer. */
    static final Map<String, String> HF_NAMES = new LinkedHashMap<>();

    static {
        HF_NAMES.put("tok_embeddings", "model.embed_tokens.weight");
        HF_NAMES.put("rms_att", "model.layers.%d.input_layernorm.weight");
        HF_NAMES.put("wq", "model.layers.%d.self_attn.q_proj.weight");
        HF_NAMES.put("wk", "model.layers.%d.self_attn.k_proj.weight");
        HF_NAMES.put("wv", "model.layers.%d.self_attn.v_proj.weight");
        HF_NAMES.put("wo", "model.layers.%d.self_attn.o_proj.weight");
        HF_NAMES.put("rms_ffn", "model.layers.%d.post_attention_layernorm.weight");
        HF_NAMES.put("w1", "model.layers.%d.mlp.gate_proj.weight");
        HF_NAMES.put("w2", "model.layers.%d.mlp.down_proj.weight");
        HF_NAMES.put("w3", "model.layers.%d.mlp.up_proj.weight");
        HF_NAMES.put("rms_final", "model.norm.weight");
        HF_NAMES.put("wcls", "lm_head.weight");
    }

    public static String hfName(Llama2cFile.Entry e) {
        String template = HF_NAMES.get(e.name());
        if (template == null) return null; // freq_cis tables: transformers recomputes them from rope_theta
        return e.layer() >= 0 ? String.format(template, e.layer()) : template;
    }

    /** Imports into {@code out}, which must not exist unless {@code overwrite}; written atomically. */
    public static Path importModel(Path modelBin, Path tokenizerModel, Path out, boolean overwrite) throws IOException {
        Llama2cFile file = Llama2cFile.open(modelBin);
        SentencePieceModel sp = SentencePieceModel.read(tokenizerModel);
        Llama2cFile.Config c = file.config();
        if (sp.size() != c.vocabSize()) {
            throw new CheckpointException(tokenizerModel + " has " + sp.size() + " pieces but " + modelBin
                    + " has a vocabulary of " + c.vocabSize());
        }
        try (OutputFolder folder = OutputFolder.create(out, overwrite)) {
            List<TensorSpec> specs = new ArrayList<>();
            List<Llama2cFile.Entry> kept = new ArrayList<>();
            for (Llama2cFile.Entry e : file.entries()) {
                String name = hfName(e);
                if (name == null) continue;
                specs.add(new TensorSpec(name, DType.F32, e.shape()));
                kept.add(e);
            }
            try (SafetensorsWriter w = SafetensorsWriter.create(folder.resolve(Checkpoint.SINGLE_FILE), specs)) {
                for (Llama2cFile.Entry e : kept) {
                    float[] data = file.read(e);
                    if (e.name().equals("wq")) data = RotaryLayout.interleavedToHalves(data, c.nHeads(), c.dim());
                    if (e.name().equals("wk")) data = RotaryLayout.interleavedToHalves(data, c.nKvHeads(), c.dim());
                    w.write(hfName(e), data);
                }
                w.finish();
            }
            Json.write(folder.resolve("config.json"), config(c));
            Json.write(folder.resolve("generation_config.json"), generationConfig(sp));
            HfTokenizerFiles.write(tokenizerModel, sp, folder.dir(), c.seqLen());
            Files.writeString(folder.resolve("README.md"), card(modelBin, tokenizerModel, c));
            return folder.commit();
        }
    }

    static ObjectNode config(Llama2cFile.Config c) {
        ObjectNode n = Json.object();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("attention_bias", false);
        n.put("attention_dropout", 0.0);
        n.put("bos_token_id", 1);
        n.put("eos_token_id", 2);
        n.put("head_dim", c.headSize());
        n.put("hidden_act", "silu");
        n.put("hidden_size", c.dim());
        n.put("initializer_range", 0.02);
        n.put("intermediate_size", c.hiddenDim());
        n.put("max_position_embeddings", c.seqLen());
        n.put("mlp_bias", false);
        n.put("model_type", "llama");
        n.put("num_attention_heads", c.nHeads());
        n.put("num_hidden_layers", c.nLayers());
        n.put("num_key_value_heads", c.nKvHeads());
        n.put("pretraining_tp", 1);
        // llama2.c's model.py uses norm_eps 1e-5 and theta 10000 for every exported model.
        n.put("rms_norm_eps", 1e-5);
        n.putNull("rope_scaling");
        n.put("rope_theta", 10000.0);
        n.put("tie_word_embeddings", c.sharedClassifier());
        n.put("torch_dtype", "float32");
        n.put("use_cache", true);
        n.put("vocab_size", c.vocabSize());
        return n;
    }

    static ObjectNode generationConfig(SentencePieceModel sp) {
        ObjectNode n = Json.object();
        n.put("bos_token_id", sp.bosId());
        // llama2.c trains on BOS-separated documents without EOS, and its sampler stops when BOS comes out again.
        n.putArray("eos_token_id").add(sp.eosId()).add(sp.bosId());
        return n;
    }

    private static String card(Path modelBin, Path tokenizer, Llama2cFile.Config c) {
        return "---\nlibrary_name: transformers\ntags:\n- llama2.c\n- mergelab\n---\n"
                + "# " + modelBin.getFileName().toString().replaceFirst("\\.bin$", "") + "\n\n"
                + "Imported by MergeLab from the llama2.c checkpoint `" + modelBin.getFileName() + "` with tokenizer `"
                + tokenizer.getFileName() + "`.\n\n"
                + "| dim | hidden | layers | heads | kv heads | vocab | context | tied embeddings |\n"
                + "|---|---|---|---|---|---|---|---|\n"
                + "| " + c.dim() + " | " + c.hiddenDim() + " | " + c.nLayers() + " | " + c.nHeads() + " | " + c.nKvHeads()
                + " | " + c.vocabSize() + " | " + c.seqLen() + " | " + c.sharedClassifier() + " |\n\n"
                + "The query and key rows are permuted from llama2.c's interleaved rotary layout to the rotate-half layout"
                + " of transformers; generation stops at EOS or at BOS, as llama2.c's sampler does.\n";
    }
}
