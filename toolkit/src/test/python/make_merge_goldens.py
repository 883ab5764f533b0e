"""Makes the merge goldens: mergekit 0.1.5's output for five merges of the stories260K family.

What it makes, under toolkit/src/test/resources/reference/golden/:
  <name>/model.safetensors   the merged weights exactly as mergekit-yaml wrote them
  <name>/config.json         mergekit's config.json
  <name>/recipe.yml          a byte copy of the recipe the merge ran (mergekit's mergekit_config.yml is checked
                             to be identical to it)
  <name>/transcendentals.json  for a merge that took acos, sin or cos of float32 values (SLERP): each argument and
                             the value torch returned (see mergelab_ref.TranscendentalRecorder and
                             make_method_goldens.py)
  manifest.json              mergekit / torch / transformers / safetensors / Python versions, the command,
                             and per golden its recipe source, sha256, dtype and tensor count.

From which recipes (models named bare, resolved against the working directory, which is the models folder):
  slerp-shakespeare   recipes/stories260K/slerp-shakespeare.yml as is (bfloat16)
  linear-shakespeare  recipes/stories260K/linear-shakespeare.yml as is (float32)
  linear-family4      reference/recipes/linear-family4.yml: linear, the four models at 0.4/0.3/0.2/0.1, bfloat16
  slerp-fables-t03    reference/recipes/slerp-fables-t03.yml: slerp t=0.3, stories260K -> stories260K-fables, float32
  seed000-babi        reference/recipes/seed000-babi.yml: seed 000's recipe (shared/seeds/000_c9439f8e147e9875.txt,
                      TinyLlama-Hybrid-Merge) with its YAML indentation restored, the two model paths replaced by
                      stories260K / stories260K-babi and layer_range [0, 22] by [0, 5]; otherwise unchanged.
  ties-family         recipes/stories260K/ties-family.yml as is: TIES of the three fine-tunes on stories260K
                      (bfloat16); make_stories_generation_reference.py checks this merge loads and generates in
                      transformers.

From which models: the stories260K family (shared/models/*/*.bin with tok512.model), imported into Hugging Face
folders by MergeLab's Java CLI (`mergelab import-llama2c`, run by this script through mvn/java when a model is
missing from --models), so the inputs are the very folders the Java tests get from DemoModels.ensure.

How mergekit runs: mergekit-yaml's own click entry point (mergekit.scripts.run_yaml.main) is called in-process
with default options plus --quiet. One thing is patched: mergekit.card.is_hf, which asks the Hugging Face Hub
whether a bare model name is a repository while writing README.md; for a name that exists as a local folder it
now answers False without the network (even with HF_HUB_OFFLINE=1 mergekit 0.1.5 calls repo_exists there, which
raises OfflineModeIsEnabled). Only the model card's "base_model" list depends on it; the weights do not.

Exact command used (from the repository root; needs JDK 17 + Maven for the import):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_merge_goldens.py --models /tmp/mlm

Options: --models DIR (folder holding / receiving the imported models; default a temporary folder),
--out DIR (default toolkit/src/test/resources/reference/golden). The data folder is $MERGELAB_DATA or ../shared.
"""
import argparse
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

GOLDENS = [
    ("slerp-shakespeare", "recipes/stories260K/slerp-shakespeare.yml"),
    ("linear-shakespeare", "recipes/stories260K/linear-shakespeare.yml"),
    ("linear-family4", "toolkit/src/test/resources/reference/recipes/linear-family4.yml"),
    ("slerp-fables-t03", "toolkit/src/test/resources/reference/recipes/slerp-fables-t03.yml"),
    ("seed000-babi", "toolkit/src/test/resources/reference/recipes/seed000-babi.yml"),
    ("ties-family", "recipes/stories260K/ties-family.yml"),
]


def patch_card_hub_probe():
    import mergekit.card as card

    original = card.is_hf

    def is_hf(path: str) -> bool:
        if os.path.exists(path):
            return False  # a local folder, never a Hub repository (no network)
        return original(path)

    card.is_hf = is_hf


def run_mergekit_yaml(recipe: Path, out: Path):
    from mergekit.scripts.run_yaml import main

    try:
        main.main(args=[str(recipe), str(out), "--quiet"], standalone_mode=False)
    except SystemExit as e:  # click may still exit with 0
        if e.code not in (0, None):
            raise


def safetensors_summary(path: Path):
    from safetensors import safe_open

    dtypes, count = set(), 0
    with safe_open(str(path), framework="pt") as f:
        for k in f.keys():
            dtypes.add(str(f.get_slice(k).get_dtype()))
            count += 1
    return sorted(dtypes), count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=mergelab_ref.REFERENCE / "golden")
    args = ap.parse_args()

    models = args.models or Path(tempfile.mkdtemp(prefix="mergelab-models-"))
    models = mergelab_ref.import_family(models.resolve())
    patch_card_hub_probe()

    out_root = args.out.resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    entries = []
    work = Path(tempfile.mkdtemp(prefix="mergelab-goldens-"))
    cwd = os.getcwd()
    os.chdir(models)  # bare model names in the recipes resolve against the working directory, as in mergekit
    try:
        for name, recipe_rel in GOLDENS:
            recipe = mergelab_ref.REPO / recipe_rel
            merged = work / name
            recorder = mergelab_ref.TranscendentalRecorder()
            with recorder:
                run_mergekit_yaml(recipe, merged)
            recipe_text = recipe.read_bytes()
            if (merged / "mergekit_config.yml").read_bytes() != recipe_text:
                sys.exit(f"{name}: mergekit_config.yml differs from {recipe_rel}")
            dest = out_root / name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir()
            shutil.copyfile(merged / "model.safetensors", dest / "model.safetensors")
            shutil.copyfile(merged / "config.json", dest / "config.json")
            (dest / "recipe.yml").write_bytes(recipe_text)
            recorder.write(dest / "transcendentals.json")
            dtypes, count = safetensors_summary(dest / "model.safetensors")
            sha = hashlib.sha256((dest / "model.safetensors").read_bytes()).hexdigest()
            entries.append({"name": name, "recipe_source": recipe_rel, "tensors": count, "dtypes": dtypes,
                            "model_safetensors_sha256": sha,
                            "model_safetensors_bytes": (dest / "model.safetensors").stat().st_size})
            print(f"{name}: {count} tensors {dtypes} sha256 {sha[:16]}")
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)

    import torch

    manifest = {
        "made_by": "toolkit/src/test/python/make_merge_goldens.py",
        "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 "
                   "/work/venv-ref/bin/python toolkit/src/test/python/make_merge_goldens.py --models /tmp/mlm",
        "mergekit_invocation": "mergekit-yaml RECIPE OUT --quiet (in-process, cwd = the imported models' folder;"
                               " mergekit.card.is_hf patched to skip the Hub for local folders)",
        "inputs": "stories260K family imported by `mergelab import-llama2c` (float32, tok512)",
        "versions": {
            "mergekit": md.version("mergekit"),
            "torch": torch.__version__,
            "transformers": md.version("transformers"),
            "safetensors": md.version("safetensors"),
            "python": platform.python_version(),
        },
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "goldens": entries,
    }
    (out_root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print("wrote", out_root)


if __name__ == "__main__":
    main()
