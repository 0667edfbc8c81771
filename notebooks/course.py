"""Helpers the chapters share. Not part of the `eventloop` package.

`package_at(n)`   the package exactly as chapter n left it, so that chapter n+1
                  starts from its predecessor's code and not from the finished loop.
`run_in_thread`   runs a loop in a thread of its own, because this notebook's
                  thread already runs one (ipykernel's); see chapter 0.
`show_modules`    the package's modules as the tangler writes them at the end of
                  chapter n, each folded in a <details> block.
`show_outline`    the same modules as a map: every class and function, with its
                  arguments and the first line of its docstring (for a module too
                  long to print whole on a page the reader has just read).
`CountingSelector` a real selector that counts register/modify/unregister calls
                  (chapters 9 and 10 count the system calls of a wait with it).

Importing this module also names each notebook cell's code after the cell,
`In[6]`, instead of ipykernel's temporary file (`/tmp/ipykernel_4242/31337.py`):
a repr or traceback that says where a function was defined then names the cell
you can see, and reads the same on every run and every machine.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import selectors
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import tangle  # noqa: E402  (tools/tangle.py, the course's tangler)


def _name_cells_after_their_prompt() -> None:
    try:
        shell = get_ipython()  # noqa: F821  (defined only inside IPython)
    except NameError:
        return  # imported by a script or a test, not a notebook
    shell.compile.get_code_name = lambda raw_code, code, number: f"In[{number}]"


_name_cells_after_their_prompt()


def package_at(chapter: int):
    """Tangle chapters 0..`chapter` into build/snapshots/ and import the result.

    The snapshot is imported as `eventloop_chNN`, beside (never instead of) the
    installed `eventloop`, so a chapter cannot accidentally use later code.
    """
    name = f"eventloop_ch{chapter:02d}"
    out = ROOT / "build" / "snapshots"
    files = tangle.tangle(upto=chapter)
    tangle.write(files, out, name, force=True)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
    importlib.invalidate_caches()
    return importlib.import_module(name)


def show_modules(chapter: int, *paths: str):
    """Markdown showing `paths` (e.g. "eventloop/loop.py") as tangled for chapters 0..`chapter`."""
    from IPython.display import Markdown  # only notebooks call this

    files = tangle.tangle(upto=chapter)
    blocks = [
        f"<details><summary><code>{path}</code> ({len(files[path].splitlines())} lines)</summary>\n\n"
        f"```python\n{files[path]}```\n\n</details>"
        for path in paths
    ]
    return Markdown("\n\n".join(blocks))


def show_outline(chapter: int, *paths: str):
    """Markdown outlining `paths` as tangled for chapters 0..`chapter`: names, arguments, docstrings."""
    import ast
    from IPython.display import Markdown  # only notebooks call this

    def entry(node, indent):
        doc = (ast.get_docstring(node) or "").split("\n")[0]
        if isinstance(node, ast.ClassDef):
            bases = ", ".join(ast.unparse(base) for base in node.bases)
            head = f"{indent}class {node.name}({bases})"
        else:
            head = f"{indent}def {node.name}({ast.unparse(node.args)})"
        return f"{head}\n{indent}    # {doc}" if doc else head

    files = tangle.tangle(upto=chapter)
    blocks = []
    for path in paths:
        lines = []
        for node in ast.parse(files[path]).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                lines.append(entry(node, ""))
            if isinstance(node, ast.ClassDef):
                lines += [entry(member, "    ") for member in node.body
                          if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))]
        blocks.append(f"`{path}` ({len(files[path].splitlines())} lines):\n\n```python\n"
                      + "\n".join(lines) + "\n```")
    return Markdown("\n\n".join(blocks))


class StillRunning(Exception):
    """The loop did not return within the time we gave it."""


def run_in_thread(function, *args, timeout: float = 5.0):
    """Call `function(*args)` in a new thread, wait for it, show what it printed.

    Returns what `function` returned and re-raises what it raised.  If it is
    still running after `timeout` seconds, raises StillRunning: the thread is a
    daemon and is left behind, as a thread blocked forever would be.
    """
    captured, captured_errors = io.StringIO(), io.StringIO()
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, name="loop-thread", daemon=True)
    # Only the loop's thread prints while we wait, so swapping sys.stdout is safe;
    # its output then reaches this cell whole and in order.
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured_errors):
        thread.start()
        thread.join(timeout)
    print(captured.getvalue(), end="")
    print(captured_errors.getvalue(), end="", file=sys.stderr)
    if thread.is_alive():
        raise StillRunning(f"still running after {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class CountingSelector(selectors.DefaultSelector):
    """The machine's default selector, counting the calls that change what it watches."""

    changes = 0

    def register(self, fileobj, events, data=None):
        self.changes += 1
        return super().register(fileobj, events, data)

    def modify(self, fileobj, events, data=None):
        self.changes += 1
        return super().modify(fileobj, events, data)

    def unregister(self, fileobj):
        self.changes += 1
        return super().unregister(fileobj)
