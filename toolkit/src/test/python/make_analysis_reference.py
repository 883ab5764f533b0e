"""Makes reference/analysis-stories260K-family.json: the figures of MergeLab's analysis tables (multi-model divergence,
task vectors, interpolation geometry) for stories260K and its three fine-tunes, computed with NumPy in float64
straight from the four llama2.c .bin files, independently of MergeLab's importer, reader and analysis code.

What is in it:
- "divergence": each fine-tune against the base, per tensor and whole model: cosine, angle in degrees, norm ratio
  ||b|| / ||a||, relative change and the fraction of elements with a*b < 0.
- "task_vectors": delta = tuned - base computed in float32 (as a float32 merge computes it), then in float64: norm,
  norm / ||base||, fraction of exact zeros and of |delta| <= 1e-5, 1e-4, 1e-3, the share of sum|delta| carried by the
  largest 1% and 10% (k = max(1, floor(f * n))), excess kurtosis, and what TIES's magnitude trimming at density 0.2
  keeps (fraction, L2 share, L1 share); pairwise cosines between task vectors per tensor, per layer and whole model;
  TIES sign statistics among the three (conflict, conflict after trimming each to its top 20%, share of trimmed
  L1 mass whose sign loses the election by the sign of the sum; ties at the threshold broken by index order, a
  stable sort); histogram counts of |delta| in bins [10^(-8 + (b-1)/10), 10^(-8 + b/10)), bin 0 below 1e-8.
- "geometry": stories260K (t = 0) against stories260K-shakespeare (t = 1): per tensor cosine, angle, the norm of the
  linear midpoint and of mergekit's SLERP midpoint, whether |cos| > 0.9995; for t in T, both interpolants built
  element by element for a few tensors and for the whole model (each tensor interpolated on its own): norm and
  cosine with each parent.

Row permutations (llama2.c -> Hugging Face q/k layout) are applied to every model alike, and none of these figures
depends on the order of elements, so llama2.c arrays map one to one onto Hugging Face tensors.

Run from the repository root:
    /work/venv-ref/bin/python toolkit/src/test/python/make_analysis_reference.py
(any Python with NumPy; the data folder is $MERGELAB_DATA, default ../shared beside the checkout).
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mergelab_ref import REFERENCE, data_root  # noqa: E402

OUT = REFERENCE / "analysis-stories260K-family.json"
BASE = "stories260K"
TUNED = ["stories260K-shakespeare", "stories260K-babi", "stories260K-fables"]
THRESHOLDS = [1e-5, 1e-4, 1e-3]
DENSITY = 0.2
T = [0.0, 0.25, 0.5, 0.75, 1.0]
CURVE_TENSORS = ["model.layers.1.self_attn.o_proj.weight", "model.layers.0.input_layernorm.weight",
                 "model.embed_tokens.weight"]

NAMES = {"tok_embeddings": "model.embed_tokens.weight", "rms_att": "model.layers.{}.input_layernorm.weight",
         "wq": "model.layers.{}.self_attn.q_proj.weight", "wk": "model.layers.{}.self_attn.k_proj.weight",
         "wv": "model.layers.{}.self_attn.v_proj.weight", "wo": "model.layers.{}.self_attn.o_proj.weight",
         "rms_ffn": "model.layers.{}.post_attention_layernorm.weight", "w1": "model.layers.{}.mlp.gate_proj.weight",
         "w2": "model.layers.{}.mlp.down_proj.weight", "w3": "model.layers.{}.mlp.up_proj.weight",
         "rms_final": "model.norm.weight"}


def arrays(path):
    """The float32 arrays of a llama2.c v0 checkpoint, under their Hugging Face names."""
    raw = np.fromfile(path, dtype="<i4", count=7)
    dim, hidden, layers, heads, kv_heads, vocab, seq = [int(v) for v in raw]
    kv = dim * kv_heads // heads
    f = np.fromfile(path, dtype="<f4", offset=28)
    out, off = {}, 0

    def take(name, shape, per_layer):
        nonlocal off
        n = int(np.prod(shape))
        for layer in range(layers if per_layer else 1):
            out[NAMES[name].format(layer)] = f[off:off + n].copy()
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


def layer_of(name):
    parts = name.split(".")
    for p in parts:
        if p.isdigit():
            return int(p)
    return None


def cos(x, y):
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def top_k(n, fraction):
    return n if fraction >= 1 else max(1, int(fraction * n))


def divergence(a, b):
    rows = {}
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        c = cos(x, y)
        rows[name] = {"cosine": c, "angle_deg": float(np.degrees(np.arccos(np.clip(c, -1, 1)))),
                      "norm_ratio": float(np.linalg.norm(y) / np.linalg.norm(x)),
                      "rel_change": float(np.linalg.norm(y - x) / np.linalg.norm(x)),
                      "sign_flip": float(np.mean(x * y < 0))}
    x = np.concatenate([a[k].astype(np.float64) for k in a])
    y = np.concatenate([b[k].astype(np.float64) for k in a])
    c = cos(x, y)
    total = {"cosine": c, "angle_deg": float(np.degrees(np.arccos(c))),
             "norm_ratio": float(np.linalg.norm(y) / np.linalg.norm(x)), "sign_flip": float(np.mean(x * y < 0))}
    return {"tensors": rows, "total": total}


def lower_edges():
    return [10.0 ** (-8 + (b - 1) / 10) for b in range(1, 92)]


def histogram(values):
    """Counts of |delta| per bin: 0 below 1e-8, b >= 1 from 10^(-8 + (b-1)/10), the last open-ended."""
    edges = np.array(lower_edges())
    bins = np.searchsorted(edges, values, side="right")  # number of lower edges <= value
    return np.bincount(bins, minlength=92).tolist()


def task_vectors(base, tuned):
    deltas = {m: {k: (t[k] - base[k]).astype(np.float32).astype(np.float64) for k in base} for m, t in tuned.items()}
    models = list(tuned)
    per_model = {}
    for m in models:
        rows = {}
        for name in base:
            d = deltas[m][name]
            n = d.size
            a = np.abs(d)
            s = np.sort(a)[::-1]
            l1 = a.sum()
            k1, k10, kt = top_k(n, 0.01), top_k(n, 0.10), top_k(n, DENSITY)
            c = d - d.mean()
            m2, m4 = np.mean(c ** 2), np.mean(c ** 4)
            row = {"norm": float(np.linalg.norm(d)),
                   "rel_norm": float(np.linalg.norm(d) / np.linalg.norm(base[name].astype(np.float64))),
                   "sparse_0": float(np.mean(d == 0)),
                   "top1_mass": float(s[:k1].sum() / l1), "top10_mass": float(s[:k10].sum() / l1),
                   "kurtosis": float(m4 / m2 ** 2 - 3),
                   "ties_kept": kt / n, "ties_norm_kept": float(np.sqrt((s[:kt] ** 2).sum()) / np.linalg.norm(d)),
                   "ties_mass_kept": float(s[:kt].sum() / l1)}
            for t in THRESHOLDS:
                row["sparse_%s" % ("%.0e" % t).replace("e-0", "e-")] = float(np.mean(a <= t))
            rows[name] = row
        all_mag = np.concatenate([np.abs(deltas[m][k]) for k in base])
        per_model[m] = {"tensors": rows, "histogram": histogram(all_mag)}

    pairs = [(i, j) for i in range(len(models)) for j in range(i + 1, len(models))]
    tensor_cos = {}
    for name in base:
        tensor_cos[name] = {f"{models[i]}|{models[j]}": cos(deltas[models[i]][name], deltas[models[j]][name])
                            for i, j in pairs}
    layer_cos = {}
    layers = sorted({layer_of(k) for k in base if layer_of(k) is not None})
    for layer in layers:
        names = [k for k in base if layer_of(k) == layer]
        vec = {m: np.concatenate([deltas[m][k] for k in names]) for m in models}
        layer_cos[str(layer)] = {f"{models[i]}|{models[j]}": cos(vec[models[i]], vec[models[j]]) for i, j in pairs}
    whole = {m: np.concatenate([deltas[m][k] for k in base]) for m in models}
    whole_cos = {f"{models[i]}|{models[j]}": cos(whole[models[i]], whole[models[j]]) for i, j in pairs}

    conflicts = {}
    for name in base:
        d = np.stack([deltas[m][name] for m in models])  # [models, n]
        n = d.shape[1]
        conflict = np.any(d > 0, axis=0) & np.any(d < 0, axis=0)
        kept = np.zeros_like(d)
        for i in range(len(models)):
            order = np.argsort(-np.abs(d[i]), kind="stable")[:top_k(n, DENSITY)]
            kept[i, order] = d[i, order]
        conflict_trimmed = np.any(kept > 0, axis=0) & np.any(kept < 0, axis=0)
        elected_positive = kept.sum(axis=0) >= 0
        nonzero = kept != 0
        loses = nonzero & ((kept > 0) != elected_positive[None, :])
        conflicts[name] = {"conflict": float(conflict.mean()), "conflict_trimmed": float(conflict_trimmed.mean()),
                           "dropped_mass": float(np.abs(kept[loses]).sum() / np.abs(kept).sum())}
    return {"models": models, "density": DENSITY, "thresholds": THRESHOLDS, "per_model": per_model,
            "tensor_cosines": tensor_cos, "layer_cosines": layer_cos, "whole_model_cosines": whole_cos,
            "sign_conflicts": conflicts}


def slerp_coefficients(x, y, t):
    """mergekit's SLERP coefficients of (x, y), in float64, and whether it falls back to linear."""
    na, nb = np.linalg.norm(x), np.linalg.norm(y)
    c = float(np.clip((x / (na if na > 1e-8 else 1)) @ (y / (nb if nb > 1e-8 else 1)), -1, 1))
    if abs(c) > 0.9995:
        return 1 - t, t, True
    theta = np.arccos(c)
    return np.sin((1 - t) * theta) / np.sin(theta), np.sin(t * theta) / np.sin(theta), False


def geometry(a, b):
    rows = {}
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        c = cos(x, y)
        ca, cb, fallback = slerp_coefficients(x, y, 0.5)
        rows[name] = {"cosine": c, "angle_deg": float(np.degrees(np.arccos(np.clip(c, -1, 1)))),
                      "mid_norm_linear": float(np.linalg.norm(0.5 * x + 0.5 * y)),
                      "mid_norm_slerp": float(np.linalg.norm(ca * x + cb * y)), "colinear_fallback": bool(fallback)}
    curves = {}
    for name in CURVE_TENSORS + ["(whole model)"]:
        keys = list(a) if name == "(whole model)" else [name]
        pts = []
        for t in T:
            for method in ["linear", "slerp"]:
                ps, xs, ys = [], [], []
                for k in keys:
                    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
                    ca, cb = (1 - t, t) if method == "linear" else slerp_coefficients(x, y, t)[:2]
                    ps.append(ca * x + cb * y)
                    xs.append(x)
                    ys.append(y)
                p, x, y = np.concatenate(ps), np.concatenate(xs), np.concatenate(ys)
                pts.append({"t": t, "method": method, "norm": float(np.linalg.norm(p)), "cos_a": cos(p, x),
                            "cos_b": cos(p, y)})
        curves[name] = pts
    return {"a": BASE, "b": TUNED[0], "tensors": rows, "curves": curves}


def main():
    data = data_root()
    base = arrays(data / "models" / BASE / (BASE + ".bin"))
    tuned = {m: arrays(data / "models" / m / (m + ".bin")) for m in TUNED}
    out = {"numpy": np.__version__, "base": BASE,
           "divergence": {m: divergence(base, tuned[m]) for m in TUNED},
           "task_vectors": task_vectors(base, tuned),
           "geometry": geometry(base, tuned[TUNED[0]])}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
