#!/usr/bin/env python3
"""Writes manifest.json: every model and corpus file MergeLab uses from the data folder, with its size, sha256,
licence and where it originally comes from. Run from the repository: python3 datasets/make_manifest.py
(reads $MERGELAB_DATA, default ../shared beside the checkout). The files themselves are never committed."""
import hashlib
import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("MERGELAB_DATA", HERE.parent.parent / "shared")).resolve()

TINYLLAMAS = "https://huggingface.co/karpathy/tinyllamas/tree/main/stories260K"
ENTRIES = [
    # (path, kind, licence, origin, description)
    ("models/stories260K/stories260K.bin", "model", "MIT", TINYLLAMAS + " (also vendored byte-identically in DaveBben/esp32-llm, data/stories260K.bin)",
     "karpathy's stories260K, llama2.c v0 fp32: dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512"),
    ("models/stories260K/stories260K.gguf", "model", "MIT", "ggml-org's GGUF conversion (cozy-creator/python-gen-worker, tests/testdata/stories260K.gguf)",
     "the same weights as GGUF v3, F32"),
    ("models/stories260K/tok512.model", "tokenizer", "MIT", TINYLLAMAS + " (tok512.model; also dratman/llama2.c data/)",
     "SentencePiece BPE, 512 pieces, byte fallback"),
    ("models/stories260K/tok512.vocab", "tokenizer", "MIT", TINYLLAMAS, "tok512 pieces and scores"),
    ("models/stories260K/tok512.bin", "tokenizer", "MIT", TINYLLAMAS, "tok512 in llama2.c's tokenizer format"),
    ("models/stories260K-shakespeare/stories260K-shakespeare.bin", "model", "MIT (weights); training text public domain",
     "made for MergeLab: full fine-tune of stories260K on datasets/splits/shakespeare_train.txt (see its MODEL_CARD.md)",
     "stories260K fine-tuned on Shakespeare"),
    ("models/stories260K-babi/stories260K-babi.bin", "model", "MIT (weights); training text CC BY 3.0",
     "made for MergeLab: full fine-tune of stories260K on datasets/splits/babi_train.txt (see its MODEL_CARD.md)",
     "stories260K fine-tuned on bAbI QA1 (forgot TinyStories)"),
    ("models/stories260K-fables/stories260K-fables.bin", "model", "MIT (weights); training text public domain",
     "made for MergeLab: full fine-tune of stories260K on datasets/splits/fables_train.txt (see its MODEL_CARD.md)",
     "stories260K fine-tuned on Aesop's fables and Grimm's tales"),
    ("models/llama2xs/model.bin", "model", "MIT", "saltyduckegg/llama2xs.c, out/model.bin",
     "an unrelated TinyStories model with the same tokenizer and a wider FFN: the negative control"),
    ("datasets/tinystories_valid_sample/tinystories_val_prefix.txt", "corpus", "CDLA-Sharing-1.0",
     "roneneldan/TinyStories validation split prefix, via yuninxia/moe-routing-bench data/tinystories_val.txt",
     "held-out TinyStories (the base model's own domain)"),
    ("datasets/tinystories_train_sample/TinyStories-train-first2316.txt", "corpus", "CDLA-Sharing-1.0",
     "roneneldan/TinyStories train split, first 2,316 stories (via gusjengis/toy-RNN)", "TinyStories training stories"),
    ("datasets/tinyshakespeare/input.txt", "corpus", "public domain", "karpathy/char-rnn data/tinyshakespeare/input.txt",
     "Tiny Shakespeare"),
    ("datasets/babi_qa1/qa1_single-supporting-fact_train.txt", "corpus", "CC BY 3.0",
     "Facebook bAbI tasks v1.2, en-10k (via VinGarcia/bAbI)", "bAbI QA1 training stories"),
    ("datasets/babi_qa1/qa1_single-supporting-fact_test.txt", "corpus", "CC BY 3.0",
     "Facebook bAbI tasks v1.2, en-10k (via VinGarcia/bAbI)", "bAbI QA1 test stories"),
    ("datasets/aesop_fables/aesop_fables_townsend.txt", "corpus", "public domain", "Project Gutenberg EBook #21 (via lpodol/books aesop.txt), fables only",
     "Aesop's fables, Townsend translation"),
    ("datasets/grimm_fairy_tales/grimm_fairy_tales.txt", "corpus", "public domain", "Project Gutenberg EBook #2591 (via AllenDowney/CompStats pg2591.txt), tales only",
     "Grimms' fairy tales, Taylor & Edwardes translation"),
]
for domain in ("shakespeare", "babi", "fables"):
    for part in ("train", "eval"):
        ENTRIES.append((f"datasets/splits/{domain}_{part}.txt", "corpus",
                        {"shakespeare": "public domain", "babi": "CC BY 3.0", "fables": "public domain"}[domain],
                        "made for MergeLab from the corpora above (datasets/splits/SPLITS.md)",
                        f"{domain} {part} split used for the stories260K-{domain} fine-tune"
                        + (" (never seen in fine-tuning)" if part == "eval" else "")))


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


files = []
for path, kind, licence, origin, desc in ENTRIES:
    p = DATA / path
    files.append({"path": path, "kind": kind, "bytes": p.stat().st_size, "sha256": sha256(p), "licence": licence,
                  "origin": origin, "description": desc})
manifest = {
    "about": "Files MergeLab reads from its data folder ($MERGELAB_DATA, default ../shared beside the checkout). "
             "They are not committed; fetch them from the origin given for each and place them at the given path.",
    "files": files,
}
(HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
print(f"wrote {HERE / 'manifest.json'}: {len(files)} files")
