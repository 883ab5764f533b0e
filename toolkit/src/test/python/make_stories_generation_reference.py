"""Makes reference/stories260K-ties-family-generation.json: mergekit's TIES merge of the stories260K family loads
in transformers and generates; its perplexities beside the base's and the fine-tunes'.

What it makes: toolkit/src/test/resources/reference/stories260K-ties-family-generation.json with
  recipe                     recipes/stories260K/ties-family.yml (TIES of the three fine-tunes on stories260K, bf16)
  merged_sha256              sha256 of mergekit's model.safetensors for that recipe; the script checks it equals
                             golden/ties-family's (so the Java test, which compares MergeLab's merge with that
                             golden bit for bit, covers the very model checked here)
  loads                      AutoModelForCausalLM.from_pretrained on mergekit's output folder succeeded
  greedy                     per prompt: the tokens transformers generates greedily (float32, CPU) after the
                             prompt's tokens (BOS first), at most 200, stopping at BOS or EOS, and their text
  perplexity                 for the merge, the base and each fine-tune: perplexity on the first 8,000 bytes of each
                             held-out split (BOS, then the text, windows of 256 tokens): TinyStories valid sample and
                             datasets/splits/{shakespeare,babi,fables}_eval.txt
  versions, command.

From: the stories260K family imported by MergeLab's Java CLI (mergelab_ref.import_family; --models DIR reuses a
folder) and mergekit-yaml run as make_merge_goldens.py runs it.

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \\
      /work/venv-ref/bin/python toolkit/src/test/python/make_stories_generation_reference.py --models /tmp/mlm
"""
import argparse
import hashlib
import importlib.metadata as md
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402
from make_merge_goldens import patch_card_hub_probe, run_mergekit_yaml  # noqa: E402

RECIPE = "recipes/stories260K/ties-family.yml"
PROMPTS = ["", "Once upon a time", "The fox and the crow"]
EVAL = {"tinystories_valid": "datasets/tinystories_valid_sample", "shakespeare_eval": "datasets/splits/shakespeare_eval.txt",
        "babi_eval": "datasets/splits/babi_eval.txt", "fables_eval": "datasets/splits/fables_eval.txt"}
BOS, EOS = 1, 2
MAX_NEW = 200
EVAL_BYTES = 8000
WINDOW = 256


def eval_text(data: Path, rel: str) -> str:
    p = data / rel
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in (".txt", ".json", ".jsonl"))
        text = files[0].read_text(encoding="utf-8")
    else:
        text = p.read_text(encoding="utf-8")
    return text[:EVAL_BYTES]


def perplexity(model, tok, text):
    import torch
    ids = [BOS] + tok.encode(text, add_special_tokens=False)
    nll, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, WINDOW):
            chunk = ids[start:start + WINDOW + 1]
            if len(chunk) < 2:
                break
            x = torch.tensor([chunk[:-1]])
            logits = model(x).logits[0].float()
            logp = torch.log_softmax(logits, dim=-1)
            target = torch.tensor(chunk[1:])
            nll -= logp[torch.arange(len(target)), target].sum().item()
            count += len(target)
    return math.exp(nll / count)


def greedy(model, tok, prompt):
    import torch
    ids = [BOS] + (tok.encode(prompt, add_special_tokens=False) if prompt else [])
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=MAX_NEW, eos_token_id=[EOS, BOS], pad_token_id=0)
    gen = out[0, len(ids):].tolist()
    stopped = "max_tokens"
    for i, t in enumerate(gen):
        if t in (BOS, EOS):
            stopped = "bos" if t == BOS else "eos"
            gen = gen[:i]
            break
    return {"prompt": prompt, "token_ids": gen, "stopped_by": stopped, "text": tok.decode(gen)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=mergelab_ref.REFERENCE / "stories260K-ties-family-generation.json")
    args = ap.parse_args()
    models = mergelab_ref.import_family((args.models or Path(tempfile.mkdtemp(prefix="mergelab-models-"))).resolve())
    patch_card_hub_probe()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    work = Path(tempfile.mkdtemp(prefix="mergelab-gen-"))
    merged = work / "ties-family"
    cwd = os.getcwd()
    os.chdir(models)
    try:
        run_mergekit_yaml(mergelab_ref.REPO / RECIPE, merged)
    finally:
        os.chdir(cwd)
    sha = hashlib.sha256((merged / "model.safetensors").read_bytes()).hexdigest()
    golden = json.loads((mergelab_ref.REFERENCE / "golden" / "manifest.json").read_text())
    golden_sha = next(g["model_safetensors_sha256"] for g in golden["goldens"] if g["name"] == "ties-family")
    if sha != golden_sha:
        sys.exit(f"mergekit's merge {sha} differs from golden/ties-family {golden_sha}: run make_merge_goldens.py")

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(merged))
    data = mergelab_ref.data_root()
    texts = {k: eval_text(data, v) for k, v in EVAL.items()}
    result = {"made_by": "toolkit/src/test/python/make_stories_generation_reference.py",
              "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                         "toolkit/src/test/python/make_stories_generation_reference.py --models /tmp/mlm",
              "recipe": RECIPE, "merged_sha256": sha, "golden": "golden/ties-family"}
    model = AutoModelForCausalLM.from_pretrained(str(merged), dtype=torch.float32)
    model.eval()
    result["loads"] = True
    result["merged_config_dtype"] = str(getattr(model.config, "dtype", None))
    result["greedy"] = [greedy(model, tok, p) for p in PROMPTS]
    ppl = {"ties-family (merged)": {k: round(perplexity(model, tok, t), 3) for k, t in texts.items()}}
    for name in mergelab_ref.FAMILY:
        m = AutoModelForCausalLM.from_pretrained(str(models / name), dtype=torch.float32)
        m.eval()
        ppl[name] = {k: round(perplexity(m, tok, t), 3) for k, t in texts.items()}
    result["perplexity"] = ppl
    result["perplexity_procedure"] = (f"first {EVAL_BYTES} bytes of each text, BOS then the text, non-overlapping "
                                      f"windows of {WINDOW} tokens, float32")
    result["versions"] = {"mergekit": md.version("mergekit"), "torch": torch.__version__,
                          "transformers": md.version("transformers")}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in result.items() if k != "greedy"}, indent=1))
    for g in result["greedy"]:
        print(repr(g["prompt"]), "->", g["text"][:160])


if __name__ == "__main__":
    main()
