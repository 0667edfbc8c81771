#!/usr/bin/env python3
"""Check that every chapter notebook was executed top to bottom, in one fresh kernel.

nbval passes a cell that was never executed (it has no stored output to
compare), so a notebook saved half-run would slip through.  This check fails
unless, in every notebook:

* code cells are numbered In [1], In [2], … with no gap and no blank;
* only cells tagged `raises-exception` stored an error;
* no stored output names this machine's paths (they differ on yours);
* the kernel is `python3`.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def problems_in(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    found = []
    kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernel is {kernel!r}, not 'python3'")
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    for expected, cell in enumerate(code_cells, start=1):
        where = f"In [{expected}]"
        if cell.get("execution_count") != expected:
            found.append(f"{where}: execution count is {cell.get('execution_count')} (run the notebook "
                         "top to bottom: python3 tools/dev.py execute NOTEBOOK)")
            break
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output["output_type"] == "error" and "raises-exception" not in tags:
                found.append(f"{where}: stored an error ({output['ename']}) but is not tagged raises-exception")
            text = json.dumps(output)
            if str(ROOT) in text or "/root/" in text:
                found.append(f"{where}: an output contains a path of this machine")
        if "raises-exception" in tags and not any(o["output_type"] == "error" for o in cell.get("outputs", [])):
            found.append(f"{where}: tagged raises-exception but raised nothing")
    return found


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 1
    failed = False
    for path in notebooks:
        for problem in problems_in(path):
            failed = True
            print(f"{path.relative_to(ROOT)}: {problem}", file=sys.stderr)
    if not failed:
        print(f"{len(notebooks)} notebooks: every code cell executed in order")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
