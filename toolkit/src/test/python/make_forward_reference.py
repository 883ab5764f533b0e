"""Makes the forward-pass references: tiny Llama-3, Qwen2, Qwen3 and Mistral folders of our own, and what
transformers computes with them and with the stories260K family.

What it makes, under toolkit/src/test/resources/reference/forward/:
  tiny/llama3, tiny/qwen2, tiny/qwen3, tiny/mistral
      Hugging Face folders written by transformers' save_pretrained: random weights (torch seed per model, every
      parameter drawn afresh: matrices and biases N(0, 0.08^2), norm weights 1 + N(0, 0.1^2)), stored in the dtype
      named below, and a tokenizer:
        llama3   LlamaForCausalLM, rope_type llama3 (factor 8, low 1, high 4, original context 32, theta 500000),
                 grouped-query (4 heads, 2 key/value), tied head, bfloat16; byte-level BPE tokenizer trained here
                 with Llama 3's pre-tokenizer (its split regex, then ByteLevel without regex), ignore_merges, BOS
                 <|begin_of_text|> by the post-processor; Llama-3 chat template.
        qwen2    Qwen2ForCausalLM, q/k/v biases, untied head, vocab_size padded 64 beyond the tokenizer, bfloat16;
                 byte-level BPE with Qwen2's pre-tokenizer (NFC, its split regex with single digits), no BOS;
                 ChatML template with a default system message.
        qwen3    Qwen3ForCausalLM, q/k RMSNorm, head_dim 32 (not hidden/heads), tied head, float16; the qwen2
                 tokenizer; ChatML template.
        mistral  MistralForCausalLM, sliding_window 16 (prompts are longer), untied head, float32; transformers'
                 own conversion of tok512.model (Llama-2-style tokenizer.json: Metaspace, byte fallback) with a
                 post-processor adding BOS, as real Llama 2 / Mistral tokenizer.json files have; Mistral template.
  tokenizers/smollm-style/tokenizer.json (+ tokenizer_config.json)
      byte-level BPE trained here with SmolLM's pre-tokenizer (individual digits, then ByteLevel with GPT-2's
      regex), no BOS; used by the corpus tokenizer references only.
  forward-logits.json
      per model (the four tiny folders, the stories260K family and llama2xs): a prompt, its ids (AutoTokenizer,
      special tokens added; sentencepiece with BOS for the llama2.c models), the
      float32 logits transformers computes at a few positions (every vocabulary entry), the argmax at every
      position, and 20 greedy tokens (generate, do_sample=False, no stop token) from a short prompt.
  perplexity-matrix.json
      perplexity of stories260K, its three fine-tunes and llama2xs on the first 40,000 bytes of the four held-out
      texts, by the model cards' procedure (BOS + sentencepiece ids of the text; windows of 256 scored tokens, each
      fed with the token before it, log_softmax in float64 of float32 logits), and the cards' printed values.
  comparison.json
      KL divergence KL(a || b) (mean over positions, nats) and top-1 agreement of stories260K, -shakespeare and
      -fables against each other on the first 4,000 bytes of the TinyStories valid text (BOS + sentencepiece ids,
      windows of 256 scored tokens as above; log_softmax in float64 of float32 logits).
  babi-greedy.json
      the first 200 questions of splits/babi_eval.txt (block up to and including "A:", BOS first), greedy
      continuation of 6 tokens by stories260K-babi and stories260K, and whether it starts with the answer word.

From: shared/models (stories260K family, llama2xs, tok512.model) imported with MergeLab's Java CLI
(`mergelab import-llama2c`, see mergelab_ref.import_family; --models DIR reuses imported folders), shared/datasets
(tokenizer training text: the *_train.txt splits and the TinyStories train sample; evaluation texts as above).
The data folder is $MERGELAB_DATA or ../shared.

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_forward_reference.py --models /tmp/mlm-fw
"""
import argparse
import functools
import importlib.metadata as md
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

# Logits and perplexities are floats: their lists are kept on one line too.
write_json = functools.partial(mergelab_ref.write_json, numbers=mergelab_ref.NUMBERS)

OUT = mergelab_ref.REFERENCE / "forward"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
TRAIN_TEXTS = ["splits/shakespeare_train.txt", "splits/fables_train.txt", "splits/babi_train.txt",
               "tinystories_train_sample/TinyStories-train-first2316.txt"]
# Characters the training text lacks, so that byte-level merges of accented letters, digits and symbols exist.
EXTRA = ("Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe 2024-11-23 3.14159 \u65e5\u672c\u8a9e "
         "\u00a0no-break\u2009thin \U0001F600 ") * 50
LLAMA3_TEMPLATE = (mergelab_ref.REPO / "toolkit/src/test/python/templates/llama3.jinja")
PROMPT_TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.\n"
               "ROMEO: What light through yonder window breaks? 1234 apples cost $5.99 (caf\u00e9 na\u00efve). "
               "The fox said: \"I can't, won't, and shouldn't!\"  Spaces   and\ttabs.\n"
               "Mary went to the kitchen. Q: Where is Mary? A: kitchen.")
SHORT_PROMPT = "Once upon a time"
PPL_TEXTS = [("TinyStories valid", "tinystories_valid_sample/tinystories_val_prefix.txt"),
             ("Shakespeare eval", "splits/shakespeare_eval.txt"), ("bAbI eval", "splits/babi_eval.txt"),
             ("fables eval", "splits/fables_eval.txt")]
PPL_MODELS = ["stories260K", "stories260K-shakespeare", "stories260K-babi", "stories260K-fables", "llama2xs"]
CARD_ROWS = {"stories260K (base)": "stories260K", "stories260K-shakespeare": "stories260K-shakespeare",
             "stories260K-babi": "stories260K-babi", "stories260K-fables": "stories260K-fables",
             "llama2xs (unrelated)": "llama2xs"}


def train_bytelevel(kind: str, data: Path, vocab: int):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if kind == "llama3":
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        tok = Tokenizer(models.BPE(ignore_merges=True))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    elif kind == "qwen2":
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    elif kind == "smollm":
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    else:
        raise ValueError(kind)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    texts = [(data / "datasets" / p).read_text(encoding="utf-8") for p in TRAIN_TEXTS] + [EXTRA]
    tok.train_from_iterator(texts, trainer=trainer)
    if kind == "llama3":
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                          special_tokens=[("<|begin_of_text|>", bos)])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok, specials


def save_tokenizer_folder(tok, out: Path, bos, eos, template, extra_config=None):
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    kw = {"tokenizer_object": tok}
    if bos:
        kw["bos_token"] = bos
    if eos:
        kw["eos_token"] = eos
    fast = PreTrainedTokenizerFast(**kw)
    if template:
        fast.chat_template = template
    fast.save_pretrained(str(out))
    if extra_config:
        cfg_path = out / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        cfg.update(extra_config)
        cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def randomize(model, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))


def make_tiny(name: str, data: Path, work: Path):
    import torch
    from transformers import (AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config)

    out = OUT / "tiny" / name
    if out.exists():
        shutil.rmtree(out)
    templates = mergelab_ref.REPO / "toolkit/src/test/python/templates"
    common = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5)
    if name == "llama3":
        tok, _ = train_bytelevel("llama3", data, 640)
        save_tokenizer_folder(tok, out, "<|begin_of_text|>", "<|eot_id|>",
                              (templates / "llama3.jinja").read_text(encoding="utf-8"))
        vocab = tok.get_vocab_size()
        cfg = LlamaConfig(vocab_size=vocab, tie_word_embeddings=True, bos_token_id=tok.token_to_id("<|begin_of_text|>"),
                          eos_token_id=[tok.token_to_id("<|end_of_text|>"), tok.token_to_id("<|eot_id|>")],
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                          rope_theta=500000.0, **common)
        dtype, seed = torch.bfloat16, 101
    elif name in ("qwen2", "qwen3"):
        tok, _ = train_bytelevel("qwen2", data, 640)
        template = (templates / ("qwen2.jinja" if name == "qwen2" else "chatml.jinja")).read_text(encoding="utf-8")
        save_tokenizer_folder(tok, out, None, "<|im_end|>", template)
        vocab = tok.get_vocab_size()
        eos = [tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")]
        if name == "qwen2":
            cfg = Qwen2Config(vocab_size=vocab + 64, tie_word_embeddings=False, bos_token_id=None, eos_token_id=eos,
                              rope_theta=1000000.0, use_sliding_window=False, **common)
            dtype, seed = torch.bfloat16, 102
        else:
            cfg = Qwen3Config(vocab_size=vocab, tie_word_embeddings=True, head_dim=32, bos_token_id=None,
                              eos_token_id=eos, rope_theta=1000000.0, **common)
            dtype, seed = torch.float16, 103
    elif name == "mistral":
        out.mkdir(parents=True)
        tj = json.loads((mergelab_ref.REFERENCE / "tok512-transformers-tokenizer.json").read_text(encoding="utf-8"))
        # As in the tokenizer.json of real Llama 2 / Mistral / TinyLlama folders: the post-processor adds BOS.
        tj["post_processor"] = {"type": "TemplateProcessing",
                                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                           {"Sequence": {"id": "A", "type_id": 0}}],
                                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": "<s>", "type_id": 1}},
                                         {"Sequence": {"id": "B", "type_id": 1}}],
                                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
        (out / "tokenizer.json").write_text(json.dumps(tj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tcfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer", "legacy": False,
                "clean_up_tokenization_spaces": False,
                "chat_template": (templates / "mistral.jinja").read_text(encoding="utf-8")}
        (out / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2) + "\n", encoding="utf-8")
        vocab = 512
        cfg = MistralConfig(vocab_size=vocab, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                            sliding_window=16, rope_theta=10000.0, **common)
        dtype, seed = torch.float32, 104
    else:
        raise ValueError(name)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg)
    randomize(model, seed)
    model = model.to(dtype)
    model.save_pretrained(str(out))
    return out


def logits_reference(name: str, folder: Path, sentencepiece: bool = False):
    import sentencepiece as spm
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if sentencepiece:  # the stories260K family's true tokenizer is sentencepiece's (the models were trained with it)
        sp = spm.SentencePieceProcessor(model_file=str(mergelab_ref.data_root() / mergelab_ref.TOKENIZER))
        encode = lambda s: [1] + sp.encode(s)  # noqa: E731
    else:
        tok = AutoTokenizer.from_pretrained(str(folder))
        encode = lambda s: tok(s)["input_ids"]  # noqa: E731
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    ids = encode(PROMPT_TEXT)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    n = len(ids)
    positions = sorted({0, 1, n // 2, n - 1})
    short = encode(SHORT_PROMPT)
    with torch.no_grad():
        out = model.generate(torch.tensor([short]), attention_mask=torch.ones(1, len(short), dtype=torch.long),
                             do_sample=False, max_new_tokens=20, min_new_tokens=20, eos_token_id=None,
                             pad_token_id=0)
    return {
        "folder": str(folder.relative_to(mergelab_ref.REFERENCE)) if folder.is_relative_to(mergelab_ref.REFERENCE)
        else "imported from shared/models/" + name,
        "prompt": PROMPT_TEXT,
        "ids": ids,
        "positions": positions,
        "logits": {str(p): [float(f"{x:.8g}") for x in logits[p].tolist()] for p in positions},
        "argmax": logits.argmax(-1).tolist(),
        "short_prompt": SHORT_PROMPT,
        "short_ids": short,
        "greedy": out[0, len(short):].tolist(),
    }


def card_values(data: Path):
    text = (data / "models" / "stories260K-shakespeare" / "MODEL_CARD.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in CARD_ROWS:
            rows[CARD_ROWS[cells[0]]] = [float(c) for c in cells[1:]]
    return rows


def perplexity_matrix(models_dir: Path, data: Path):
    import sentencepiece as spm
    import torch
    from transformers import AutoModelForCausalLM

    sp = spm.SentencePieceProcessor(model_file=str(data / mergelab_ref.TOKENIZER))
    texts = []
    for label, path in PPL_TEXTS:
        raw = (data / "datasets" / path).read_bytes()[:40000].decode("utf-8", errors="ignore")
        texts.append((label, path, [1] + sp.encode(raw)))
    result = {}
    for name in PPL_MODELS:
        model = AutoModelForCausalLM.from_pretrained(str(models_dir / name), dtype=torch.float32).eval()
        row = {}
        for label, path, ids in texts:
            nll, n, start, w = 0.0, 0, 0, 256
            while start + 1 < len(ids):
                chunk = ids[start:start + w + 1]
                with torch.no_grad():
                    lp = torch.log_softmax(model(torch.tensor([chunk])).logits[0].double(), -1)
                for j in range(1, len(chunk)):
                    nll -= lp[j - 1, chunk[j]].item()
                    n += 1
                start += w
            row[label] = {"perplexity": math.exp(nll / n), "tokens": len(ids), "scored": n}
        result[name] = row
        print(name, {k: round(v["perplexity"], 4) for k, v in row.items()})
    return {"texts": [{"label": l, "path": p, "first_bytes": 40000} for l, p in PPL_TEXTS], "models": result}


def agreement_reference(models_dir: Path, data: Path):
    import sentencepiece as spm
    import torch
    from transformers import AutoModelForCausalLM

    sp = spm.SentencePieceProcessor(model_file=str(data / mergelab_ref.TOKENIZER))
    raw = (data / "datasets" / PPL_TEXTS[0][1]).read_bytes()[:4000].decode("utf-8", errors="ignore")
    ids = [1] + sp.encode(raw)
    names = ["stories260K", "stories260K-shakespeare", "stories260K-fables"]
    logp = {}
    for name in names:
        model = AutoModelForCausalLM.from_pretrained(str(models_dir / name), dtype=torch.float32).eval()
        rows, start, w = [], 0, 256
        while start + 1 < len(ids):
            chunk = ids[start:start + w + 1]
            with torch.no_grad():
                rows.append(torch.log_softmax(model(torch.tensor([chunk])).logits[0].double(), -1)[:-1])
            start += w
        logp[name] = torch.cat(rows)
    pairs = []
    for a in names:
        for b in names:
            if a == b:
                continue
            pa, pb = logp[a], logp[b]
            kl = (pa.exp() * (pa - pb)).sum(-1).mean().item()
            top1 = (pa.argmax(-1) == pb.argmax(-1)).double().mean().item()
            pairs.append({"model_a": a, "model_b": b, "kl_a_b": kl, "top1_agreement": top1})
    return {"text": PPL_TEXTS[0][1], "first_bytes": 4000, "window": 256, "positions": len(ids) - 1, "pairs": pairs}


def babi_reference(models_dir: Path, data: Path):
    import sentencepiece as spm
    import torch
    from transformers import AutoModelForCausalLM

    sp = spm.SentencePieceProcessor(model_file=str(data / mergelab_ref.TOKENIZER))
    text = (data / "datasets" / "splits" / "babi_eval.txt").read_text(encoding="utf-8")
    questions = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        for i, line in enumerate(lines):
            if line.startswith("A:"):
                answer = line[2:].strip()
                answer = answer[:-1] if answer.endswith(".") else answer
                questions.append(("\n".join(lines[:i] + ["A:"]), answer))
    questions = questions[:200]
    out = {}
    for name in ["stories260K-babi", "stories260K"]:
        model = AutoModelForCausalLM.from_pretrained(str(models_dir / name), dtype=torch.float32).eval()
        rows = []
        for prompt, answer in questions:
            ids = [1] + sp.encode(prompt)
            with torch.no_grad():
                gen = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                     do_sample=False, max_new_tokens=6, eos_token_id=[1, 2], pad_token_id=0)
            new = gen[0, len(ids):].tolist()
            new = new[:next((k for k, t in enumerate(new) if t in (1, 2)), len(new))]
            cont = sp.decode(new)
            rows.append({"answer": answer, "continuation": cont, "ids": new,
                         "correct": cont.lstrip().startswith(answer)})
        out[name] = {"correct": sum(r["correct"] for r in rows), "total": len(rows), "questions": rows}
        print(name, out[name]["correct"], "/", len(rows))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None, help="folder of imported stories260K-family models")
    args = ap.parse_args()
    data = mergelab_ref.data_root()
    models_dir = args.models or Path(tempfile.mkdtemp(prefix="mergelab-models-"))
    mergelab_ref.import_family(models_dir)
    if not (models_dir / "llama2xs" / "model.safetensors").is_file():
        cp = mergelab_ref.java_classpath()
        subprocess.run(["java", "-cp", cp, "org.mergelab.cli.Main", "import-llama2c",
                        str(data / "models/llama2xs/model.bin"), str(data / mergelab_ref.TOKENIZER),
                        str(models_dir / "llama2xs")], check=True)

    import torch
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mergelab-fw-"))

    smol, _ = train_bytelevel("smollm", data, 640)
    smol_dir = OUT / "tokenizers" / "smollm-style"
    if smol_dir.exists():
        shutil.rmtree(smol_dir)
    save_tokenizer_folder(smol, smol_dir, None, "<|endoftext|>",
                          (mergelab_ref.REPO / "toolkit/src/test/python/templates/chatml.jinja").read_text(encoding="utf-8"))

    logits = {}
    for name in ["llama3", "qwen2", "qwen3", "mistral"]:
        folder = make_tiny(name, data, work)
        logits["tiny-" + name] = logits_reference(name, folder)
        print(name, "ids", len(logits["tiny-" + name]["ids"]), "greedy", logits["tiny-" + name]["greedy"][:8])
    for name in PPL_MODELS:
        logits[name] = logits_reference(name, models_dir / name, sentencepiece=True)
    meta = {"made_by": "toolkit/src/test/python/make_forward_reference.py",
            "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                       "toolkit/src/test/python/make_forward_reference.py --models /tmp/mlm-fw",
            "versions": {"transformers": md.version("transformers"), "torch": torch.__version__,
                         "tokenizers": md.version("tokenizers"), "sentencepiece": md.version("sentencepiece")}}
    write_json(OUT / "forward-logits.json", {**meta, "what": "float32 logits of transformers (CPU) at `positions` "
               "for `ids`; argmax at every position; 20 greedy tokens after short_ids (no stop token)",
               "models": logits})
    ppl = perplexity_matrix(models_dir, data)
    ppl["card"] = {"source": "shared/models/stories260K-shakespeare/MODEL_CARD.md (the same table in every card)",
                   "values": card_values(data)}
    write_json(OUT / "perplexity-matrix.json", {**meta, **ppl})
    write_json(OUT / "comparison.json", {**meta, **agreement_reference(models_dir, data)})
    write_json(OUT / "babi-greedy.json", {**meta, "what": "first 200 questions of splits/babi_eval.txt: prompt = the "
               "block up to and including 'A:', BOS first; greedy, 6 new tokens, stop at BOS/EOS; correct when the "
               "continuation (sentencepiece decode) without leading spaces starts with the answer word",
               "models": babi_reference(models_dir, data)})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
