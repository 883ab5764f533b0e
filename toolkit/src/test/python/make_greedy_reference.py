"""Makes reference/stories260K-greedy.json: the greedy story of stories260K, from transformers and from llama2.c.

What it makes: toolkit/src/test/resources/reference/stories260K-greedy.json with
  token_ids           the tokens transformers generates greedily (do_sample=False, float32, CPU) from BOS (id 1),
                      up to and excluding the first BOS (1) or EOS (2), at most 512 new tokens (llama2.c's -n 512)
  stopped_by          "bos", "eos" or "max_tokens"
  text                tokenizer.decode(token_ids) with transformers (the first token's leading space stripped, as
                      the Llama decoder's Strip step does)
  llama2c_text        what llama2.c's reference `run` printed for the same model (stdout minus the newline `run`
                      adds after the story); captured by running /work/ext/llama2c/run (or --llama2c-run) when present,
                      otherwise kept from the existing JSON file
  transformers / torch versions, the command used.
The script asserts text == llama2c_text.

From: our imported Hugging Face folder of stories260K (made by MergeLab's Java CLI `mergelab import-llama2c` from
shared/models/stories260K/stories260K.bin and tok512.model, see mergelab_ref.import_family; --model DIR uses an
existing folder instead), and for llama2.c the original stories260K.bin with tok512.bin.

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_greedy_reference.py --model /tmp/mlm/stories260K

llama2.c command it runs:
  /work/ext/llama2c/run DATA/models/stories260K/stories260K.bin -z DATA/models/stories260K/tok512.bin -t 0.0 -n 512
The data folder DATA is $MERGELAB_DATA or ../shared.
"""
import argparse
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

MAX_NEW = 512
BOS, EOS = 1, 2


def llama2c_story(run: Path, data: Path):
    if not run.is_file():
        return None
    model = data / "models" / "stories260K"
    out = subprocess.run([str(run), str(model / "stories260K.bin"), "-z", str(model / "tok512.bin"),
                          "-t", "0.0", "-n", str(MAX_NEW)], capture_output=True, check=True)
    text = out.stdout.decode("utf-8")
    if not text.endswith("\n"):
        sys.exit("llama2.c's output does not end with the newline run.c prints after the story")
    return text[:-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="imported stories260K folder (default: import one)")
    ap.add_argument("--llama2c-run", type=Path, default=Path("/work/ext/llama2c/run"))
    ap.add_argument("--out", type=Path, default=mergelab_ref.REFERENCE / "stories260K-greedy.json")
    args = ap.parse_args()

    model_dir = args.model
    if model_dir is None:
        model_dir = mergelab_ref.import_family(Path(tempfile.mkdtemp(prefix="mergelab-models-")),
                                               ["stories260K"]) / "stories260K"

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        out = model.generate(torch.tensor([[BOS]]), attention_mask=torch.ones(1, 1, dtype=torch.long),
                             do_sample=False, max_new_tokens=MAX_NEW, eos_token_id=[EOS, BOS], pad_token_id=0)
    generated = out[0, 1:].tolist()
    stopped_by = "max_tokens"
    ids = generated
    for i, t in enumerate(generated):
        if t in (BOS, EOS):
            stopped_by = "bos" if t == BOS else "eos"
            ids = generated[:i]
            break
    text = tok.decode(ids)

    llama2c = llama2c_story(args.llama2c_run, mergelab_ref.data_root())
    llama2c_source = "captured from " + str(args.llama2c_run)
    if llama2c is None:
        if not args.out.is_file():
            sys.exit(f"{args.llama2c_run} is missing and there is no stored llama2c_text to keep")
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        llama2c, llama2c_source = previous["llama2c_text"], previous["llama2c_source"]
    if text != llama2c:
        sys.exit("transformers and llama2.c disagree:\n--- transformers\n" + text + "\n--- llama2.c\n" + llama2c)

    ref = {
        "made_by": "toolkit/src/test/python/make_greedy_reference.py",
        "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                   "toolkit/src/test/python/make_greedy_reference.py --model /tmp/mlm/stories260K",
        "model": "stories260K imported by `mergelab import-llama2c` (float32)",
        "prompt_ids": [BOS],
        "decoding": f"greedy (do_sample=False), float32 CPU, stop at BOS {BOS} or EOS {EOS}, "
                    f"at most {MAX_NEW} new tokens",
        "transformers_version": md.version("transformers"),
        "torch_version": torch.__version__,
        "stopped_by": stopped_by,
        "num_tokens": len(ids),
        "token_ids": ids,
        "text": text,
        "llama2c_command": "run stories260K.bin -z tok512.bin -t 0.0 -n 512",
        "llama2c_source": llama2c_source,
        "llama2c_text": llama2c,
    }
    mergelab_ref.write_json(args.out, ref)
    print(f"{len(ids)} tokens, stopped by {stopped_by}; transformers == llama2.c: True; wrote {args.out}")


if __name__ == "__main__":
    main()
