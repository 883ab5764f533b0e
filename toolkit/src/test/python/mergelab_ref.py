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
