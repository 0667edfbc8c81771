#!/usr/bin/env python3
"""The course's two commands, and a few more.

    python3 tools/dev.py serve       set up, then serve the course on http://127.0.0.1:8000
    python3 tools/dev.py test        set up, then run every check (what CI runs)

and, for authors and learners:

    python3 tools/dev.py lab         set up, then open the notebooks in JupyterLab
    python3 tools/dev.py build       build the site into site/ (strict) and check it is offline
    python3 tools/dev.py tangle      write eventloop/ from the notebooks
    python3 tools/dev.py execute NB  re-run a notebook in a fresh kernel, storing its outputs
    python3 tools/dev.py exercises N check your solutions to chapter N's challenges
    python3 tools/dev.py check N     run the tests of chapters 1..N against the course's code
    python3 tools/dev.py check N --impl DIR
                                     ... against your own package in DIR instead
    python3 tools/dev.py bench       measure our loop against asyncio's and uvloop's, and
                                     rewrite docs/performance.md (--smoke: a quick check only)
    python3 tools/dev.py conformance [--python 3.12] [--quick] [--module NAME]
                                     run CPython's test_asyncio on our loop (docs/conformance.md)
    python3 tools/dev.py uvloop-tests [--module NAME]
                                     run uvloop's test suite, its asyncio half, on our loop
    python3 tools/dev.py pytest-on 3.13 [pytest options]
                                     the test suite on another Python (pyenv's or on PATH),
                                     in a virtual environment of its own under build/

"Set up" means: a virtual environment in .venv/ with the package installed in
editable mode and the course's pinned tools (pyproject.toml's `dev` extra).
It is skipped when pyproject.toml has not changed since the last set-up.
`exercises` and `check` need less, and install less: the package and pytest
(the `check` extra); a later `test`, `serve` or `lab` completes the set-up.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".eventloop-setup"  # the full set-up (`dev` extra) is done
LIGHT_STAMP = VENV / ".eventloop-setup-check"  # the light one (`check` extra) is done
EXERCISES = ROOT / "exercises"
TESTS = ROOT / "tests"
SKIPPED = 3  # tools/check_browser.py's exit status when there is no Chromium


def run(*command: str | Path, env: dict | None = None) -> int:
    printable = " ".join(str(c) for c in command)
    print(f"\n$ {printable}", flush=True)
    return subprocess.call([str(c) for c in command], cwd=ROOT, env=env)


def pyproject_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def is_set_up(stamp: Path, python: Path) -> bool:
    """True when `python`'s environment was set up from pyproject.toml as it is now."""
    return stamp.exists() and stamp.read_text() == pyproject_hash() and python.exists()


def setup(light: bool = False) -> None:
    """The full set-up, or with `light` only what checking needs (the package and pytest)."""
    if sys.version_info < (3, 11):
        sys.exit(f"eventloop needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if is_set_up(STAMP, PYTHON) or (light and is_set_up(LIGHT_STAMP, PYTHON)):
        return
    if not PYTHON.exists():
        print(f"Creating {VENV.relative_to(ROOT)}/ with Python {sys.version.split()[0]}", flush=True)
        venv.create(VENV, with_pip=True)
    if light:
        steps = [(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[check]")]
    else:
        steps = [
            (PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
            (PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]"),
            # nbval and JupyterLab start kernels by name: register this venv's Python as `python3`.
            (PYTHON, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"),
        ]
    for step in steps:
        if run(*step) != 0:
            sys.exit("set-up failed")
    (LIGHT_STAMP if light else STAMP).write_text(pyproject_hash())


def notebook_env() -> dict:
    # The same hash seed everywhere, so set and dict reprs in stored outputs never change.
    return {**os.environ, "PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def site_env() -> dict:
    # mkdocs-material 9.7+ prints a banner about MkDocs 2.0 on every build; it is not ours to fix.
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def test() -> int:
    checks = [
        ("tangle: eventloop/ equals a fresh tangle of notebooks/",
         (PYTHON, "tools/tangle.py", "--check")),
        ("notebooks: every code cell executed, in order, from a fresh kernel",
         (PYTHON, "tools/check_notebooks.py")),
        ("pytest: the package, each chapter's snapshot, the exercises",
         (PYTHON, "-m", "pytest", "-q")),
        ("nbval: every notebook reproduces its stored outputs",
         (PYTHON, "-m", "pytest", "-q", "-W", "default", "-p", "no:warnings", "--nbval",
          "--nbval-sanitize-with", "tools/nbval-sanitize.cfg", "--nbval-current-env",
          "notebooks")),
        ("site: mkdocs build --strict, and nothing loads from the network",
         (PYTHON, "tools/dev.py", "build")),
        # Exits 3 (SKIPPED) when there is no Chromium, except under CI.
        ("browser: every page in headless Chromium (links, errors, diagrams, search, weight)",
         (PYTHON, "tools/check_browser.py", "site")),
        ("bench: every benchmark runs once, tiny (no timings checked)",
         (PYTHON, "tools/bench.py", "--smoke")),
        *conformance_checks(),
        *other_python_checks(),
        ("uvloop's tests: the asyncio half of uvloop's own suite on our loop",
         (PYTHON, "tools/dev.py", "uvloop-tests", "--no-write")),
    ]
    failed, skipped = [], []
    for title, command in checks:
        print(f"\n=== {title}", flush=True)
        status = run(*command, env=notebook_env())
        if status == SKIPPED:
            skipped.append(title)
        elif status != 0:
            failed.append(title)
    print("\n=== summary")
    for title, _ in checks:
        print(f"{'FAILED' if title in failed else 'SKIPPED' if title in skipped else 'ok     '}  {title}")
    if skipped:
        print("\nSKIPPED: the browser check needs Chromium at /usr/bin/chromium "
              "(Debian/Ubuntu: sudo apt-get install chromium).")
    return 1 if failed else 0


#: Newer Pythons whose quick conformance run and test suite `test` adds when they are installed.
OTHER_PYTHONS = ("3.12", "3.13")


def newer_pythons() -> list[str]:
    return [version for version in OTHER_PYTHONS if tuple(map(int, version.split("."))) > sys.version_info[:2]]


def conformance_checks() -> list:
    """The quick conformance runs, as `test()` checks: this Python's, then each newer one's."""
    checks = [(f"conformance: CPython {sys.version_info.major}.{sys.version_info.minor}'s test_asyncio "
               "(quick) on our loop", (PYTHON, "tools/conformance.py", "--quick"))]
    for version in newer_pythons():
        checks.append((f"conformance: CPython {version}'s test_asyncio (quick) on our loop, if installed",
                       (PYTHON, "tools/conformance.py", "--quick", "--python", version, "--if-present")))
    return checks


def other_python_checks() -> list:
    """The test suite again on each newer Python: the loop follows the asyncio it runs on, and
    3.12 and 3.13 changed asyncio in ways that this Python's run cannot see."""
    return [(f"pytest on Python {version}, if installed: the package, each chapter's snapshot, the exercises",
             (PYTHON, "tools/dev.py", "pytest-on", version)) for version in newer_pythons()]


def pytest_on(args: list[str]) -> int:
    """The test suite on Python args[0], in build/venv-X.Y/ with the package, pytest and the
    libraries tests/test_libraries.py runs (the `check` and `libraries` extras), made or brought
    up to date as setup() does; succeeds, saying so, when that Python is not installed."""
    if not args:
        print("usage: python3 tools/dev.py pytest-on 3.13 [pytest options]")
        return 2
    version, rest = args[0], args[1:]
    sys.path.insert(0, str(ROOT / "tools"))
    from conformance import find_python  # standard library only, as this file is

    interpreter = find_python(version)
    if interpreter is None:
        print(f"Python {version} is not installed here (looked in ~/.pyenv/versions and on PATH): skipped")
        return 0
    folder = ROOT / "build" / f"venv-{version}"
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = folder / ".eventloop-setup-check"
    if not is_set_up(stamp, python):
        for step in ((interpreter, "-m", "venv", folder),
                     (python, "-m", "pip", "install", "--quiet", "-e", ".[check,libraries]")):
            if run(*step) != 0:
                print(f"the set-up of {folder.relative_to(ROOT)}/ failed")
                return 1
        stamp.write_text(pyproject_hash())
    return run(python, "-m", "pytest", "-q", *rest, env=notebook_env())


def exercise_chapters() -> dict[int, tuple[Path, str]]:
    """{3: (exercises/03-futures, "Futures"), ...}; the title is the starter's first line."""
    chapters = {}
    for folder in sorted(EXERCISES.glob("[0-9][0-9]-*")):
        starter = folder / "challenges.py"
        if (folder / "test_challenges.py").is_file() and starter.is_file():
            first = starter.read_text(encoding="utf-8").lstrip('"\n').splitlines()[0]
            title = re.sub(r"^Chapter \d+ — |: the challenges\.$", "", first)
            chapters[int(folder.name[:2])] = folder, title
    return chapters


def exercises(args: list[str]) -> int:
    chapters = exercise_chapters()
    wanted = args[0] if args else None
    if wanted is None or not wanted.isdigit() or int(wanted) not in chapters:
        if wanted is not None:
            print(f"There are no exercises for chapter {wanted!r}.\n")
        print("Chapters with exercises (edit challenges.py in the folder):\n")
        for number, (folder, title) in chapters.items():
            print(f"  {number:>2}  {title:<26} {folder.relative_to(ROOT)}/")
        print("\nCheck one chapter, for example the first:\n\n    python3 tools/dev.py exercises 1\n")
        return 0 if wanted is None else 2
    setup(light=True)
    return run(PYTHON, "-m", "pytest", "-q", "exercises", "--chapter", wanted, *args[1:])


def test_chapters() -> dict[int, list[Path]]:
    """{1: [tests/test_01_callbacks.py], ...}: each chapter's test files."""
    chapters: dict[int, list[Path]] = {}
    for path in sorted(TESTS.glob("test_[0-9][0-9]_*.py")):
        chapters.setdefault(int(path.name[5:7]), []).append(path)
    return chapters


CHECK_USAGE = """\
Run the tests of chapters 1..N: against the course's own code, or with --impl
against your own package (a folder with an __init__.py; see exercises/README.md,
"Test your own loop"):

    python3 tools/dev.py check N [--impl path/to/yourpackage] [pytest options]
"""


def check(args: list[str]) -> int:
    chapters = test_chapters()
    wanted = args[0] if args else None
    if wanted is None or not wanted.isdigit() or int(wanted) not in chapters:
        if wanted is not None:
            print(f"There are no tests for chapter {wanted!r}.\n")
        print(CHECK_USAGE)
        print("Chapters with tests: " + ", ".join(str(n) for n in chapters))
        return 0 if wanted is None else 2
    rest = list(args[1:])
    for position, arg in enumerate(rest):  # --impl DIR / --impl=DIR: relative to where you are
        if arg == "--impl" and position + 1 < len(rest):
            rest[position + 1] = str(Path(rest[position + 1]).resolve())
        elif arg.startswith("--impl="):
            rest[position] = "--impl=" + str(Path(arg[len("--impl="):]).resolve())
    # Each chapter's loop must keep the behaviour of the chapters before it.
    files = [path.relative_to(ROOT) for n in sorted(chapters) if n <= int(wanted) for path in chapters[n]]
    setup(light=True)
    return run(PYTHON, "-m", "pytest", "-q", *files, "--impl-chapter", wanted, *rest, env=notebook_env())


def build() -> int:
    status = run(BIN / "mkdocs", "build", "--strict", "--site-dir", "site", env=site_env())
    return status or run(PYTHON, "tools/check_site.py", "site")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, args = argv[0], argv[1:]
    if command not in ("setup", "serve", "test", "lab", "build", "tangle", "execute", "exercises", "check",
                       "bench", "conformance", "uvloop-tests", "pytest-on"):
        print(__doc__)
        return 2
    if command == "exercises":
        return exercises(args)
    if command == "check":
        return check(args)
    if command == "conformance":  # standard library only: no set-up needed
        return run(sys.executable, "tools/conformance.py", *args)
    if command == "pytest-on":  # an environment of its own
        return pytest_on(args)
    setup()
    if command == "setup":
        return 0
    if command == "test":
        return test()
    if command == "serve":
        return run(BIN / "mkdocs", "serve", "--dev-addr", "127.0.0.1:8000", *args, env=site_env())
    if command == "build":
        return build()
    if command == "lab":
        # Jupyter refuses to start as root unless told; containers often run as root.
        as_root = ("--allow-root",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()
        return run(BIN / "jupyter", "lab", "notebooks", "--ServerApp.ip=127.0.0.1", *as_root, *args,
                   env=notebook_env())
    if command == "tangle":
        return run(PYTHON, "tools/tangle.py", *args)
    if command == "execute":
        return run(PYTHON, "tools/execute.py", *args, env=notebook_env())
    if command == "uvloop-tests":
        if install_extra("uvloop-tests", "import uvloop, OpenSSL, aiohttp") != 0:
            print("the uvloop-tests extra could not be installed", flush=True)
            return 1
        return run(PYTHON, "tools/uvloop_tests.py", *args)
    return bench(args)


def install_extra(name: str, check: str) -> int:
    """pip-install pyproject.toml's extra `name` unless the Python statement `check` already runs."""
    if subprocess.call([str(PYTHON), "-c", check], stderr=subprocess.DEVNULL) == 0:
        return 0
    import tomllib  # Python 3.11+, as setup() requires
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][name]
    return run(PYTHON, "-m", "pip", "install", "--quiet", *wanted)


def bench(args: list[str]) -> int:
    """tools/bench.py, with uvloop (the `bench` extra) installed first where it can be."""
    if install_extra("bench", "import uvloop") != 0:
        print("uvloop could not be installed: the benchmarks run without it", flush=True)
    return run(PYTHON, "tools/bench.py", *args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
