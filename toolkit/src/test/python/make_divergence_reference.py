"""Makes reference/divergence-stories260K-shakespeare.json: per-tensor divergence figures of stories260K-shakespeare
from stories260K, computed with NumPy in float64 straight from the two llama2.c .bin files (independently of
MergeLab's importer, reader and analysis code). Row permutations (llama2.c -> Hugging Face q/k layout) change none
of these figures, so llama2.c arrays map one to one onto Hugging Face tensors.

Run from the repository root:
    /work/venv-ref/bin/python toolkit/src/test/python/make_divergence_reference.py
(any Python with NumPy; the data folder is $MERGELAB_DATA, default ../shared beside the checkout).
"""
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
DATA = Path(os.environ.get("MERGELAB_DATA", ROOT.parent / "shared"))
OUT = ROOT / "toolkit/src/test/resources/reference/divergence-stories260K-shakespeare.json"

NAMES = {"tok_embeddings": "model.embed_tokens.weight", "rms_att": "model.layers.{}.input_layernorm.weight",
         "wq": "model.layers.{}.self_attn.q_proj.weight", "wk": "model.layers.{}.self_attn.k_proj.weight",
         "wv": "model.layers.{}.self_attn.v_proj.weight", "wo": "model.layers.{}.self_attn.o_proj.weight",
         "rms_ffn": "model.layers.{}.post_attention_layernorm.weight", "w1": "model.layers.{}.mlp.gate_proj.weight",
         "w2": "model.layers.{}.mlp.down_proj.weight", "w3": "model.layers.{}.mlp.up_proj.weight",
         "rms_final": "model.norm.weight"}


def arrays(path):
    raw = np.fromfile(path, dtype="<i4", count=7)
    dim, hidden, layers, heads, kv_heads, vocab, seq = [int(v) for v in raw]
    kv = dim * kv_heads // heads
    f = np.fromfile(path, dtype="<f4", offset=28)
    out, off = {}, 0

    def take(name, shape, per_layer):
        nonlocal off
        n = int(np.prod(shape))
        for l in range(layers if per_layer else 1):
            out[NAMES[name].format(l)] = f[off:off + n].astype(np.float64)
            off += n

    take("tok_embeddings", (abs(vocab), dim), False)
    take("rms_att", (dim,), True)
    take("wq", (dim, dim), True)
    take("wk", (kv, dim), True)
    take("wv", (kv, dim), True)
    take("wo", (dim, dim), True)
    take("rms_ffn", (dim,), True)
    take("w1", (hidden, dim), True)
    take("w2", (dim, hidden), True)
    take("w3", (hidden, dim), True)
    take("rms_final", (dim,), False)
    return out


a = arrays(DATA / "models/stories260K/stories260K.bin")
b = arrays(DATA / "models/stories260K-shakespeare/stories260K-shakespeare.bin")
rows = {}
for name in a:
    x, y = a[name], b[name]
    rows[name] = {"numel": int(x.size), "cosine": float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)),
                  "l2": float(np.linalg.norm(y - x)), "rel_change": float(np.linalg.norm(y - x) / np.linalg.norm(x)),
                  "norm_a": float(np.linalg.norm(x)), "norm_b": float(np.linalg.norm(y))}
X = np.concatenate(list(a.values()))
Y = np.concatenate([b[k] for k in a])
total = {"cosine": float(X @ Y / np.linalg.norm(X) / np.linalg.norm(Y)), "rel_change": float(np.linalg.norm(Y - X) / np.linalg.norm(X))}
OUT.write_text(json.dumps({"a": "stories260K", "b": "stories260K-shakespeare", "numpy": np.__version__,
                           "tensors": rows, "total": total}, indent=1) + "\n")
print("wrote", OUT, len(rows), "tensors; whole-model cosine", total["cosine"])
