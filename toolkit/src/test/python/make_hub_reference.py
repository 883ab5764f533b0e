"""Checks, once, that MergeLab's Hugging Face cache and Python's huggingface_hub can use each other's downloads, and
records what both wrote.

What it makes, under toolkit/src/test/resources/reference/hub/:
  tiny-repo/           a tiny model repository: config.json, generation_config.json and model.safetensors of a
                       seeded 1-layer LlamaForCausalLM saved by transformers, plus files a model download must skip
                       (README.md, a pytorch_model.bin beside the safetensors, original/params.json).
  cache-interop.json   - the repository id, the commit it is served at, and the sha256 of each file;
                       - python_cache: every path huggingface_hub's hf_hub_download wrote into an empty cache when it
                         fetched config.json, generation_config.json and model.safetensors from MergeLab's test Hub
                         server (org.mergelab.hub.FakeHub, started here with java; HF_ENDPOINT pointing at it);
                       - mergelab_cache: every path `mergelab download test-org/tiny-llama` (the Java CLI) wrote into
                         another empty cache from the same server;
                       - python_reads_mergelab_cache: with HF_HUB_OFFLINE=1 and HF_HUB_CACHE at MergeLab's cache,
                         what huggingface_hub's hf_hub_download, try_to_load_from_cache and snapshot_download return
                         for each file, and whether transformers' AutoModelForCausalLM.from_pretrained loads the model
                         from it with the same weights.
  Each cache path is recorded as {path, type: dir|file|symlink, target (symlinks), sha256 and size (files), text
  (small files that are not blobs, such as refs/main)}. The Java test HubInteropTest rebuilds python_cache to check
  that MergeLab reuses it offline, and checks that MergeLab still writes exactly mergelab_cache (and that it equals
  python_cache), so the check recorded here keeps applying.

Exact command (from the repository root; needs JDK 17 + Maven):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /work/venv-ref/bin/python \\
      toolkit/src/test/python/make_hub_reference.py
"""
import hashlib
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402

OUT = mergelab_ref.REFERENCE / "hub"
REPO_DIR = OUT / "tiny-repo"
REPO_ID = "test-org/tiny-llama"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = ["config.json", "generation_config.json", "model.safetensors"]


def make_repo():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=1, vocab_size=40, max_position_embeddings=64, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        if REPO_DIR.exists():
            shutil.rmtree(REPO_DIR)
        (REPO_DIR / "original").mkdir(parents=True)
        for f in FILES:
            shutil.copy(Path(tmp) / f, REPO_DIR / f)
    torch.save(model.state_dict(), REPO_DIR / "pytorch_model.bin")
    (REPO_DIR / "README.md").write_text("# tiny-llama\n\nA seeded 1-layer Llama for MergeLab's Hub tests.\n")
    (REPO_DIR / "original" / "params.json").write_text("{\"dim\": 16}\n")


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def tree(root: Path) -> list:
    sources = {sha256(p): p.relative_to(REPO_DIR).as_posix() for p in REPO_DIR.rglob("*") if p.is_file()}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out.append({"path": rel, "type": "symlink", "target": os.readlink(p)})
            elif p.is_dir():
                out.append({"path": rel, "type": "dir"})
            else:
                e = {"path": rel, "type": "file", "size": p.stat().st_size, "sha256": sha256(p)}
                if e["sha256"] in sources:
                    e["source"] = sources[e["sha256"]]
                elif e["size"] < 1024:
                    e["text"] = p.read_text()
                out.append(e)
        dirnames.sort()
    return sorted(out, key=lambda e: e["path"])


def python(code: str, env: dict) -> dict:
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"python check failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


DOWNLOAD = """
import json, sys
from huggingface_hub import hf_hub_download
print(json.dumps({f: hf_hub_download(%r, f) for f in %r}))
""" % (REPO_ID, FILES)

READ_OFFLINE = """
import hashlib, json, os
from pathlib import Path
from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache
root = Path(os.environ["HF_HUB_CACHE"])
out = {"files": {}}
for f in %r:
    p = hf_hub_download(%r, f)
    out["files"][f] = {"path": Path(p).relative_to(root).as_posix(),
                       "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest(),
                       "try_to_load_from_cache": Path(try_to_load_from_cache(%r, f)).relative_to(root).as_posix()}
out["snapshot_download"] = Path(snapshot_download(%r)).relative_to(root).as_posix()
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
m = AutoModelForCausalLM.from_pretrained(%r)
ref = load_file(%r)
out["transformers_loads"] = all(torch.equal(m.state_dict()[k], v) for k, v in ref.items())
out["transformers_tensors"] = len(ref)
print(json.dumps(out))
"""


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    make_repo()
    subprocess.run(["mvn", "-B", "-q", "test-compile", "dependency:build-classpath",
                    "-Dmdep.outputFile=" + str(mergelab_ref.TOOLKIT / "target" / "cp.txt")],
                   cwd=mergelab_ref.TOOLKIT, check=True)
    target = mergelab_ref.TOOLKIT / "target"
    cp = os.pathsep.join([str(target / "test-classes"), str(target / "classes"), (target / "cp.txt").read_text().strip()])
    server = subprocess.Popen(["java", "-cp", cp, "org.mergelab.hub.FakeHub", f"{REPO_ID}={REPO_DIR}@{COMMIT}"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip().split()[-1]
        with tempfile.TemporaryDirectory() as tmp:
            py_cache, ml_cache = Path(tmp) / "python", Path(tmp) / "mergelab"
            base = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
            base.update(HF_ENDPOINT=url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1",
                        HF_HOME=str(Path(tmp) / "home"))
            python(DOWNLOAD, {**base, "HF_HUB_CACHE": str(py_cache)})
            subprocess.run(["java", "-cp", cp, "org.mergelab.cli.Main", "download", REPO_ID],
                           env={**base, "HF_HUB_CACHE": str(ml_cache)}, check=True)
            offline = {k: v for k, v in base.items() if k != "HF_ENDPOINT"}
            reads = python(READ_OFFLINE % (FILES, REPO_ID, REPO_ID, REPO_ID, REPO_ID, str(REPO_DIR / "model.safetensors")),
                           {**offline, "HF_HUB_CACHE": str(ml_cache), "HF_HUB_OFFLINE": "1"})
            ref = {
                "huggingface_hub": md.version("huggingface_hub"), "transformers": md.version("transformers"),
                "repo": REPO_ID, "commit": COMMIT,
                "files": {p.relative_to(REPO_DIR).as_posix(): sha256(p) for p in sorted(REPO_DIR.rglob("*")) if p.is_file()},
                "python_cache": tree(py_cache), "mergelab_cache": tree(ml_cache),
                "python_reads_mergelab_cache": reads,
            }
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    for f, r in reads["files"].items():
        assert r["sha256"] == ref["files"][f], f
    assert reads["transformers_loads"], "transformers did not load the same weights"
    (OUT / "cache-interop.json").write_text(json.dumps(ref, indent=1) + "\n")
    print("wrote", OUT / "cache-interop.json")


if __name__ == "__main__":
    main()
