"""Makes the merge-method goldens: mergekit 0.1.5's output for every method on the tiny models.

What it makes, under toolkit/src/test/resources/reference/tiny/goldens/:
  <case>/recipe.yml          the recipe mergekit ran (models named as folders of tiny/models/)
  <case>/model.safetensors   mergekit-yaml's merged weights, byte for byte
  <case>/transcendentals.json  for the methods that take acos, sin or cos (slerp, nuslerp, multislerp, karcher)
                             of float32 values: every float32 argument torch received during the merge and the float32 value torch
                             returned, as unsigned 32-bit patterns {"acos": [[argument, value], ...], "sin": ...,
                             "cos": ...}. torch's x86 wheels compute these with Intel MKL's closed vector math
                             library (VML, high-accuracy mode): about 9% of acos and 5% of sin values differ from
                             the correctly rounded result, so MergeLab's tests replay them to check every other
                             operation bit for bit.
  manifest.json              per case: method, working dtype, models' family, tensor count, dtypes, sha256, and
                             for a recipe mergekit refuses, its error message; plus the versions used

From which models: tiny/models/ (made by make_tiny_models.py: random tiny Llama, Qwen2 and GPT-2 families, and
folders named like the Hub models of the seed recipes). From which recipes: the CASES list below (several
parameter settings per method, gradients and filters, bfloat16 / float16 / float32 working dtypes), and the five
seed recipes of recipes/seeds/ copied byte for byte (they name Hub models; tiny/models/ has folders of those names).
DARE and DELLA draw random numbers: their cases run with mergekit's --random-seed 0 and serve distribution checks
(MergeLab's random streams differ from torch's).

How mergekit runs: as make_merge_goldens.py runs it (mergekit-yaml's click entry point in-process, --quiet, the
model card's Hub probe patched for local folders), with the working directory tiny/models.

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \\
      /work/venv-ref/bin/python toolkit/src/test/python/make_method_goldens.py

With --transcendentals-only it reruns just the cases that take acos, sin or cos, checks that mergekit's output is
still byte for byte the committed model.safetensors (its sha256 in manifest.json), and rewrites only their
transcendentals.json.
"""
import hashlib
import importlib.metadata as md
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402
from make_merge_goldens import patch_card_hub_probe, safetensors_summary  # noqa: E402

TINY = mergelab_ref.REFERENCE / "tiny"
MODELS = TINY / "models"
OUT = TINY / "goldens"


def models_form(method, base, entries, params=None, dtype="float32", extra=""):
    """A models: recipe. entries: list of (model, {param: yaml value text})."""
    lines = ["models:"]
    for model, p in entries:
        lines.append(f"  - model: {model}")
        if p:
            lines.append("    parameters:")
            for k, v in p.items():
                lines.append(f"      {k}: {v}")
    lines.append(f"merge_method: {method}")
    if base:
        lines.append(f"base_model: {base}")
    if params:
        lines.append("parameters:")
        for k, v in params.items():
            lines.append(f"  {k}: {v}")
    lines.append(f"dtype: {dtype}")
    return "\n".join(lines) + "\n" + extra


L, LA, LB, LC = "llama-base", "llama-a", "llama-b", "llama-c"
Q, QA, QB, QC = "qwen2-base", "qwen2-a", "qwen2-b", "qwen2-c"
G, GA, GB = "gpt2-base", "gpt2-a", "gpt2-b"
FILTERED = "[{filter: self_attn, value: 0.4}, {filter: mlp, value: 0.7}, {value: 0.55}]"

CASES = [
    # name, family, recipe
    ("linear-llama-f32", "llama", models_form("linear", None, [(LA, {"weight": 0.5}), (LB, {"weight": 0.3}),
                                                                (LC, {"weight": 0.2})])),
    ("slerp-llama-bf16", "llama", models_form("slerp", L, [(L, {}), (LA, {})], dtype="bfloat16",
                                              params={"t": "[{filter: self_attn, value: [0, 0.5, 1]},"
                                                            " {filter: mlp, value: [1, 0.5, 0]}, {value: 0.3}]"})),
    ("nuslerp-llama-f32", "llama", models_form("nuslerp", None, [(LA, {"weight": 0.7}), (LB, {"weight": 0.3})])),
    ("nuslerp-llama-rowwise-bf16", "llama", models_form(
        "nuslerp", L, [(LA, {"weight": 1.0}), (LB, {"weight": 0.5})], dtype="bfloat16",
        params={"nuslerp_flatten": "false", "nuslerp_row_wise": "true"})),
    ("nuslerp-llama-rows-f32", "llama", models_form(
        "nuslerp", L, [(LA, {"weight": 0.4}), (LB, {"weight": 0.6})], params={"nuslerp_flatten": "false"})),
    ("nuslerp-llama-zero-sum-f32", "llama", models_form(
        "nuslerp", L, [(LA, {"weight": -0.5}), (LB, {"weight": 0.5})])),
    ("multislerp-llama-f32", "llama", models_form(
        "multislerp", L, [(LA, {"weight": "[0.2, 0.8]"}), (LB, {"weight": 0.3}), (LC, {"weight": 0.5})])),
    ("multislerp-llama-bf16", "llama", models_form(
        "multislerp", None, [(LA, {"weight": 0.6}), (LB, {"weight": 0.4})], dtype="bfloat16")),
    ("multislerp-llama-unnormalized-f32", "llama", models_form(
        "multislerp", L, [(LA, {"weight": 0.5}), (LB, {"weight": 0.25})], params={"normalize_weights": "false"})),
    ("karcher-llama-f32", "llama", models_form("karcher", None, [(LA, {}), (LB, {}), (LC, {})])),
    ("karcher-llama-bf16", "llama", models_form("karcher", L, [(LA, {}), (LB, {})], dtype="bfloat16",
                                                params={"max_iter": 5, "tol": 1e-5})),
    ("task_arithmetic-llama-f32", "llama", models_form(
        "task_arithmetic", L, [(LA, {"weight": 1.0}), (LB, {"weight": 0.5}), (LC, {"weight": -0.3})],
        params={"lambda": 0.8})),
    ("task_arithmetic-llama-bf16", "llama", models_form(
        "task_arithmetic", L, [(LA, {"weight": "[0.2, 1.0]"}), (LB, {"weight": FILTERED})], dtype="bfloat16",
        params={"normalize": "true"})),
    ("ties-llama-f32", "llama", models_form(
        "ties", L, [(LA, {"weight": 1.0, "density": 0.5}), (LB, {"weight": 0.8, "density": 0.3}),
                    (LC, {"weight": 0.6, "density": 0.7})])),
    ("ties-llama-bf16", "llama", models_form(
        "ties", L, [(LA, {"weight": 1.0, "density": "[0.2, 0.8]"}), (LB, {"weight": 1.0, "density": FILTERED}),
                    (LC, {"weight": 1.0, "density": 0.5})], dtype="bfloat16",
        params={"int8_mask": "true", "lambda": 1.2})),
    ("ties-llama-rescale-f32", "llama", models_form(
        "ties", L, [(LA, {"weight": 0.7, "density": 0.4}), (LB, {"weight": 0.5, "density": 0.6})],
        params={"rescale": "true", "normalize": "false"})),
    ("ties-llama-density0-f32", "llama", models_form(
        "ties", L, [(LA, {"weight": 1.0, "density": 0.0}), (LB, {"weight": 1.0, "density": 0.5})])),
    ("ties-llama-fp16", "llama", models_form(
        "ties", L, [(LA, {"weight": 0.6, "density": 0.5}), (LB, {"weight": 0.4, "density": 0.5})],
        dtype="float16")),
    ("breadcrumbs-llama-f32", "llama", models_form(
        "breadcrumbs", L, [(LA, {"weight": 1.0, "density": 0.8, "gamma": 0.05}),
                           (LB, {"weight": 0.5, "density": 0.7, "gamma": 0.1})])),
    ("breadcrumbs-llama-bf16", "llama", models_form(
        "breadcrumbs", L, [(LA, {"weight": 0.5, "density": 0.9}), (LB, {"weight": 0.5, "density": 0.9}),
                           (LC, {"weight": 0.5, "density": 0.9})], dtype="bfloat16")),
    ("breadcrumbs_ties-llama-f32", "llama", models_form(
        "breadcrumbs_ties", L, [(LA, {"weight": 1.0, "density": 0.6, "gamma": 0.1}),
                                (LB, {"weight": 0.7, "density": 0.5, "gamma": 0.2}),
                                (LC, {"weight": 0.5, "density": 0.9, "gamma": 0.2})])),
    ("breadcrumbs_ties-llama-bf16", "llama", models_form(
        "breadcrumbs_ties", L, [(LA, {"weight": 1.0, "density": 0.5, "gamma": 0.05}),
                                (LB, {"weight": 1.0, "density": 0.5, "gamma": 0.05})], dtype="bfloat16",
        params={"normalize": "true"})),
    ("sce-llama-f32", "llama", models_form("sce", L, [(LA, {}), (LB, {}), (LC, {})], params={"select_topk": 0.5})),
    ("sce-llama-bf16", "llama", models_form("sce", L, [(LA, {}), (LB, {}), (LC, {})], dtype="bfloat16")),
    ("sce-llama-gradient-bf16", "llama", models_form("sce", L, [(LA, {}), (LB, {}), (LC, {})], dtype="bfloat16",
                                                     params={"select_topk": "[0.3, 0.9]", "int8_mask": "true"})),
    ("ram-llama-f32", "llama", models_form("ram", L, [(LA, {}), (LB, {}), (LC, {})])),
    ("ram-llama-bf16", "llama", models_form("ram", L, [(LA, {}), (LB, {}), (LC, {})], dtype="bfloat16",
                                            params={"epsilon": 0.008})),
    ("ramplus_tl-llama-f32", "llama", models_form("ramplus_tl", L, [(LA, {}), (LB, {}), (LC, {})],
                                                  params={"r": 0.05, "alpha": 1.0, "epsilon": 0.01})),
    ("ramplus_tl-llama-bf16", "llama", models_form("ramplus_tl", L, [(LA, {}), (LB, {}), (LC, {})],
                                                   dtype="bfloat16", params={"epsilon": 0.012})),
    ("model_stock-llama-f32", "llama", models_form("model_stock", L, [(LA, {}), (LB, {}), (LC, {})])),
    ("model_stock-llama-filterwise-bf16", "llama", models_form(
        "model_stock", L, [(LA, {}), (LB, {}), (LC, {})], dtype="bfloat16", params={"filter_wise": "true"})),
    ("model_stock-llama-filterwise-f32", "llama", models_form(
        "model_stock", L, [(LA, {}), (LB, {})], params={"filter_wise": "true"})),
    ("nearswap-llama-f32", "llama", models_form("nearswap", L, [(L, {}), (LA, {})], params={"t": 0.005})),
    ("nearswap-llama-bf16", "llama", models_form("nearswap", L, [(L, {}), (LA, {})], dtype="bfloat16",
                                                 params={"t": "[0.001, 0.02]"})),
    ("arcee_fusion-llama-f32", "llama", models_form("arcee_fusion", L, [(L, {}), (LA, {})])),
    ("arcee_fusion-llama-bf16", "llama", models_form("arcee_fusion", L, [(L, {}), (LB, {})], dtype="bfloat16")),
    ("passthrough-llama-bf16", "llama", """slices:
  - sources:
      - model: llama-base
        layer_range: [0, 2]
        parameters:
          scale:
            - filter: o_proj
              value: 0.5
            - value: 1.0
  - sources:
      - model: llama-a
        layer_range: [1, 2]
merge_method: passthrough
dtype: bfloat16
"""),
    ("ties-qwen2-bf16", "qwen2", models_form(
        "ties", Q, [(QA, {"weight": 1.0, "density": 0.5}), (QB, {"weight": 1.0, "density": 0.5}),
                    (QC, {"weight": 1.0, "density": 0.5})], dtype="bfloat16")),
    ("task_arithmetic-qwen2-f32", "qwen2", models_form(
        "task_arithmetic", Q, [(QA, {"weight": 0.5}), (QB, {"weight": 0.5}), (QC, {"weight": 0.5})])),
    ("model_stock-qwen2-bf16", "qwen2", models_form("model_stock", Q, [(QA, {}), (QB, {}), (QC, {})],
                                                    dtype="bfloat16")),
    ("sce-qwen2-f32", "qwen2", models_form("sce", Q, [(QA, {}), (QB, {}), (QC, {})], params={"select_topk": 0.6})),
    ("nuslerp-qwen2-rowwise-f32", "qwen2", models_form(
        "nuslerp", Q, [(QA, {"weight": 0.5}), (QB, {"weight": 0.5})],
        params={"nuslerp_flatten": "false", "nuslerp_row_wise": "true"})),
    ("multislerp-qwen2-bf16", "qwen2", models_form(
        "multislerp", Q, [(QA, {"weight": 1.0}), (QB, {"weight": 1.0}), (QC, {"weight": 1.0})], dtype="bfloat16")),
    ("karcher-qwen2-f32", "qwen2", models_form("karcher", None, [(QA, {}), (QB, {}), (QC, {})])),
    ("breadcrumbs_ties-qwen2-bf16", "qwen2", models_form(
        "breadcrumbs_ties", Q, [(QA, {"weight": 0.5, "density": 0.8, "gamma": 0.1}),
                                (QB, {"weight": 0.5, "density": 0.8, "gamma": 0.1})], dtype="bfloat16")),
    ("ram-qwen2-f32", "qwen2", models_form("ram", Q, [(QA, {}), (QB, {}), (QC, {})], params={"epsilon": 0.01})),
    ("task_arithmetic-gpt2-bf16", "gpt2", models_form(
        "task_arithmetic", G, [(GA, {"weight": 0.7}), (GB, {"weight": 0.3})], dtype="bfloat16")),
    ("ties-gpt2-f32", "gpt2", models_form(
        "ties", G, [(GA, {"weight": 1.0, "density": 0.4}), (GB, {"weight": 1.0, "density": 0.4})])),
    ("slerp-gpt2-f32", "gpt2", models_form("slerp", G, [(G, {}), (GA, {})], params={"t": 0.4})),
    ("linear-gpt2-bf16", "gpt2", models_form("linear", None, [(G, {"weight": 1.0}), (GA, {"weight": 1.0}),
                                                              (GB, {"weight": 1.0})], dtype="bfloat16")),
    ("nuslerp-gpt2-bf16", "gpt2", models_form("nuslerp", None, [(GA, {"weight": 0.3}), (GB, {"weight": 0.7})],
                                              dtype="bfloat16")),
    ("arcee_fusion-gpt2-f32", "gpt2", models_form("arcee_fusion", G, [(G, {}), (GA, {})])),
    ("nearswap-gpt2-bf16", "gpt2", models_form("nearswap", G, [(G, {}), (GB, {})], dtype="bfloat16",
                                               params={"t": 0.01})),
    ("model_stock-gpt2-f32", "gpt2", models_form("model_stock", G, [(GA, {}), (GB, {})])),
    # random methods: mergekit's output with --random-seed 0, for distribution checks
    ("dare_ties-llama-bf16", "llama", models_form(
        "dare_ties", L, [(LA, {"weight": 0.5, "density": 0.5}), (LB, {"weight": 0.5, "density": 0.3})],
        dtype="bfloat16")),
    ("della-llama-f32", "llama", models_form(
        "della", L, [(LA, {"weight": 1.0, "density": 0.6, "epsilon": 0.2}),
                     (LB, {"weight": 1.0, "density": 0.4, "epsilon": 0.1})], params={"lambda": 0.9})),
]

SEEDS = [
    ("seed000", "000-tinyllama-hybrid-slerp.yml"),
    ("seed001", "001-smollm-135m-slerp.yml"),
    ("seed002", "002-qwen2.5-0.5b-slerp.yml"),
    ("seed003", "003-llama-2-7b-chat-slerp.yml"),
    ("seed004", "004-llama-3.2-3b-dare-ties.yml"),
]


TRANSCENDENTAL_METHODS = ("slerp", "nuslerp", "multislerp", "karcher")


def run_mergekit(recipe: Path, out: Path, seed):
    from mergekit.scripts.run_yaml import main
    args = [str(recipe), str(out), "--quiet"] + (["--random-seed", str(seed)] if seed is not None else [])
    try:
        main.main(args=args, standalone_mode=False)
    except SystemExit as e:
        if e.code not in (0, None):
            raise


def method_of(text):
    for line in text.splitlines():
        if line.startswith("merge_method:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    raise ValueError("no merge_method")


def dtype_of(text):
    for line in text.splitlines():
        if line.startswith("dtype:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    return None


def all_cases():
    cases = [(n, f, t) for n, f, t in CASES]
    for name, file in SEEDS:
        cases.append((name, "seed", (mergelab_ref.REPO / "recipes" / "seeds" / file).read_text(encoding="utf-8")))
    return cases


def transcendentals_only():
    """Reruns the cases that take acos, sin or cos; their outputs must be the committed ones."""
    patch_card_hub_probe()
    manifest = json.loads((OUT / "manifest.json").read_text(encoding="utf-8"))
    committed = {c["name"]: c for c in manifest["cases"]}
    work = Path(tempfile.mkdtemp(prefix="mergelab-method-goldens-"))
    cwd = os.getcwd()
    os.chdir(MODELS)
    try:
        for name, _, text in all_cases():
            if method_of(text) not in TRANSCENDENTAL_METHODS or "mergekit_error" in committed[name]:
                continue
            recipe = work / (name + ".yml")
            recipe.write_text(text, encoding="utf-8")
            recorder = mergelab_ref.TranscendentalRecorder()
            with recorder:
                run_mergekit(recipe, work / name, None)
            digest = hashlib.sha256((work / name / "model.safetensors").read_bytes()).hexdigest()
            if digest != committed[name]["model_safetensors_sha256"]:
                raise SystemExit(f"{name}: mergekit's output is no longer the committed golden")
            recorder.write(OUT / name / "transcendentals.json")
            print(name, {k: len(v) for k, v in recorder.values.items()})
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def main():
    if "--transcendentals-only" in sys.argv[1:]:
        transcendentals_only()
        return
    patch_card_hub_probe()
    import torch
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="mergelab-method-goldens-"))
    cases = all_cases()
    entries = []
    cwd = os.getcwd()
    os.chdir(MODELS)
    try:
        for name, family, text in cases:
            method = method_of(text)
            random = method in ("dare_ties", "dare_linear", "della", "della_linear")
            recipe = work / (name + ".yml")
            recipe.write_text(text, encoding="utf-8")
            dest = OUT / name
            dest.mkdir()
            (dest / "recipe.yml").write_text(text, encoding="utf-8")
            entry = {"name": name, "family": family, "method": method, "dtype": dtype_of(text), "random": random}
            merged = work / name
            recorder = mergelab_ref.TranscendentalRecorder() if method in TRANSCENDENTAL_METHODS else None
            try:
                if recorder:
                    with recorder:
                        run_mergekit(recipe, merged, 0 if random else None)
                else:
                    run_mergekit(recipe, merged, 0 if random else None)
            except Exception as e:  # a recipe mergekit refuses: record why
                entry["mergekit_error"] = f"{type(e).__name__}: {e}"
                print(f"{name}: mergekit refuses: {entry['mergekit_error']}")
                entries.append(entry)
                continue
            shutil.copyfile(merged / "model.safetensors", dest / "model.safetensors")
            if recorder:
                recorder.write(dest / "transcendentals.json")
            dtypes, count = safetensors_summary(dest / "model.safetensors")
            entry.update({"tensors": count, "dtypes": dtypes,
                          "model_safetensors_sha256": hashlib.sha256(
                              (dest / "model.safetensors").read_bytes()).hexdigest()})
            if random:
                entry["mergekit_random_seed"] = 0
            entries.append(entry)
            print(f"{name}: {count} tensors {dtypes}")
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "made_by": "toolkit/src/test/python/make_method_goldens.py",
        "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 "
                   "/work/venv-ref/bin/python toolkit/src/test/python/make_method_goldens.py",
        "inputs": "tiny/models (make_tiny_models.py)",
        "versions": {"mergekit": md.version("mergekit"), "torch": torch.__version__,
                     "transformers": md.version("transformers"), "python": platform.python_version()},
        "machine": platform.machine(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "cases": entries,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(len(entries), "cases in", OUT)


if __name__ == "__main__":
    main()
