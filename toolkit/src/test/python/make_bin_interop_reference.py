"""Checks, once, that the PyTorch .bin checkpoints MergeLab writes load in torch and transformers, and records the
result with the sha256 of every file checked.

What it makes: toolkit/src/test/resources/reference/formats/bin-interop.json with
  - per file MergeLab wrote (org.mergelab.testing.TinyTestModels, run here with java: a scaled-down TinyLlama in
    bfloat16, as sharded pytorch_model-0000i-of-0000N.bin + pytorch_model.bin.index.json and as one
    pytorch_model.bin, and the same weights as safetensors): its sha256;
  - torch_weights_only: for each .bin file, whether torch.load(weights_only=True) loads it and every tensor equals
    (dtype, shape, values) the one in MergeLab's own safetensors of the same model;
  - transformers: whether AutoModelForCausalLM.from_pretrained loads each .bin folder with no missing or unexpected
    keys and the same weights.
The Java test (TorchInteropTest) writes the same folders again and checks they are byte-identical to the files
recorded here, so the verdict keeps applying to what MergeLab writes now.

Exact command (from the repository root; needs JDK 17 + Maven):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 HF_HUB_OFFLINE=1 /work/venv-ref/bin/python \\
      toolkit/src/test/python/make_bin_interop_reference.py
"""
import hashlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mergelab_ref  # noqa: E402


def main():
    target = mergelab_ref.TOOLKIT / "target"
    subprocess.run(["mvn", "-B", "-q", "test-compile", "dependency:build-classpath",
                    "-Dmdep.outputFile=" + str(target / "cp.txt")], cwd=mergelab_ref.TOOLKIT, check=True)
    cp = os.pathsep.join([str(target / "test-classes"), str(target / "classes"), (target / "cp.txt").read_text().strip()])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run(["java", "-cp", cp, "org.mergelab.testing.TinyTestModels", str(out)], check=True)
        ref = {}
        for shard in sorted((out / "safetensors").glob("*.safetensors")):
            ref.update(load_file(str(shard)))
        files, loads, hf = {}, {}, {}
        for folder in ["safetensors", "bin", "bin-single"]:
            for p in sorted((out / folder).iterdir()):
                files[f"{folder}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ["bin", "bin-single"]:
            seen = {}
            for p in sorted((out / folder).glob("*.bin")):
                sd = torch.load(str(p), weights_only=True)
                ok = all(k in ref and v.dtype == ref[k].dtype and torch.equal(v, ref[k]) for k, v in sd.items())
                loads[f"{folder}/{p.name}"] = {"loads": True, "tensors": len(sd), "equal_to_safetensors": ok}
                seen.update(sd)
            assert set(seen) == set(ref), folder
            model, info = AutoModelForCausalLM.from_pretrained(str(out / folder), output_loading_info=True,
                                                               dtype=torch.bfloat16)
            state = model.state_dict()
            hf[folder] = {"missing_keys": sorted(info["missing_keys"]), "unexpected_keys": sorted(info["unexpected_keys"]),
                          "same_weights": all(torch.equal(state[k], v) for k, v in ref.items())}
    assert all(v["equal_to_safetensors"] for v in loads.values()), loads
    assert all(v["same_weights"] and not v["missing_keys"] and not v["unexpected_keys"] for v in hf.values()), hf
    result = {"torch": torch.__version__, "transformers": md.version("transformers"), "files": files,
              "torch_weights_only": loads, "transformers_from_pretrained": hf}
    dest = mergelab_ref.REFERENCE / "formats" / "bin-interop.json"
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print("wrote", dest)


if __name__ == "__main__":
    main()
