"""Makes two tiny Llama GGUF files, in F16 and in Q8_0, and the values MergeLab's GGUF import must produce from them.

What it makes, under toolkit/src/test/resources/reference/formats/gguf/:
  tiny-llama-f16.gguf   a 2-layer Llama (hidden 32, 4 heads, 2 KV heads, FFN 64, vocab 300, untied output) written
  tiny-llama-q8_0.gguf  by gguf-py's GGUFWriter the way llama.cpp's convert_hf_to_gguf.py writes Llama: the seeded
                        Hugging Face weights with q/k rows permuted to llama.cpp's interleaved rotary order (the
                        converter's reshape(heads, 2, head_dim/2, cols).swapaxes(1, 2)), 2-D weights in F16 or
                        Q8_0 (gguf.quants.quantize), norms in F32, and a SentencePiece vocabulary (byte pieces plus
                        a few words) with scores and token types.
  tiny-llama.json       the metadata written, and per Hugging Face tensor name the dtype MergeLab should store and
                        the sha256 of the float32 little-endian values it should hold: gguf.quants.dequantize of
                        what was written, with the q/k rows permuted back to Hugging Face order (which also equals
                        the seeded values themselves for F32 tensors, and their float16 rounding for F16 ones).

The real-model check needs no reference: the test imports shared/models/stories260K/stories260K.gguf and compares it
with the llama2.c import of stories260K.bin.

Exact command (from the repository root; gguf is installed in the venv with `pip install gguf`):
  /work/venv-ref/bin/python toolkit/src/test/python/make_gguf_fixtures.py
"""
import hashlib
import importlib.metadata as md
import json
import sys
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

OUT = mergelab_ref.REFERENCE / "formats" / "gguf"
HIDDEN, HEADS, KV_HEADS, FFN, LAYERS, CONTEXT = 32, 4, 2, 64, 2, 128


def vocab():
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    words = ["\u2581", "e", "t", "a", "o", "h", "n", "\u2581t", "he", "\u2581the", "\u2581a", "an", "\u2581an",
             "in", "\u2581in", "on", "\u2581on", "at", "\u2581at", "re", "er", "\u2581he", "ha", "\u2581ha", "nd",
             "\u2581and", "to", "\u2581to", "ne", "en", "\u2581o", "\u2581e", "th", "ea", "ee", "tt", "oo", "ah",
             "na", "no", "\u2581no"]
    while len(tokens) + len(words) < 300:
        words.append(f"\u2581w{len(words)}")
    scores = [0.0] * len(tokens) + [-float(i) for i in range(len(words))]
    return tokens + words, scores, types + [1] * len(words)


def llama_cpp_permute(w: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: rotate-half rows to interleaved pairs, per head."""
    return (w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def inverse_permute(w: np.ndarray, heads: int) -> np.ndarray:
    return (w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def hf_weights(rng) -> dict:
    w = {"model.embed_tokens.weight": rng.standard_normal((300, HIDDEN))}
    hd = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(HIDDEN)
        w[p + "self_attn.q_proj.weight"] = rng.standard_normal((HEADS * hd, HIDDEN))
        w[p + "self_attn.k_proj.weight"] = rng.standard_normal((KV_HEADS * hd, HIDDEN))
        w[p + "self_attn.v_proj.weight"] = rng.standard_normal((KV_HEADS * hd, HIDDEN))
        w[p + "self_attn.o_proj.weight"] = rng.standard_normal((HIDDEN, HEADS * hd))
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(HIDDEN)
        w[p + "mlp.gate_proj.weight"] = rng.standard_normal((FFN, HIDDEN))
        w[p + "mlp.up_proj.weight"] = rng.standard_normal((FFN, HIDDEN))
        w[p + "mlp.down_proj.weight"] = rng.standard_normal((HIDDEN, FFN))
    w["model.norm.weight"] = 1 + 0.1 * rng.standard_normal(HIDDEN)
    w["lm_head.weight"] = rng.standard_normal((300, HIDDEN))
    return {k: (0.05 * v if v.ndim == 2 else v).astype(np.float32) for k, v in w.items()}


GGUF_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
              "lm_head.weight": "output.weight", "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q",
              "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}


def gguf_name(hf: str) -> str:
    if hf in GGUF_NAMES:
        return GGUF_NAMES[hf]
    layer, module = hf.split(".")[2], ".".join(hf.split(".")[3:-1])
    return f"blk.{layer}.{GGUF_NAMES[module]}.weight"


def write(path: Path, weights: dict, qtype) -> dict:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(500000.0)
    w.add_rope_dimension_count(HIDDEN // HEADS)
    tokens, scores, types = vocab()
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    expected = {}
    for hf, v in weights.items():
        name = gguf_name(hf)
        if ".attn_q." in name:
            v = llama_cpp_permute(v, HEADS)
        elif ".attn_k." in name:
            v = llama_cpp_permute(v, KV_HEADS)
        if v.ndim == 1:
            w.add_tensor(name, v)
            back, dtype = v, "F32"
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, v.astype(np.float16))
            back, dtype = v.astype(np.float16).astype(np.float32), "F16"
        else:
            q = gguf.quants.quantize(v, qtype)
            w.add_tensor(name, q, raw_dtype=qtype)  # q's shape is in bytes per row
            back, dtype = gguf.quants.dequantize(q, qtype).reshape(v.shape).astype(np.float32), "F32"
        if ".attn_q." in name:
            back = inverse_permute(back, HEADS)
        elif ".attn_k." in name:
            back = inverse_permute(back, KV_HEADS)
        expected[hf] = {"dtype": dtype, "shape": list(back.shape),
                        "sha256": hashlib.sha256(np.ascontiguousarray(back, dtype="<f4").tobytes()).hexdigest()}
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    weights = hf_weights(np.random.default_rng(2024))
    ref = {"gguf": md.version("gguf"), "numpy": np.__version__,
           "metadata": {"max_position_embeddings": CONTEXT, "hidden_size": HIDDEN, "num_attention_heads": HEADS,
                        "num_key_value_heads": KV_HEADS, "intermediate_size": FFN, "num_hidden_layers": LAYERS,
                        "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "vocab_size": 300},
           "f16": write(OUT / "tiny-llama-f16.gguf", weights, gguf.GGMLQuantizationType.F16),
           "q8_0": write(OUT / "tiny-llama-q8_0.gguf", weights, gguf.GGMLQuantizationType.Q8_0)}
    (OUT / "tiny-llama.json").write_text(json.dumps(ref, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
