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
 * Turns a llama.cpp GGUF file of a Llama-architecture model into a Hugging Face {@code LlamaForCausalLM} folder:
 * config.json from the {@code llama.*} metadata, model.safetensors with the tensors renamed, F32/F16/BF16 kept as
 * they are and Q8_0 dequantized to float32 (exactly: scale times integer), and, for a SentencePiece vocabulary
 * ({@code tokenizer.ggml.model = llama}), tokenizer.model rebuilt from the pieces, scores and types plus the
 * tokenizer files {@link HfTokenizerFiles} derives from it.
 * <p>
 * llama.cpp's converters store Llama's query and key rows in the interleaved-pair rotary order of Meta's original
 * code (they permute transformers' rotate-half rows on the way in), so the import permutes them back, as the llama2.c
 * import does. An output matrix bit-identical to the embedding is a tied embedding written twice: it is dropped and
 * {@code tie_word_embeddings} set, so a tied model imports as tied whatever tool made its GGUF.
 */
public final class GgufImporter {
    private GgufImporter() {}

    /** GGUF tensor name (with %d for the layer) to Hugging Face name. */
    static final Map<String, String> HF_NAMES = new LinkedHashMap<>();

    static {
        HF_NAMES.put("token_embd.weight", "model.embed_tokens.weight");
        HF_NAMES.put("blk.%d.attn_norm.weight", "model.layers.%d.input_layernorm.weight");
        HF_NAMES.put("blk.%d.attn_q.weight", "model.layers.%d.self_attn.q_proj.weight");
        HF_NAMES.put("blk.%d.attn_k.weight", "model.layers.%d.self_attn.k_proj.weight");
        HF_NAMES.put("blk.%d.attn_v.weight", "model.layers.%d.self_attn.v_proj.weight");
        HF_NAMES.put("blk.%d.attn_output.weight", "model.layers.%d.self_attn.o_proj.weight");
        HF_NAMES.put("blk.%d.ffn_norm.weight", "model.layers.%d.post_attention_layernorm.weight");
        HF_NAMES.put("blk.%d.ffn_gate.weight", "model.layers.%d.mlp.gate_proj.weight");
        HF_NAMES.put("blk.%d.ffn_down.weight", "model.layers.%d.mlp.down_proj.weight");
        HF_NAMES.put("blk.%d.ffn_up.weight", "model.layers.%d.mlp.up_proj.weight");
        HF_NAMES.put("output_norm.weight", "model.norm.weight");
        HF_NAMES.put("output.weight", "lm_head.weight");
    }

    /** The Hugging Face name of a GGUF tensor, or null for tensors transformers derives itself (rope_freqs). */
    static String hfName(String gguf) {
        String generic = gguf.replaceFirst("^blk\\.\\d+\\.", "blk.%d.");
        String template = HF_NAMES.get(generic);
        if (template == null) return null;
        if (generic.equals(gguf)) return template;
        int layer = Integer.parseInt(gguf.substring(4, gguf.indexOf('.', 4)));
        return String.format(template, layer);
    }

    /** Imports {@code gguf} into {@code out} (atomically; an existing {@code out} only with {@code overwrite}). */
    public static Path importModel(Path gguf, Path out, boolean overwrite) throws IOException {
        try (GgufFile g = GgufFile.open(gguf)) {
            String arch = g.string("general.architecture");
            if (!"llama".equals(arch)) {
                throw new CheckpointException(gguf + ": architecture '" + arch + "' is not imported (only llama, which"
                        + " covers Llama 1/2/3, TinyLlama, SmolLM and Mistral GGUFs)");
            }
            ModelShape m = ModelShape.of(g);
            List<String> names = new ArrayList<>();
            List<TensorSpec> specs = new ArrayList<>();
            boolean tied = !g.tensors().containsKey("output.weight")
                    || g.sameData("output.weight", "token_embd.weight");
            for (GgufFile.Info t : g.tensors().values()) {
                String hf = hfName(t.name());
                if (hf == null) {
                    if (t.name().equals("rope_freqs.weight")) continue; // transformers recomputes these from rope_scaling
                    throw new CheckpointException(gguf + ": tensor '" + t.name() + "' has no Llama counterpart");
                }
                if (hf.equals("lm_head.weight") && tied) continue;
                names.add(t.name());
                specs.add(new TensorSpec(hf, storedAs(t.type()), t.shape()));
            }
            try (OutputFolder folder = OutputFolder.create(out, overwrite)) {
                try (SafetensorsWriter w = SafetensorsWriter.create(folder.resolve(Checkpoint.SINGLE_FILE), specs)) {
                    for (int i = 0; i < names.size(); i++) {
                        String name = names.get(i);
                        float[] data = g.read(name);
                        if (name.endsWith(".attn_q.weight")) data = RotaryLayout.interleavedToHalves(data, m.heads, m.hidden);
                        if (name.endsWith(".attn_k.weight")) data = RotaryLayout.interleavedToHalves(data, m.kvHeads, m.hidden);
                        w.write(specs.get(i).name(), data);
                    }
                    w.finish();
                }
                DType main = specs.get(0).dtype();
                Json.write(folder.resolve("config.json"), config(g, m, tied, main));
                ObjectNode gen = Json.object();
                gen.put("bos_token_id", g.integer("tokenizer.ggml.bos_token_id", 1));
                gen.put("eos_token_id", g.integer("tokenizer.ggml.eos_token_id", 2));
                Json.write(folder.resolve("generation_config.json"), gen);
                String tokenizer = writeTokenizer(g, folder.dir(), m.context);
                Files.writeString(folder.resolve("README.md"), card(gguf, m, tied, tokenizer));
                return folder.commit();
            }
        }
    }

    private static DType storedAs(GgufFile.GgmlType t) {
        return switch (t) {
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case F32, Q8_0 -> DType.F32;
        };
    }

    /** The dimensions a Llama config needs, from the GGUF metadata (with llama.cpp's defaults where it has them). */
    private record ModelShape(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int context,
                              int headDim) {
        static ModelShape of(GgufFile g) {
            int hidden = req(g, "llama.embedding_length");
            int heads = req(g, "llama.attention.head_count");
            int kv = (int) g.integer("llama.attention.head_count_kv", heads);
            GgufFile.Info emb = g.info("token_embd.weight");
            int vocab = (int) emb.shape()[0];
            int headDim = (int) g.integer("llama.attention.key_length", hidden / heads);
            if (heads <= 0 || kv <= 0 || heads % kv != 0 || headDim % 2 != 0) {
                throw new CheckpointException(g.path() + ": " + heads + " heads and " + kv + " KV heads of size " + headDim
                        + " are not a valid attention layout");
            }
            return new ModelShape(hidden, req(g, "llama.feed_forward_length"), req(g, "llama.block_count"), heads, kv,
                    vocab, req(g, "llama.context_length"), headDim);
        }

        private static int req(GgufFile g, String key) {
            long v = g.integer(key, -1);
            if (v <= 0 || v > Integer.MAX_VALUE) {
                throw new CheckpointException(g.path() + ": metadata " + key + " is missing or invalid (" + v + ")");
            }
            return (int) v;
        }
    }

    /** The same keys, in the same order, as the llama2.c import writes. */
    static ObjectNode config(GgufFile g, ModelShape m, boolean tied, DType dtype) {
        ObjectNode n = Json.object();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("attention_bias", false);
        n.put("attention_dropout", 0.0);
        n.put("bos_token_id", g.integer("tokenizer.ggml.bos_token_id", 1));
        n.put("eos_token_id", g.integer("tokenizer.ggml.eos_token_id", 2));
        n.put("head_dim", m.headDim);
        n.put("hidden_act", "silu");
        n.put("hidden_size", m.hidden);
        n.put("initializer_range", 0.02);
        n.put("intermediate_size", m.intermediate);
        n.put("max_position_embeddings", m.context);
        n.put("mlp_bias", false);
        n.put("model_type", "llama");
        n.put("num_attention_heads", m.heads);
        n.put("num_hidden_layers", m.layers);
        n.put("num_key_value_heads", m.kvHeads);
        n.put("pretraining_tp", 1);
        // GGUF stores these as float32: write the shortest decimal that reads back as that float (1e-05, not
        // 9.999999747378752e-06), which is what the original config said.
        n.put("rms_norm_eps", shortest(g.number("llama.attention.layer_norm_rms_epsilon", 1e-5)));
        n.putNull("rope_scaling");
        n.put("rope_theta", shortest(g.number("llama.rope.freq_base", 10000.0)));
        n.put("tie_word_embeddings", tied);
        n.put("torch_dtype", dtype.torchName());
        n.put("use_cache", true);
        n.put("vocab_size", m.vocab);
        return n;
    }

    private static double shortest(double float32Value) {
        return Double.parseDouble(Float.toString((float) float32Value));
    }

    /** Writes the tokenizer files; returns a sentence for the model card. */
    private static String writeTokenizer(GgufFile g, Path dir, int context) throws IOException {
        String model = g.string("tokenizer.ggml.model");
        if (!"llama".equals(model)) {
            return "The tokenizer (GGUF tokenizer model '" + model + "') was not converted: only SentencePiece"
                    + " ('llama') vocabularies are.";
        }
        List<?> tokens = list(g, "tokenizer.ggml.tokens");
        List<?> scores = g.metadata().containsKey("tokenizer.ggml.scores") ? list(g, "tokenizer.ggml.scores") : null;
        List<?> types = g.metadata().containsKey("tokenizer.ggml.token_type") ? list(g, "tokenizer.ggml.token_type") : null;
        List<SentencePieceModel.Piece> pieces = new ArrayList<>();
        boolean byteFallback = false;
        for (int i = 0; i < tokens.size(); i++) {
            float score = scores == null ? 0f : ((Number) scores.get(i)).floatValue();
            int type = types == null ? 1 : ((Number) types.get(i)).intValue();
            // GGUF numbers token types as SentencePiece does: 1 normal, 2 unknown, 3 control, 4 user-defined,
            // 5 unused, 6 byte.
            SentencePieceModel.PieceType t = type >= 1 && type <= 6 ? SentencePieceModel.PieceType.values()[type - 1]
                    : SentencePieceModel.PieceType.NORMAL;
            byteFallback |= t == SentencePieceModel.PieceType.BYTE;
            pieces.add(new SentencePieceModel.Piece((String) tokens.get(i), score, t));
        }
        int n = pieces.size();
        SentencePieceWriter.Settings s = new SentencePieceWriter.Settings(true, byteFallback,
                id(g, "tokenizer.ggml.unknown_token_id", 0, n), id(g, "tokenizer.ggml.bos_token_id", 1, n),
                id(g, "tokenizer.ggml.eos_token_id", 2, n), id(g, "tokenizer.ggml.padding_token_id", -1, n),
                !Boolean.FALSE.equals(g.metadata().get("tokenizer.ggml.add_space_prefix")), true);
        Path file = dir.resolve("tokenizer.model");
        Files.write(file, SentencePieceWriter.encode(pieces, s));
        HfTokenizerFiles.write(file, SentencePieceModel.read(file), dir, context);
        return "tokenizer.model was rebuilt from the GGUF vocabulary (pieces, scores, types and special ids).";
    }

    private static List<?> list(GgufFile g, String key) {
        if (g.metadata().get(key) instanceof List<?> l) return l;
        throw new CheckpointException(g.path() + ": metadata " + key + " is missing or not an array");
    }

    /** A special token id; GGUF writes "none" as 0xFFFFFFFF (or any id past the vocabulary). */
    private static int id(GgufFile g, String key, int fallback, int vocab) {
        long v = g.integer(key, fallback);
        return v >= 0 && v < vocab ? (int) v : -1;
    }

    private static String card(Path gguf, ModelShape m, boolean tied, String tokenizer) {
        return "---\nlibrary_name: transformers\ntags:\n- gguf\n- mergelab\n---\n"
                + "# " + gguf.getFileName().toString().replaceFirst("\\.gguf$", "") + "\n\n"
                + "Imported by MergeLab from the GGUF file `" + gguf.getFileName() + "`.\n\n"
                + "| hidden | intermediate | layers | heads | kv heads | vocab | context | tied embeddings |\n"
                + "|---|---|---|---|---|---|---|---|\n"
                + "| " + m.hidden + " | " + m.intermediate + " | " + m.layers + " | " + m.heads + " | " + m.kvHeads + " | "
                + m.vocab + " | " + m.context + " | " + tied + " |\n\n"
                + "Query and key rows were permuted from GGUF's interleaved rotary layout to the rotate-half layout of"
                + " transformers; Q8_0 tensors were dequantized to float32. " + tokenizer + "\n";
    }
}
