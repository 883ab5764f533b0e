#!/usr/bin/env python3
"""Executes MergeLab's notebooks headless with the JJava kernel and checks them.

Usage: python check_notebooks.py --jar TOOLKIT-all.jar [--out DIR] [NOTEBOOK.ipynb ...]

Needs `pip install jjava nbclient nbformat` in the Python that runs it (that Python's bin folder must hold
`jupyter`). It installs the "mergelab" kernelspec (JJava with the toolkit jar on its classpath) into a temporary
JUPYTER_PATH via `java -jar JAR notebook --install-only`, runs every notebook (default: all *.ipynb beside this
script) from the notebooks folder, and fails if a cell raises an error, if a notebook shows no chart, if a cell
whose last line draws a chart (`.plot()`, `.image()`) produced no image/png output, or if a cell that runs a merge
showed no progress bar. Imported models go to a
temporary MERGELAB_MODELS unless it is set. Executed copies are written to --out for inspection.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL = "mergelab"


CHART_CALL = re.compile(r"\.(plot|image)\([^;]*\)$")


def draws_chart(source: str) -> bool:
    """A cell whose last line is an expression ending in .plot(...) or .image() (no semicolon) shows a chart."""
    lines = [l.strip() for l in source.strip().splitlines() if l.strip() and not l.strip().startswith("//")]
    return bool(lines) and bool(CHART_CALL.search(lines[-1]))


def check(path: Path, out_dir: Path, timeout: int) -> list:
    problems = []
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.time()
    try:
        client.execute()
    except CellExecutionError as e:
        problems.append(f"{path.name}: a cell failed:\n{e}")
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    images = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        pngs = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        images += pngs
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                problems.append(f"{path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}")
        if "Merge.run(" in cell.source and not any("<progress" in o.get("data", {}).get("text/html", "")
                                                    for o in cell.get("outputs", [])) and not problems:
            problems.append(f"{path.name} cell {i} runs a merge but shows no progress bar")
        if draws_chart(cell.source) and pngs == 0 and not problems:
            problems.append(f"{path.name} cell {i} should show a chart but has no image/png output:\n{cell.source}")
    if images == 0 and not problems:
        problems.append(f"{path.name}: no chart (image/png output) at all")
    print(f"{path.name}: {len(nb.cells)} cells, {images} charts, {time.time() - start:.1f} s"
          + ("" if not problems else " FAILED"), flush=True)
    return problems


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", required=True, help="the toolkit's runnable jar (toolkit/target/*-all.jar)")
    ap.add_argument("--out", default=str(here.parent / "toolkit" / "target" / "notebooks"))
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("notebooks", nargs="*")
    args = ap.parse_args()
    notebooks = [Path(n).resolve() for n in args.notebooks] or sorted(here.glob("*.ipynb"))
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 1
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="mergelab-nb-") as tmp:
        jupyter_path = Path(tmp) / "jupyter"
        subprocess.run(["java", "-jar", args.jar, "notebook", "--install-only", "--jupyter-path", str(jupyter_path)],
                       check=True)
        os.environ["JUPYTER_PATH"] = str(jupyter_path) + os.pathsep + os.environ.get("JUPYTER_PATH", "")
        os.environ.setdefault("MERGELAB_MODELS", str(Path(tmp) / "models"))
        problems = []
        for nb in notebooks:
            problems += check(nb, Path(args.out), args.timeout)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
