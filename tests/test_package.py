"""The installed package as a whole: standard library only, and an honest __all__."""
import ast
import importlib
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import eventloop

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: which modules does `import ...` add, and where do they live?
PROBE = r"""
import json, sys
before = set(sys.modules)
import {imports}
new = sorted(set(sys.modules) - before)
print(json.dumps({{
    "package": eventloop.__file__,
    "new": {{name: getattr(sys.modules[name], "__file__", None) for name in new}},
}}))
"""


def probe(imports="eventloop"):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(imports=imports)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=True,
    )
    return json.loads(result.stdout)


def not_standard_library(new_modules: dict) -> dict:
    """{module: file} for each module that is neither ours nor the standard library's."""
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    stdlib = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")}
    package_dir = ROOT / "eventloop"
    foreign = {}
    for name, file in new_modules.items():
        top = name.split(".")[0]
        if file is None:  # built in, frozen, or a namespace package
            if top not in sys.stdlib_module_names and top != "eventloop":
                foreign[name] = file
            continue
        path = Path(file).resolve()
        if path.is_relative_to(package_dir):
            continue
        # In a virtual environment site-packages lies *inside* platstdlib: test it first.
        if any(path.is_relative_to(d) for d in site) or not any(path.is_relative_to(d) for d in stdlib):
            foreign[name] = file
        elif top not in sys.stdlib_module_names:
            foreign[name] = file
    return foreign


@pytest.fixture(scope="module")
def imported():
    return probe()


def test_the_probe_imports_the_package_from_the_repository(imported):
    assert Path(imported["package"]).resolve() == ROOT / "eventloop" / "__init__.py"
    assert "eventloop" in imported["new"] and "asyncio" in imported["new"]


def test_import_pulls_in_only_the_standard_library(imported):
    assert not_standard_library(imported["new"]) == {}


def test_the_check_does_see_a_third_party_module():
    """The check above can fail: importing pytest's own dependency iniconfig trips it."""
    found = not_standard_library(probe("eventloop, iniconfig")["new"])
    assert "iniconfig" in found


def _defined_public_names(path):
    """Public names a module's source binds at top level (its own, not imported ones)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def test_all_lists_every_public_name_of_every_module():
    paths = [p for p in sorted((ROOT / "eventloop").glob("*.py")) if p.stem != "__init__"]
    assert paths
    names = {}
    for path in paths:
        module = importlib.import_module(f"eventloop.{path.stem}")
        assert sorted(module.__all__) == sorted(_defined_public_names(path)), path.name
        names.update({name: module for name in module.__all__})
    assert list(eventloop.__all__) == sorted(names)
    for name, module in names.items():
        assert getattr(eventloop, name) is getattr(module, name)


def test_star_import_gives_exactly_all():
    namespace = {}
    exec("from eventloop import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(eventloop.__all__)


def test_the_core_api_is_there():
    assert {"EventLoop", "Handle", "TimerHandle", "new_event_loop"} <= set(eventloop.__all__)
    loop = eventloop.new_event_loop()
    try:
        assert type(loop) is eventloop.EventLoop
    finally:
        loop.close()


def test_each_snapshot_is_a_package_of_its_own(snapshots):
    for chapter, package in snapshots.items():
        assert package.__name__ == f"eventloop_ch{chapter:02d}"
        if chapter == 0:  # the introduction exports only the package's docstring
            assert package.__doc__.startswith("eventloop: ") and not hasattr(package, "__all__")
        for name in getattr(package, "__all__", ()):
            value = getattr(package, name)
            module = getattr(value, "__module__", "")
            assert module.startswith(package.__name__ + "."), (chapter, name, module)
