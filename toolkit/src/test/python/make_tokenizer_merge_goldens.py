"""Makes the tokenizer-merge references: tiny models with different vocabularies, and mergekit 0.1.5's merges of them.

What it makes, under toolkit/src/test/resources/reference/tokenizer-merge/:
  inputs/<model>/          seven tiny Hugging Face folders of our own making (config.json, model.safetensors in
                           float32, tokenizer.json, tokenizer_config.json, chat_template.jinja for two of them), made
                           with transformers and tokenizers from fixed seeds and the fixed texts in this file:
      sp-base     Llama, SentencePiece-style BPE (Metaspace, byte fallback; LlamaTokenizer), 64 tokens, vocab 64
      sp-chatml   sp-base's tokenizer plus the added tokens <|im_start|>, <|im_end|> (ids 64, 65), vocab 66
      sp-padded   sp-base's tokenizer plus <UNUSED_0..3> (ids 64-67) beyond its vocab_size 64
      sp-other    Llama, SentencePiece-style BPE trained on other text: a different vocabulary, vocab 64
      bl-base     Qwen2 (tied embeddings), byte-level BPE (Qwen2Tokenizer), 63 tokens + <|endoftext|>, vocab 64
      bl-chat     bl-base's tokenizer plus special <|im_start|>, <|im_end|>, a chat template, vocab 66
      bl-other    Qwen2, byte-level BPE trained on other text, the same chat template, config vocab_size 72 with
                  64 tokens (embedding rows 64-71 belong to no token, as in Qwen2.5)
  inputs/<scenario>.yml    the recipes (models named bare, relative to inputs/), also those mergekit refuses
                           (ERROR_SCENARIOS; the error it raises is recorded under "errors")
  golden/<scenario>/       mergekit-yaml's output: model.safetensors, config.json, tokenizer.json,
                           tokenizer_config.json, chat_template.jinja and special_tokens_map.json where written
  reference.json           per scenario: mergekit's vocabulary size, added tokens, the tokens the union added
                           beyond the base vocabulary (mergekit numbers those in Rust HashMap order, which differs
                           from run to run), sample texts encoded by mergekit's output tokenizer (ids and tokens,
                           tokenizers library, special tokens added), whether mergekit's output loads in
                           transformers (AutoModelForCausalLM + AutoTokenizer); the built-in chat templates
                           rendered by mergekit's files and by MergeLab's (src/main/resources/.../chat-templates)
                           on sample conversations; versions; and, with --check-mergelab, the same checks run on
                           MergeLab's own output for every recipe (loads in transformers, encodes like mergekit's,
                           tensors equal).

The scenarios mirror mergekit's tests/test_tokenizer.py (base vocab 64, a "chatml" model with 2 extra embedding
rows, a "padded" model with unused added tokens beyond vocab_size; linear with weight 1.0, float32) and add
different vocabularies (sp-other, bl-*), a bfloat16 union and chat templates.

How mergekit runs: mergekit-yaml's click entry point in-process, default options plus --quiet, cwd = inputs/, with
mergekit.card.is_hf patched exactly as in make_merge_goldens.py (no Hub probe for local folders).

Exact command used (from the repository root; --check-mergelab needs JDK 17 + Maven):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_tokenizer_merge_goldens.py --check-mergelab
"""
import argparse
import hashlib
import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402
from make_merge_goldens import patch_card_hub_probe, run_mergekit_yaml  # noqa: E402

ROOT = mergelab_ref.REFERENCE / "tokenizer-merge"
INPUTS = ROOT / "inputs"
GOLDEN = ROOT / "golden"
OUR_TEMPLATES = mergelab_ref.TOOLKIT / "src/main/resources/org/mergelab/merge/vocab/chat-templates"

TEXT_A = """the cat sat on the mat and the dog sat on the rug
a little bird sang in the tall tree near the house
the sun was hot so the cat went to sleep in the shade
she saw a red ball and gave it to the happy dog""".split("\n")
TEXT_B = """once upon a time a brave knight rode through the dark forest
the wizard cast a spell and the castle walls began to glow
dragons flew over mountains while villagers hid in caves
the princess wrote letters with a quill by candle light""".split("\n")
CHAT_TEMPLATE = ("{%- for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor -%}"
                 "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}")
SAMPLES = [
    "the cat sat on the mat",
    "once upon a time a brave knight",
    "<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n",
    "<UNUSED_1> and <s> and </s> as text",
    "caf\u00e9 \u65e5\u672c \U0001F600 123",
    "  two  spaces and trailing ",
    "THE DOG RAN to the tall castle",
]
CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": " Hi there "},
     {"role": "assistant", "content": "Hello. "}, {"role": "user", "content": "Bye"}],
    [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}],
]

# name -> recipe text (models bare, relative to inputs/)
SCENARIOS = {
    "sp-legacy": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-padded
    parameters: {weight: 1.0}
dtype: float32
""",
    "sp-source-base": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-padded
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer_source: base
""",
    "sp-union": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-padded
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer_source: union
""",
    "sp-source-model": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-padded
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer_source: sp-chatml
""",
    "sp-slerp-union": """merge_method: slerp
base_model: sp-base
models:
  - model: sp-base
  - model: sp-chatml
parameters:
  t: 0.5
dtype: float32
tokenizer_source: union
""",
    "sp-force": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer:
  source: union
  tokens:
    "\u2581cat":
      source: sp-chatml
      force: true
    "\u2581dog":
      source: sp-base
      force: true
    "<|im_end|>":
      source: {kind: zero}
    "<extra>":
      source: {kind: model_token, model: sp-chatml, token: "<|im_start|>"}
""",
    "sp-model-token": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer:
  source: base
  tokens:
    "\u2581sat":
      source: {kind: model_token, model: sp-chatml, token_id: 64}
      force: true
    "\u2581the":
      source: {kind: model_token, model: sp-base, token: "<s>"}
      force: true
""",
    "sp-pad16": """merge_method: linear
base_model: sp-chatml
models:
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
tokenizer:
  source: base
  pad_to_multiple_of: 16
""",
    "sp-other-union": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 0.5}
  - model: sp-other
    parameters: {weight: 0.3}
  - model: sp-chatml
    parameters: {weight: 0.2}
dtype: float32
tokenizer_source: union
chat_template: chatml
""",
    "bl-union": """merge_method: linear
base_model: bl-base
models:
  - model: bl-base
    parameters: {weight: 0.5}
  - model: bl-chat
    parameters: {weight: 0.25}
  - model: bl-other
    parameters: {weight: 0.25}
dtype: float32
tokenizer_source: union
chat_template: auto
""",
    "bl-union-bf16-pad": """merge_method: linear
base_model: bl-base
models:
  - model: bl-base
    parameters: {weight: 0.6}
  - model: bl-chat
    parameters: {weight: 0.4}
dtype: bfloat16
tokenizer:
  source: union
  pad_to_multiple_of: 32
  tokens:
    "<|im_start|>":
      source: bl-chat
      force: true
    "<tool>":
      source: {kind: zero}
""",
    "bl-source-other": """merge_method: slerp
base_model: bl-base
models:
  - model: bl-base
  - model: bl-other
parameters:
  t: 0.3
dtype: float32
tokenizer_source: bl-other
""",
    "bl-copy-template": """merge_method: linear
models:
  - model: bl-chat
    parameters: {weight: 1.0}
dtype: float32
chat_template: llama3
""",
}
# Recipes mergekit refuses: name -> recipe text; the error mergekit raises is recorded.
ERROR_SCENARIOS = {
    # Without a tokenizer setting, embeddings of different sizes are not aligned (0.1.4 "rectified" them).
    "sp-legacy-sizes-differ": """merge_method: linear
base_model: sp-base
models:
  - model: sp-base
    parameters: {weight: 1.0}
  - model: sp-padded
    parameters: {weight: 1.0}
  - model: sp-chatml
    parameters: {weight: 1.0}
dtype: float32
""",
}


def train_bpe(texts, vocab_size, special, byte_level):
    import tokenizers
    from tokenizers import Regex, models, pre_tokenizers, trainers

    if byte_level:
        tok = tokenizers.Tokenizer(models.BPE())
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok = tokenizers.Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        # Trained on words, as SentencePiece is; LlamaTokenizer encodes with split=False
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    d = json.loads(tok.to_str())
    return d["model"]["vocab"], [tuple(m) for m in d["model"]["merges"]]


def llama_tokenizer(texts):
    from transformers import LlamaTokenizer

    vocab, merges = train_bpe(texts, 64, ["<unk>", "<s>", "</s>"], byte_level=False)
    assert len(vocab) == 64, len(vocab)
    return LlamaTokenizer(vocab=vocab, merges=merges, add_bos_token=True, add_eos_token=False)


def qwen_tokenizer(texts):
    from transformers import Qwen2Tokenizer

    vocab, merges = train_bpe(texts, 63, [], byte_level=True)
    assert len(vocab) == 63, len(vocab)
    return Qwen2Tokenizer(vocab=vocab, merges=merges)


def save_model(path: Path, arch: str, vocab_rows: int, vocab_size: int, seed: int, tied: bool):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    common = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=2, vocab_size=vocab_rows, tie_word_embeddings=tied,
                  max_position_embeddings=64)
    torch.manual_seed(seed)
    if arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common, bos_token_id=1, eos_token_id=2))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common, bos_token_id=None, eos_token_id=63))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    model.config.vocab_size = vocab_size
    model.save_pretrained(path, safe_serialization=True)
    gen = path / "generation_config.json"
    if gen.exists():
        gen.unlink()


def make_inputs():
    if INPUTS.exists():
        shutil.rmtree(INPUTS)
    INPUTS.mkdir(parents=True)
    sp = llama_tokenizer(TEXT_A)
    save_model(INPUTS / "sp-base", "llama", 64, 64, 1, False)
    sp.save_pretrained(INPUTS / "sp-base")

    save_model(INPUTS / "sp-chatml", "llama", 66, 66, 2, False)
    chat = llama_tokenizer(TEXT_A)
    chat.add_tokens(["<|im_start|>", "<|im_end|>"])
    chat.save_pretrained(INPUTS / "sp-chatml")

    save_model(INPUTS / "sp-padded", "llama", 64, 64, 3, False)
    padded = llama_tokenizer(TEXT_A)
    padded.add_tokens([f"<UNUSED_{i}>" for i in range(4)])
    padded.save_pretrained(INPUTS / "sp-padded")

    save_model(INPUTS / "sp-other", "llama", 64, 64, 4, False)
    llama_tokenizer(TEXT_B).save_pretrained(INPUTS / "sp-other")

    from tokenizers import AddedToken

    save_model(INPUTS / "bl-base", "qwen2", 64, 64, 5, True)
    qwen_tokenizer(TEXT_A).save_pretrained(INPUTS / "bl-base")

    save_model(INPUTS / "bl-chat", "qwen2", 66, 66, 6, True)
    qc = qwen_tokenizer(TEXT_A)
    qc.add_special_tokens({"additional_special_tokens": [AddedToken("<|im_start|>", special=True, normalized=False),
                                                         AddedToken("<|im_end|>", special=True, normalized=False)]})
    qc.chat_template = CHAT_TEMPLATE
    qc.save_pretrained(INPUTS / "bl-chat")

    save_model(INPUTS / "bl-other", "qwen2", 72, 72, 7, True)
    qo = qwen_tokenizer(TEXT_B)
    qo.chat_template = CHAT_TEMPLATE
    qo.save_pretrained(INPUTS / "bl-other")

    for name, text in (SCENARIOS | ERROR_SCENARIOS).items():
        (INPUTS / f"{name}.yml").write_text(text, encoding="utf-8")


INPUT_ADDED_TOKENS = set()
GOLDEN_FILES = ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "chat_template.jinja", "tokenizer.model"]


def describe_output(folder: Path, base_vocab, union: bool):
    """What a merged folder's tokenizer and model look like to the tokenizers library and transformers."""
    import tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = {}
    tok = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    vocab = tok.get_vocab(with_added_tokens=True)
    out["vocab_size"] = len(vocab)
    out["added_tokens"] = [t["content"] for t in json.loads(tok.to_str())["added_tokens"]]
    # Tokens a union took from other models' vocabularies (not added tokens of any input): mergekit numbers them in
    # Rust HashMap order, which changes from run to run.
    out["union_tokens_in_hashmap_order"] = sorted(t for t in vocab if t not in base_vocab
                                                  and t not in INPUT_ADDED_TOKENS) if union else []
    out["encodings"] = []
    for s in SAMPLES:
        e = tok.encode(s, add_special_tokens=True)
        out["encodings"].append({"text": s, "ids": e.ids, "tokens": e.tokens})
    try:
        model = AutoModelForCausalLM.from_pretrained(folder)
        hf_tok = AutoTokenizer.from_pretrained(folder)
        rows = model.get_input_embeddings().weight.shape[0]
        out["transformers"] = {"loads": True, "embedding_rows": rows, "len_tokenizer": len(hf_tok),
                               "chat_template": hf_tok.chat_template,
                               "encodes_like_tokenizers": all(
                                   hf_tok(s)["input_ids"] == e["ids"] for s, e in zip(SAMPLES, out["encodings"]))}
    except Exception as e:  # recorded, not hidden
        out["transformers"] = {"loads": False, "error": repr(e)}
    return out


def all_conversations():
    """Every sequence of 1 to 4 turns over the roles system, user, assistant, user_context (340), with contents that
    have surrounding whitespace and newlines."""
    import itertools

    roles = ["system", "user", "assistant", "user_context"]
    contents = ["Hi", "  padded text \n", "multi\nline"]
    return [[{"role": r, "content": contents[i % 3]} for i, r in enumerate(rs)]
            for n in range(1, 5) for rs in itertools.product(roles, repeat=n)]


def render_templates():
    """Renders mergekit's built-in chat templates and ours with transformers' renderer (bos <s>, eos </s>), with and
    without the generation prompt, on every conversation of all_conversations(); records the count of renders that
    differ and, for CONVERSATIONS, the renders themselves."""
    from transformers.utils.chat_template_utils import render_jinja_template

    import mergekit._data.chat_templates as ct

    def render(t, conv, gen):
        try:
            return render_jinja_template(conversations=[conv], chat_template=t, add_generation_prompt=gen,
                                         bos_token="<s>", eos_token="</s>")[0][0]
        except Exception as e:
            return "ERROR: " + type(e).__name__ + ": " + str(e)

    result = {}
    for name in ["alpaca", "chatml", "llama3", "mistral", "exaone"]:
        theirs = (Path(ct.__file__).parent / f"{name}.jinja").read_text()
        ours = (OUR_TEMPLATES / f"{name}.jinja").read_text()
        renders, differing = 0, 0
        for conv in all_conversations():
            for gen in (False, True):
                renders += 1
                differing += render(theirs, conv, gen) != render(ours, conv, gen)
        samples = [{"messages": conv, "add_generation_prompt": gen, "mergekit": render(theirs, conv, gen),
                    "mergelab": render(ours, conv, gen)} for conv in CONVERSATIONS for gen in (False, True)]
        result[name] = {"renders": renders, "differing": differing, "samples": samples}
    return result


def compare_tensors(ours: Path, theirs: Path):
    """Our tensors against mergekit's, rows matched by token for vocabulary tensors (a union's new tokens may be
    numbered differently); lists which tensors, and which rows of vocabulary tensors, are not bit-identical."""
    import tokenizers
    import torch
    from safetensors.torch import load_file

    a, b = load_file(str(ours / "model.safetensors")), load_file(str(theirs / "model.safetensors"))
    res = {"same_names": sorted(a) == sorted(b), "max_abs_diff": 0.0, "bit_identical": True, "differing": {}}
    va = tokenizers.Tokenizer.from_file(str(ours / "tokenizer.json")).get_vocab(with_added_tokens=True)
    vb = tokenizers.Tokenizer.from_file(str(theirs / "tokenizer.json")).get_vocab(with_added_tokens=True)
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            res["bit_identical"] = False
            res["differing"][k] = f"shape/dtype {tuple(x.shape)} {x.dtype} vs {tuple(y.shape)} {y.dtype}"
            continue
        vocab_tensor = "embed_tokens" in k or "lm_head" in k
        if vocab_tensor:
            perm = list(range(x.shape[0]))
            for tok, j in vb.items():
                perm[j] = va[tok]
            x = x[perm]
        d = float((x.double() - y.double()).abs().max()) if x.numel() else 0.0
        res["max_abs_diff"] = max(res["max_abs_diff"], d)
        if not torch.equal(x, y):
            res["bit_identical"] = False
            rows = sorted({int(r) for r in (x != y).nonzero()[:, 0]}) if vocab_tensor else None
            res["differing"][k] = {"max_abs_diff": d, "rows": rows, "vocab_size": len(vb)}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check-mergelab", action="store_true",
                    help="also run MergeLab's merge on every recipe and check its output (needs JDK + Maven)")
    ap.add_argument("--keep-inputs", action="store_true", help="reuse the committed inputs instead of remaking them")
    args = ap.parse_args()

    if not args.keep_inputs:
        make_inputs()
    patch_card_hub_probe()
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    GOLDEN.mkdir(parents=True)
    import tokenizers

    base_vocabs = {}
    for d in INPUTS.iterdir():
        if (d / "tokenizer.json").is_file():
            INPUT_ADDED_TOKENS.update(t["content"] for t in json.loads((d / "tokenizer.json").read_text())["added_tokens"])
    for name in ["sp-base", "bl-base"]:
        base_vocabs[name] = tokenizers.Tokenizer.from_file(str(INPUTS / name / "tokenizer.json")).get_vocab(True)

    work = Path(tempfile.mkdtemp(prefix="mergelab-tokgoldens-"))
    scenarios, errors = {}, {}
    cwd = os.getcwd()
    os.chdir(INPUTS)
    try:
        for name in SCENARIOS:
            merged = work / name
            run_mergekit_yaml(INPUTS / f"{name}.yml", merged)
            dest = GOLDEN / name
            dest.mkdir()
            files = []
            for f in GOLDEN_FILES:
                if (merged / f).exists():
                    shutil.copyfile(merged / f, dest / f)
                    files.append(f)
            base = "sp-base" if name.startswith("sp") else "bl-base"
            info = describe_output(merged, base_vocabs[base], "union" in SCENARIOS[name])
            info["files"] = files
            info["all_files_written_by_mergekit"] = sorted(os.listdir(merged))
            info["config_vocab_size"] = json.loads((merged / "config.json").read_text())["vocab_size"]
            scenarios[name] = info
            print(name, info["vocab_size"], info["config_vocab_size"], files, info["transformers"].get("loads"))
        for name in ERROR_SCENARIOS:
            try:
                run_mergekit_yaml(INPUTS / f"{name}.yml", work / name)
                errors[name] = None
            except Exception as e:
                errors[name] = type(e).__name__ + ": " + str(e)
            print(name, errors[name])
    finally:
        os.chdir(cwd)

    checks = None
    if args.check_mergelab:
        checks = {}
        cp = mergelab_ref.java_classpath()
        for name in SCENARIOS:
            ours = work / ("mergelab-" + name)
            subprocess.run(["java", "-cp", cp, "org.mergelab.cli.Main", "merge", str(INPUTS / f"{name}.yml"),
                            str(ours)], check=True, cwd=INPUTS)
            base = "sp-base" if name.startswith("sp") else "bl-base"
            info = describe_output(ours, base_vocabs[base], "union" in SCENARIOS[name])
            theirs = scenarios[name]
            same_tokens = True
            for e_ours, e_theirs in zip(info["encodings"], theirs["encodings"]):
                if e_ours["tokens"] != e_theirs["tokens"]:
                    same_tokens = False
            ids_equal = all(a["ids"] == b["ids"] for a, b in zip(info["encodings"], theirs["encodings"]))
            checks[name] = {
                "loads_in_transformers": info["transformers"].get("loads"),
                "transformers": {k: v for k, v in info["transformers"].items() if k != "chat_template"},
                # Our built-in templates are our own texts (equal in behaviour: see chat_templates below).
                "chat_template_same_text": info["transformers"].get("chat_template")
                == theirs["transformers"].get("chat_template"),
                "vocab_size_equal": info["vocab_size"] == theirs["vocab_size"],
                "encodings_same_tokens": same_tokens,
                "encodings_same_ids": ids_equal,
                "tensors": compare_tensors(ours, work / name),
            }
            print("mergelab", name, json.dumps(checks[name])[:400])

    import torch

    reference = {
        "made_by": "toolkit/src/test/python/make_tokenizer_merge_goldens.py",
        "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                   "toolkit/src/test/python/make_tokenizer_merge_goldens.py --check-mergelab",
        "versions": {p: md.version(p) for p in ["mergekit", "transformers", "tokenizers", "safetensors"]}
        | {"torch": torch.__version__, "python": platform.python_version()},
        "samples": SAMPLES,
        "scenarios": scenarios,
        "errors": errors,
        "chat_templates": render_templates(),
        "mergelab_check": checks,
    }
    (ROOT / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    print("wrote", ROOT)


if __name__ == "__main__":
    main()
