"""Makes the corpus-wide tokenizer references and the chat-template references for the model package's tests.

What it makes, under toolkit/src/test/resources/reference/forward/:
  tokenizer-corpora.json
      for each tokenizer below and each corpus, the reference encoding of every line (special tokens added, as a
      model sees a text), summarised: line count, id count, and per block of 1024 lines a digest (the first 16 hex
      digits of the sha256 of the lines' ids, each line as comma-separated decimals, lines joined by newlines); a
      digest of the reference decoding of each line's ids (skip_special_tokens=False, lines joined by newlines);
      the same for whole texts (the first 40,000 bytes of each held-out text, one string each); and a few sample
      lines with their ids in full, for readable failures.
        tok512.model                 sentencepiece (SentencePieceProcessor.encode, BOS 1 prepended; decode)
        tok512.json (MergeLab)       our imported stories260K tokenizer.json with the `tokenizers` library
        tok512.json (transformers)   forward/tiny/mistral (transformers' own conversion of tok512.model, with
                                     a BOS post-processor) with the `tokenizers` library
        llama3-style, qwen2-style    forward/tiny/llama3, forward/tiny/qwen2 through transformers' AutoTokenizer
        smollm-style                 forward/tokenizers/smollm-style through transformers' AutoTokenizer
      Corpora (under shared/datasets): tinystories_valid_sample/tinystories_val_prefix.txt, splits/*_eval.txt,
      tinyshakespeare/input.txt (first 2000 lines), aesop_fables/aesop_fables_townsend.txt,
      grimm_fairy_tales/grimm_fairy_tales.txt (first 2000 lines), and hand-written edge cases (EDGE_CASES). A line is
      the text between newlines, blank lines included.
  chat-templates.json
      the templates under toolkit/src/test/python/templates rendered by transformers'
      apply_chat_template(tokenize=False) for a few conversations, with and without the generation prompt (or the
      error the template raises), with bos_token "<s>" and eos_token "</s>".

Exact command used (from the repository root), after make_forward_reference.py:
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_tokenizer_corpus_reference.py --models /tmp/mlm-fw
"""
import argparse
import hashlib
import importlib.metadata as md
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

OUT = mergelab_ref.REFERENCE / "forward"
TEMPLATES = mergelab_ref.REPO / "toolkit/src/test/python/templates"
BLOCK = 1024
CORPORA = [
    ("tinystories_valid_sample", "tinystories_valid_sample/tinystories_val_prefix.txt", None),
    ("babi_eval", "splits/babi_eval.txt", None),
    ("fables_eval", "splits/fables_eval.txt", None),
    ("shakespeare_eval", "splits/shakespeare_eval.txt", None),
    ("tinyshakespeare_first2000", "tinyshakespeare/input.txt", 2000),
    ("aesop", "aesop_fables/aesop_fables_townsend.txt", None),
    ("grimm_first2000", "grimm_fairy_tales/grimm_fairy_tales.txt", 2000),
]
WHOLE = ["tinystories_valid_sample/tinystories_val_prefix.txt", "splits/shakespeare_eval.txt",
         "splits/babi_eval.txt", "splits/fables_eval.txt"]
EDGE_CASES = [
    "", " ", "  ", "a", " a", "a ", "  leading spaces", "trailing spaces  ", "two  spaces   three    four",
    "\ttab\tseparated", "Hello, world!", "Lily's mom said, \"Let's go.\" They'll see; we'd, I'm, you've, it's.",
    "1234567890 3.14 -42 2024-11-23 1000000", "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u00c9mile \u00fcber Stra\u00dfe",
    "\u65e5\u672c\u8a9e\u306e\u6587", "emoji \U0001F600! \U0001F44D\U0001F3FD", "<s> and </s> and <unk> as plain text",
    "<|im_start|>user\nhi<|im_end|>", "<|begin_of_text|>Hello<|eot_id|>", "UPPER CASE WORDS", "x" * 40,
    "end with newline\n", "\n\nleading newlines", "mixed\u00a0no-break\u2009thin\u3000ideographic space",
    "\u2581already a metaspace", "tabs\t\tand\r\nwindows line", "e\u0301 combining accent vs \u00e9",
    "\ufb01 ligature and \u2167 roman numeral", "DON'T SHOUT'S 'quoted' ''double''",
]
CONVERSATIONS = {
    "one-user": [{"role": "user", "content": "Hello there!"}],
    "system-and-turns": [
        {"role": "system", "content": "You are terse. "},
        {"role": "user", "content": "Tell me a story about Lily."},
        {"role": "assistant", "content": "Once upon a time, Lily found a shiny red ball in the park."},
        {"role": "user", "content": "shout it again"}],
    "user-assistant": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "  4  "}],
    "assistant-first": [{"role": "assistant", "content": "I speak first"}],
}
TOOLS = [{"name": "get_weather", "parameters": {"city": "string", "days": 3}}]


def read_lines(path: Path, limit):
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines[:limit] if limit else lines


def digest(strings):
    return hashlib.sha256("\n".join(strings).encode("utf-8")).hexdigest()[:16]


def ids_string(ids):
    return ",".join(str(i) for i in ids)


def summarize(encode, decode, lines):
    encoded = [encode(l) for l in lines]
    return {"lines": len(lines), "ids": sum(len(e) for e in encoded),
            "blocks": [digest(ids_string(e) for e in encoded[i:i + BLOCK]) for i in range(0, len(lines), BLOCK)],
            "decoded": digest(decode(e) for e in encoded)}


def tokenizers_under_test(models_dir: Path):
    import sentencepiece as spm
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    data = mergelab_ref.data_root()
    sp = spm.SentencePieceProcessor(model_file=str(data / mergelab_ref.TOKENIZER))
    ours = Tokenizer.from_file(str(models_dir / "stories260K" / "tokenizer.json"))
    conv = Tokenizer.from_file(str(OUT / "tiny" / "mistral" / "tokenizer.json"))
    out = {
        "tok512.model": ("shared/" + mergelab_ref.TOKENIZER, lambda s: [1] + sp.encode(s), lambda ids: sp.decode(ids)),
        "tok512.json (MergeLab)": ("tokenizer.json of `mergelab import-llama2c` (stories260K)",
                                   lambda s: ours.encode(s).ids,
                                   lambda ids: ours.decode(ids, skip_special_tokens=False)),
        "tok512.json (transformers)": ("forward/tiny/mistral", lambda s: conv.encode(s).ids,
                                       lambda ids: conv.decode(ids, skip_special_tokens=False)),
    }
    for name, folder in [("llama3-style", "tiny/llama3"), ("qwen2-style", "tiny/qwen2"),
                         ("smollm-style", "tokenizers/smollm-style")]:
        tok = AutoTokenizer.from_pretrained(str(OUT / folder))
        out[name] = ("forward/" + folder, lambda s, t=tok: t(s)["input_ids"],
                     lambda ids, t=tok: t.decode(ids, skip_special_tokens=False))
    return out


def chat_templates():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), bos_token="<s>", eos_token="</s>")
    cases = []
    for path in sorted(TEMPLATES.glob("*.jinja")):
        template = path.read_text(encoding="utf-8")
        for conv_name, conv in CONVERSATIONS.items():
            for gen in (False, True):
                extra = {"tools": TOOLS} if path.stem == "features" and conv_name == "one-user" else {}
                case = {"template": path.name, "conversation": conv_name, "add_generation_prompt": gen}
                if extra:
                    case["tools"] = TOOLS
                try:
                    case["rendered"] = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen,
                                                               chat_template=template, **extra)
                except Exception as e:  # a template's raise_exception
                    case["error"] = str(e)
                cases.append(case)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None, help="folder with an imported stories260K")
    args = ap.parse_args()
    data = mergelab_ref.data_root()
    models_dir = mergelab_ref.import_family(args.models or Path(tempfile.mkdtemp(prefix="mergelab-models-")),
                                            ["stories260K"])
    corpora = [(n, read_lines(data / "datasets" / p, lim)) for n, p, lim in CORPORA] + [("edge_cases", EDGE_CASES)]
    wholes = [(p, (data / "datasets" / p).read_bytes()[:40000].decode("utf-8", errors="ignore")) for p in WHOLE]
    result = {}
    for name, (source, encode, decode) in tokenizers_under_test(models_dir).items():
        entry = {"source": source, "corpora": {}, "whole_texts": {}, "samples": []}
        for cname, lines in corpora:
            entry["corpora"][cname] = summarize(encode, decode, lines)
        for path, text in wholes:
            ids = encode(text)
            entry["whole_texts"][path] = {"ids": len(ids), "digest": digest([ids_string(ids)]),
                                          "decoded": digest([decode(ids)])}
        for line in EDGE_CASES + [corpora[0][1][828], corpora[3][1][5], corpora[6][1][100]]:
            entry["samples"].append({"text": line, "ids": encode(line)})
        result[name] = entry
        print(name, {c: v["ids"] for c, v in entry["corpora"].items()})
    meta = {"made_by": "toolkit/src/test/python/make_tokenizer_corpus_reference.py",
            "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                       "toolkit/src/test/python/make_tokenizer_corpus_reference.py --models /tmp/mlm-fw",
            "versions": {"tokenizers": md.version("tokenizers"), "transformers": md.version("transformers"),
                         "sentencepiece": md.version("sentencepiece"), "jinja2": md.version("jinja2")}}
    mergelab_ref.write_json(OUT / "tokenizer-corpora.json", {**meta, "block_lines": BLOCK,
                                               "corpora": {n: p for n, p, _ in CORPORA}, "tokenizers": result})
    mergelab_ref.write_json(OUT / "chat-templates.json", {**meta, "bos_token": "<s>", "eos_token": "</s>",
                                            "conversations": CONVERSATIONS, "cases": chat_templates()})


if __name__ == "__main__":
    main()
