"""Makes the tok512 tokenizer references: transformers' own conversion, and a check of MergeLab's tokenizer.json.

What it makes, under toolkit/src/test/resources/reference/:
  tok512-transformers-tokenizer.json  the tokenizer.json transformers writes after converting tok512.model itself:
                                      AutoTokenizer.from_pretrained on a folder holding only tokenizer.model and a
                                      tokenizer_config.json {"tokenizer_class": "LlamaTokenizer"}, then
                                      save_pretrained; the Java test compares ours with it field by field.
  tok512-encoding-check.json          summary of encoding every line of the corpora below with OUR tokenizer.json
                                      (loaded with the `tokenizers` library, add_special_tokens=True) against
                                      sentencepiece with tok512.model (ids with BOS 1 prepended): lines checked and
                                      mismatches per corpus, mismatching examples; the transformers-converted
                                      tokenizer.json is checked the same way for comparison.
  tok512-encodings.json               ~200 sample lines (deterministic: every corpus plus hand-written edge cases)
                                      with their sentencepiece ids, BOS included, for the Java tokenizer tests.

From: shared/models/stories260K/tok512.model; OUR tokenizer.json from a folder imported by MergeLab's Java CLI
(`mergelab import-llama2c`, run by this script through mvn/java unless --model names an imported folder); corpora
under shared/datasets: tinystories_valid_sample/tinystories_val_prefix.txt, splits/*_eval.txt,
tinyshakespeare/input.txt (first 2000 lines), aesop_fables/aesop_fables_townsend.txt,
grimm_fairy_tales/grimm_fairy_tales.txt (first 2000 lines). A "line" is the text between newlines, without the
newline, blank lines included. The data folder is $MERGELAB_DATA or ../shared.

Exact command used (from the repository root):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 \
      /work/venv-ref/bin/python toolkit/src/test/python/make_tokenizer_reference.py --model /tmp/mlm/stories260K
"""
import argparse
import importlib.metadata as md
import json
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

BOS = 1
CORPORA = [
    # (name, path under datasets/, max lines or None)
    ("tinystories_valid_sample", "tinystories_valid_sample/tinystories_val_prefix.txt", None),
    ("babi_eval", "splits/babi_eval.txt", None),
    ("fables_eval", "splits/fables_eval.txt", None),
    ("shakespeare_eval", "splits/shakespeare_eval.txt", None),
    ("tinyshakespeare_first2000", "tinyshakespeare/input.txt", 2000),
    ("aesop", "aesop_fables/aesop_fables_townsend.txt", None),
    ("grimm_first2000", "grimm_fairy_tales/grimm_fairy_tales.txt", 2000),
]
# Edge cases no corpus line has: whitespace runs, leading/trailing spaces, tabs, digits, byte fallback (accents,
# CJK, emoji), control pieces written as text.
EDGE_CASES = [
    "", " ", "  ", "a", " a", "a ", "  leading spaces", "trailing spaces  ", "two  spaces   three    four",
    "\ttab\tseparated", "Hello, world!", "Lily's mom said, \"Let's go.\"", "1234567890 3.14 -42",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u00c9mile \u00fcber Stra\u00dfe", "\u65e5\u672c\u8a9e", "emoji \U0001F600!",
    "<s> and </s> and <unk> as plain text", "UPPER CASE WORDS", "x" * 40, "end with newline\n",
    "mixed\u00a0no-break\u2009thin space", "\u2581already a metaspace",
]


def read_lines(path: Path, limit):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]  # the file's final newline ends the last line; it does not start another
    return lines[:limit] if limit else lines


def transformers_tokenizer_json(spm: Path, work: Path) -> Path:
    from transformers import AutoTokenizer

    src = work / "spm-only"
    src.mkdir()
    shutil.copyfile(spm, src / "tokenizer.model")
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer"}), encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(str(src))
    saved = work / "saved"
    tok.save_pretrained(str(saved))
    return saved / "tokenizer.json"


def sp_whitespace(line: str) -> str:
    """What SentencePiece's remove_extra_whitespaces does to ' ' (only U+0020 counts): drops leading and trailing
    spaces and collapses every run of spaces to one (normalizer.cc; tabs, newlines, U+3000 are left alone)."""
    return re.sub(" {2,}", " ", line).strip(" ")


def mismatch_reason(line: str, want, tok) -> str:
    if any(t in line for t in ("<s>", "</s>", "<unk>")):
        return "special-token text (tokenizers matches added tokens in the text; sentencepiece encodes them as text)"
    if line.startswith("\u2581"):
        return "leading U+2581 (tokenizers' Metaspace skips the dummy prefix when the text already starts with it)"
    if tok.encode(sp_whitespace(line)).ids == want:
        kinds = [k for k, hit in (("leading", line != line.lstrip(" ")), ("trailing", line != line.rstrip(" ")),
                                  ("internal run", "  " in line.strip(" "))) if hit]
        return "spaces: " + "+".join(kinds) + " (sentencepiece remove_extra_whitespaces; tokenizer.json has no normalizer)"
    return "unexplained"


def candidate_fix(tokenizer_json: dict) -> dict:
    """A tokenizer.json variant that reproduces remove_extra_whitespaces with the `tokenizers` library (NOT what
    MergeLab writes; measured here only): collapse runs of spaces, drop one leading and one trailing space, and
    prepend_scheme "always", because with "first" Metaspace adds no dummy prefix once the normalizer has removed
    the text's first character (it checks that the normalized text still starts at original offset 0).
    transformers 5's LlamaTokenizer ignores both: it rebuilds normalizer=None and its own Metaspace."""
    t = json.loads(json.dumps(tokenizer_json))
    t["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Replace", "pattern": {"Regex": "\\A "}, "content": ""},
        {"type": "Replace", "pattern": {"Regex": " \\z"}, "content": ""}]}
    t["pre_tokenizer"]["prepend_scheme"] = "always"
    return t


def normalizer_spec(spm_path: Path) -> dict:
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(spm_path.read_bytes())
    n = m.normalizer_spec
    return {"name": n.name, "precompiled_charsmap_bytes": len(n.precompiled_charsmap),
            "add_dummy_prefix": n.add_dummy_prefix, "remove_extra_whitespaces": n.remove_extra_whitespaces,
            "escape_whitespaces": n.escape_whitespaces,
            "fields_set_in_file": sorted(f.name for f, _ in n.ListFields())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="an imported stories260K folder (default: import one)")
    ap.add_argument("--out", type=Path, default=mergelab_ref.REFERENCE)
    ap.add_argument("--samples-per-corpus", type=int, default=25)
    args = ap.parse_args()

    data = mergelab_ref.data_root()
    spm_path = data / mergelab_ref.TOKENIZER
    model_dir = args.model
    if model_dir is None:
        model_dir = mergelab_ref.import_family(Path(tempfile.mkdtemp(prefix="mergelab-models-")),
                                               ["stories260K"]) / "stories260K"
    ours_path = model_dir / "tokenizer.json"

    import sentencepiece as spm
    from tokenizers import Tokenizer

    work = Path(tempfile.mkdtemp(prefix="mergelab-tok-"))
    hf_json = transformers_tokenizer_json(spm_path, work)
    shutil.copyfile(hf_json, args.out / "tok512-transformers-tokenizer.json")
    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    ours = Tokenizer.from_file(str(ours_path))
    theirs = Tokenizer.from_file(str(args.out / "tok512-transformers-tokenizer.json"))
    shutil.rmtree(work, ignore_errors=True)

    def sp_ids(line):
        return [BOS] + sp.encode(line)

    corpora = [(n, read_lines(data / "datasets" / p, lim), p + (f" (first {lim} lines)" if lim else ""))
               for n, p, lim in CORPORA]
    corpora.append(("edge_cases", EDGE_CASES, "hand-written edge cases (this script's EDGE_CASES)"))

    candidate = Tokenizer.from_str(json.dumps(candidate_fix(json.loads(ours_path.read_text(encoding="utf-8")))))
    summary = {"corpora": [], "total_lines": 0, "mismatches_ours": 0, "mismatches_transformers": 0,
               "mismatches_candidate_fix": 0, "mismatch_reasons_ours": {}, "examples_ours": [],
               "examples_transformers": []}
    rng = random.Random(20240601)
    samples = []
    for name, lines, source in corpora:
        bad_ours = bad_theirs = bad_candidate = 0
        reasons = {}
        for i, line in enumerate(lines):
            want = sp_ids(line)
            got = ours.encode(line).ids
            # transformers' saved tokenizer.json has an empty TemplateProcessing (its LlamaTokenizer adds BOS in
            # Python), so BOS is prepended here to compare like with like.
            got_t = [BOS] + theirs.encode(line).ids
            if candidate.encode(line).ids != want:
                bad_candidate += 1
            if got != want:
                bad_ours += 1
                reason = mismatch_reason(line, want, ours)
                reasons[reason] = reasons.get(reason, 0) + 1
                total = summary["mismatch_reasons_ours"]
                total[reason] = total.get(reason, 0) + 1
                if sum(1 for e in summary["examples_ours"] if e["reason"] == reason) < 4:
                    summary["examples_ours"].append({"corpus": name, "line": i + 1, "reason": reason, "text": line,
                                                     "sentencepiece": want, "ours": got})
            if got_t != want:
                bad_theirs += 1
                if len(summary["examples_transformers"]) < 5:
                    summary["examples_transformers"].append({"corpus": name, "line": i + 1, "text": line,
                                                             "sentencepiece": want, "transformers": got_t})
        summary["corpora"].append({"name": name, "source": source, "lines": len(lines),
                                   "non_blank_lines": sum(1 for x in lines if x.strip()),
                                   "mismatches_ours": bad_ours, "mismatch_reasons_ours": reasons,
                                   "mismatches_transformers": bad_theirs,
                                   "mismatches_candidate_fix": bad_candidate})
        summary["total_lines"] += len(lines)
        summary["mismatches_ours"] += bad_ours
        summary["mismatches_transformers"] += bad_theirs
        summary["mismatches_candidate_fix"] += bad_candidate
        print(f"{name}: {len(lines)} lines, ours {bad_ours} mismatches, transformers' {bad_theirs}")

        if name == "edge_cases":
            picked = list(range(len(lines)))
        else:
            candidates = [i for i, x in enumerate(lines) if x.strip()]
            picked = sorted(rng.sample(candidates, min(args.samples_per_corpus, len(candidates))))
        for i in picked:
            ids = sp_ids(lines[i])
            samples.append({"corpus": name, "line": i + 1, "text": lines[i], "ids": ids,
                            "our_tokenizer_json_agrees": ours.encode(lines[i]).ids == ids})

    meta = {
        "made_by": "toolkit/src/test/python/make_tokenizer_reference.py",
        "command": "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python "
                   "toolkit/src/test/python/make_tokenizer_reference.py --model /tmp/mlm/stories260K",
        "sentencepiece_model": "shared/" + mergelab_ref.TOKENIZER,
        "ours": "tokenizer.json written by `mergelab import-llama2c` (org.mergelab.io.HfTokenizerFiles)",
        "reference": "sentencepiece SentencePieceProcessor.encode(line) with BOS 1 prepended",
        "ours_encoding": "tokenizers.Tokenizer.from_file(tokenizer.json).encode(line).ids (post-processor adds BOS)",
        "versions": {"sentencepiece": md.version("sentencepiece"), "tokenizers": md.version("tokenizers"),
                     "transformers": md.version("transformers")},
    }
    check = dict(meta)
    check["sentencepiece_normalizer_spec"] = normalizer_spec(spm_path)
    check["transformers_comparison"] = ("transformers' converted tokenizer.json encoded with `tokenizers`, BOS "
                                        "prepended by this script (its post_processor template adds none)")
    check["candidate_fix"] = candidate_fix.__doc__.strip()
    check.update(summary)
    mergelab_ref.write_json(args.out / "tok512-encoding-check.json", check)
    enc = dict(meta)
    enc["ids"] = "sentencepiece's ids, BOS 1 first: the truth; our_tokenizer_json_agrees says whether OUR " \
                 "tokenizer.json (with `tokenizers`) gives the same"
    enc["count"] = len(samples)
    enc["samples"] = samples
    mergelab_ref.write_json(args.out / "tok512-encodings.json", enc)
    print(f"total {summary['total_lines']} lines: ours {summary['mismatches_ours']} mismatches, "
          f"transformers' {summary['mismatches_transformers']}; {len(samples)} samples")


if __name__ == "__main__":
    main()
