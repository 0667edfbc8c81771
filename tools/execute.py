#!/usr/bin/env python3
"""Run notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/execute.py notebooks/01-callbacks.ipynb [more.ipynb ...]

The kernel starts in notebooks/, as JupyterLab's and nbval's do.  Timings are
not recorded and execution counts run 1, 2, 3…, so a re-run of an unchanged
notebook leaves git with nothing to commit.  Cells tagged `raises-exception`
may raise; any other error stops the run and names the cell.
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    relative_paths(notebook)
    # The kernel's own version string changes with every patch release: keep only what matters.
    notebook.metadata.pop("widgets", None)
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    info = notebook.metadata.get("language_info", {})
    info.pop("version", None)
    nbformat.write(notebook, path)
    print(f"executed {path}")


def relative_paths(notebook) -> None:
    """Tracebacks name files by absolute path; keep this machine's out of the notebook."""
    root = str(Path(__file__).resolve().parent.parent) + "/"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [line.replace(root, "") for line in output["traceback"]]


if __name__ == "__main__":
    for argument in sys.argv[1:] or sorted(str(p) for p in Path("notebooks").glob("[0-9][0-9]-*.ipynb")):
        execute(Path(argument))
