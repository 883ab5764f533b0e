"""Helpers shared by the make_*.py reference scripts in this folder (not a script itself).

Finds the repository and the data folder, and imports the stories260K family into Hugging Face folders with
MergeLab's own Java CLI (`mergelab import-llama2c`), so every reference is made from exactly the folders the Java
tests import with org.mergelab.hub.DemoModels.

Data folder: $MERGELAB_DATA if set, else ../shared beside the repository (the same rule as
org.mergelab.hub.SharedData).
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

FAMILY = ["stories260K", "stories260K-shakespeare", "stories260K-babi", "stories260K-fables"]
TOKENIZER = "models/stories260K/tok512.model"

# toolkit/src/test/python/mergelab_ref.py -> repository root
REPO = Path(__file__).resolve().parents[4]
TOOLKIT = REPO / "toolkit"
REFERENCE = TOOLKIT / "src" / "test" / "resources" / "reference"


def data_root() -> Path:
    explicit = os.environ.get("MERGELAB_DATA")
    if explicit:
        root = Path(explicit).resolve()
    else:
        root = None
        for p in [REPO, *REPO.parents]:
            if (p / "shared" / "models").is_dir():
                root = p / "shared"
                break
    if root is None or not (root / "models").is_dir():
        sys.exit("data folder not found: set MERGELAB_DATA to the folder holding models/ and datasets/")
    return root


def java_classpath() -> str:
    """Compiles the toolkit (mvn compile) and returns the classpath of its classes and dependencies."""
    cp_file = TOOLKIT / "target" / "cp.txt"
    subprocess.run(["mvn", "-B", "-q", "compile", "dependency:build-classpath",
                    "-Dmdep.outputFile=" + str(cp_file)], cwd=TOOLKIT, check=True)
    return str(TOOLKIT / "target" / "classes") + os.pathsep + cp_file.read_text().strip()


def import_family(models_dir: Path, names=FAMILY) -> Path:
    """Imports each model of `names` missing from `models_dir` with `mergelab import-llama2c`; returns models_dir."""
    models_dir.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not (models_dir / n / "model.safetensors").is_file()]
    if not missing:
        return models_dir
    data = data_root()
    cp = java_classpath()
    for name in missing:
        subprocess.run(["java", "-cp", cp, "org.mergelab.cli.Main", "import-llama2c",
                        str(data / "models" / name / (name + ".bin")), str(data / TOKENIZER),
                        str(models_dir / name)], check=True)
    return models_dir


INTEGERS = r"-?\d+"
NUMBERS = r"-?[\d.e+-]+"


def write_json(path: Path, obj, numbers: str = INTEGERS):
    """Writes `obj` as indented UTF-8 JSON with each list of numbers (matching `numbers`) kept on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    text = re.sub(r"\[\s*(" + numbers + r"(?:,\s*" + numbers + r")*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    path.write_text(text + "\n", encoding="utf-8")


class TranscendentalRecorder:
    """Replaces torch.acos / arccos / sin / cos, for the length of a merge, by wrappers that call the original and
    note each float32 argument with the value torch returned."""

    FUNCTIONS = {"acos": ("acos", "arccos"), "sin": ("sin",), "cos": ("cos",)}

    def __init__(self):
        import threading
        self.values = {name: {} for name in self.FUNCTIONS}
        self.lock = threading.Lock()
        self.originals = {}

    def __enter__(self):
        import torch
        for name, attributes in self.FUNCTIONS.items():
            for attribute in attributes:
                original = getattr(torch, attribute)
                self.originals[attribute] = original
                setattr(torch, attribute, self.wrap(name, original))
        return self

    def __exit__(self, *exc):
        import torch
        for attribute, original in self.originals.items():
            setattr(torch, attribute, original)
        return False

    def wrap(self, name, original):
        import torch

        def recorded(x, *args, **kwargs):
            y = original(x, *args, **kwargs)
            if (not args and not kwargs and isinstance(x, torch.Tensor) and x.dtype == torch.float32
                    and y.dtype == torch.float32):
                xs = x.detach().reshape(-1).contiguous().view(torch.int32).tolist()
                ys = y.detach().reshape(-1).contiguous().view(torch.int32).tolist()
                with self.lock:
                    table = self.values[name]
                    for a, b in zip(xs, ys):
                        previous = table.setdefault(a & 0xFFFFFFFF, b & 0xFFFFFFFF)
                        if previous != b & 0xFFFFFFFF:
                            raise AssertionError(f"{name}: two values for one argument {a & 0xFFFFFFFF:#010x}")
            return y

        return recorded

    def write(self, path: Path):
        """Writes the values taken, if any (a merge that computes them only in 16 bits takes none)."""
        if not any(self.values.values()):
            path.unlink(missing_ok=True)
            return
        data = {name: [[a, b] for a, b in sorted(table.items())] for name, table in self.values.items()}
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
