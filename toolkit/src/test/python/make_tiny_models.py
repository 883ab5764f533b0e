"""Makes the tiny Hugging Face model folders the merge-method goldens are computed from.

Random weights with fixed seeds, built with transformers (so the folders are exactly what transformers writes: its
config.json and model.safetensors), small enough to commit. They are not trained and mean nothing; they exist so
that Python's mergekit 0.1.5 and MergeLab merge the very same tensors.

What it makes, under toolkit/src/test/resources/reference/tiny/models/:
  llama-base, llama-a, llama-b, llama-c     LlamaForCausalLM: vocab 64, hidden 16, intermediate 32, 2 layers,
                                             4 heads (2 key/value heads), separate lm_head; float32
  qwen2-base, qwen2-a, qwen2-b, qwen2-c     Qwen2ForCausalLM: the same sizes, q/k/v biases, tied embeddings; float32
  gpt2-base, gpt2-a, gpt2-b                 GPT2LMHeadModel: vocab 64, 32 positions, n_embd 16, 2 layers, 2 heads
                                             (tensor names transformer.h.N..., tied lm_head); float32
  and, for the five seed recipes of recipes/seeds/, folders named like the Hub models those recipes name (so the
  recipes run byte for byte unchanged from this folder), with the layer counts of the real models but tiny widths
  (vocab 64, hidden 8, intermediate 16, 2 heads, 1 key/value head), stored in bfloat16:
  TinyLlama/TinyLlama-1.1B-step-50K-105b, TinyLlama/TinyLlama-1.1B-Chat-v1.0      Llama, 22 layers (seed 000)
  HuggingFaceTB/SmolLM-135M, HuggingFaceTB/SmolLM-135M-Instruct                    Llama, 30 layers, tied (001)
  Qwen/Qwen2.5-0.5B, Qwen/Qwen2.5-0.5B-Instruct                                    Qwen2, 24 layers, tied (002)
  meta-llama/Llama-2-7b-chat-hf                                                    Llama, 32 layers (seed 003)
  alpindale/Llama-3.2-3B, unsloth/Llama-3.2-3B-Instruct,
  belyakoff/llama-3.2-3b-instruct-fine-tuned, Medragondot/llama-3.2-3b-thinking    Llama, 28 layers, tied (004)

How the weights are drawn (torch.Generator, seed fixed per family): the first model of a family ("base") gets
matrices ~ N(0, 0.1^2), norm weights 1 + N(0, 0.05^2), biases N(0, 0.05^2); every other member is the base plus a
fine-tune-like delta 0.01 * s * (0.6 * common + 0.8 * own), with `common` shared by the family (so signs partly
agree, as real fine-tunes' do) and s ~ U(0.5, 2) per tensor. llama-c and qwen2-c leave a few tensors exactly equal
to the base (zero task vectors: model.norm.weight and layer 1's post_attention_layernorm.weight).

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_tiny_models.py
"""
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

OUT = mergelab_ref.REFERENCE / "tiny" / "models"

FAMILIES = {
    # family: (architecture, sizes, member names, seed, storage dtype)
    "llama": ("llama", dict(hidden=16, inter=32, layers=2, heads=4, kv=2, tied=False),
              ["llama-base", "llama-a", "llama-b", "llama-c"], 1001, torch.float32),
    "qwen2": ("qwen2", dict(hidden=16, inter=32, layers=2, heads=4, kv=2, tied=True),
              ["qwen2-base", "qwen2-a", "qwen2-b", "qwen2-c"], 1002, torch.float32),
    "gpt2": ("gpt2", dict(hidden=16, layers=2, heads=2),
             ["gpt2-base", "gpt2-a", "gpt2-b"], 1003, torch.float32),
    "seed000": ("llama", dict(hidden=8, inter=16, layers=22, heads=2, kv=1, tied=False),
                ["TinyLlama/TinyLlama-1.1B-step-50K-105b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"], 2000,
                torch.bfloat16),
    "seed001": ("llama", dict(hidden=8, inter=16, layers=30, heads=2, kv=1, tied=True),
                ["HuggingFaceTB/SmolLM-135M", "HuggingFaceTB/SmolLM-135M-Instruct"], 2001, torch.bfloat16),
    "seed002": ("qwen2", dict(hidden=8, inter=16, layers=24, heads=2, kv=1, tied=True),
                ["Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct"], 2002, torch.bfloat16),
    "seed003": ("llama", dict(hidden=8, inter=16, layers=32, heads=2, kv=1, tied=False),
                ["meta-llama/Llama-2-7b-chat-hf"], 2003, torch.bfloat16),
    "seed004": ("llama", dict(hidden=8, inter=16, layers=28, heads=2, kv=1, tied=True),
                ["alpindale/Llama-3.2-3B", "unsloth/Llama-3.2-3B-Instruct",
                 "belyakoff/llama-3.2-3b-instruct-fine-tuned", "Medragondot/llama-3.2-3b-thinking"], 2004,
                torch.bfloat16),
}

ZERO_DELTA = ["model.norm.weight", "model.layers.1.post_attention_layernorm.weight"]


def build(arch, s):
    from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)
    if arch == "gpt2":
        cfg = GPT2Config(vocab_size=64, n_positions=32, n_embd=s["hidden"], n_layer=s["layers"], n_head=s["heads"],
                         bos_token_id=1, eos_token_id=2)
        return GPT2LMHeadModel(cfg)
    common = dict(vocab_size=64, hidden_size=s["hidden"], intermediate_size=s["inter"],
                  num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv"],
                  max_position_embeddings=64, tie_word_embeddings=s["tied"], bos_token_id=1, eos_token_id=2)
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**common))
    return Qwen2ForCausalLM(Qwen2Config(**common))


def is_norm(name):
    return "norm" in name or ".ln_" in name


def base_weights(model, gen):
    out = {}
    for name, p in model.state_dict().items():
        if not p.is_floating_point():
            continue
        if is_norm(name) and name.endswith("weight"):
            v = 1 + 0.05 * torch.randn(p.shape, generator=gen)
        elif name.endswith("bias"):
            v = 0.05 * torch.randn(p.shape, generator=gen)
        else:
            v = 0.1 * torch.randn(p.shape, generator=gen)
        out[name] = v
    return out


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    made = []
    for family, (arch, sizes, names, seed, dtype) in FAMILIES.items():
        gen = torch.Generator().manual_seed(seed)
        model = build(arch, sizes)
        base = base_weights(model, gen)
        common = {k: torch.randn(v.shape, generator=gen) for k, v in base.items()}
        for i, name in enumerate(names):
            if i == 0:
                weights = base
            else:
                weights = {}
                for k, v in base.items():
                    own = torch.randn(v.shape, generator=gen)
                    scale = 0.5 + 1.5 * torch.rand((), generator=gen).item()
                    delta = 0.01 * scale * (0.6 * common[k] + 0.8 * own)
                    if name.endswith("-c") and k in ZERO_DELTA:
                        delta = torch.zeros_like(v)
                    weights[k] = v + delta
            sd = model.state_dict()
            with torch.no_grad():
                for k, v in weights.items():
                    sd[k].copy_(v)
            folder = OUT / name
            model.to(dtype).save_pretrained(folder, safe_serialization=True)
            model.to(torch.float32)
            made.append(name)
            print(name, sum(f.stat().st_size for f in folder.iterdir()), "bytes")
    (OUT.parent / "README.md").write_text(
        "# Tiny random models for the merge-method goldens\n\n"
        "Made by `toolkit/src/test/python/make_tiny_models.py` (see its docstring for the exact command and how the\n"
        "weights are drawn). Random, untrained weights. The folders named like Hub models (TinyLlama/..., Qwen/...)\n"
        "are NOT those models: they only share their architecture and layer count, so that the seed recipes of\n"
        "recipes/seeds/ run from this folder byte for byte unchanged.\n\n"
        "Goldens made from them: `goldens/` (by make_method_goldens.py).\n", encoding="utf-8")
    print(len(made), "models in", OUT)


if __name__ == "__main__":
    main()
