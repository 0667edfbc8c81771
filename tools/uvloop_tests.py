#!/usr/bin/env python3
"""Run uvloop's own test suite, its asyncio half, against eventloop.

    python3 tools/dev.py uvloop-tests                 install what it needs, fetch, run, report
    python3 tools/uvloop_tests.py --module test_tcp   one module (no report written)
    python3 tools/uvloop_tests.py --verbose           every failure's traceback
    python3 tools/uvloop_tests.py --no-write          all of it, docs/ left alone (`dev.py test`)

uvloop tests itself twice: most test classes come as a pair built from one mixin,
a uvloop twin (`Test_UV_TCP`, on `uvloop.new_event_loop()`) and an asyncio twin
(`Test_AIO_TCP`, on `asyncio.new_event_loop()`), and where the two loops differ
the tests say what each must do (`if self.implementation == 'asyncio'`). The
asyncio twins are a second, independent statement of what asyncio's loop does,
written by the authors of another loop. Here they run with our loop in asyncio's
place: the twins' `new_loop()` returns `eventloop.new_event_loop()`, and
`is_asyncio_loop()` is true, since our loop promises asyncio's behaviour.

The tests come from uvloop's source distribution on PyPI, of the version
installed (the `uvloop-tests` extra of pyproject.toml; uvloop's wheels do not
carry them): `pip download` fetches it once into build/uvloop-tests/.

One harness adjustment: test_signals' tests start a child Python that runs the
test's script, with the loop `NEW_LOOP` names, and send it signals. The child
runs our loop; the parent only starts the child and reads its output, which
takes `subprocess_exec()` (chapter 14), so until then the parent runs asyncio's
loop in the tests that start a child, and ours in the others.

Each module runs in a worker process of its own; a test has --timeout seconds
(SIGALRM), after which it fails. tools/conformance/uvloop-expected-failures.txt
lists what fails today, each under what will fix it (the format of
tools/conformance/lists.py); as in tools/conformance.py the list is strict: an
unlisted failure, a listed test that passes, and a line that matches no failing
test of a whole run all make the exit status 1. A whole run writes the table
of docs/conformance.md's "uvloop's test suite" section, unless --no-write. Standard library only,
besides uvloop and the test modules' own imports.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import inspect
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import traceback
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "uvloop-tests"
DOCS_PAGE = ROOT / "docs" / "conformance.md"
EXPECTED = ROOT / "tools" / "conformance" / "uvloop-expected-failures.txt"
BEGIN, END = "<!-- uvloop-tests begin -->", "<!-- uvloop-tests end -->"

sys.path.insert(0, str(ROOT / "tools"))
from conformance import git_commit, lists, percent  # noqa: E402  (tools/conformance.py)

sys.path.pop(0)

#: The modules with asyncio twins (test_cython, test_libuv_api, test_fs_event, test_regr1,
#: test_dealloc, test_runner, test_process_spawning, test_sourcecode and test_testbase test
#: uvloop itself: its C API, libuv's handles, its packaging).
MODULES = ["test_aiohttp", "test_base", "test_context", "test_dns", "test_executors", "test_pipes",
           "test_process", "test_signals", "test_sockets", "test_tcp", "test_udp", "test_unix"]


# ── The worker: one module, in its own process ───────────────────────────────

class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout("still running after the per-test limit")


class Recorder(unittest.TestResult):
    """One record per test method: a method with a failing subtest failed."""

    def __init__(self, emit):
        super().__init__()
        self.emit, self.records = emit, {}

    def _record(self, test, outcome, err=None):
        test_id = ".".join(test.id().split(".")[-3:])  # module.Class.method
        record = self.records.setdefault(test_id, {"id": test_id, "outcome": "passed", "detail": ""})
        if outcome != "passed" and record["outcome"] in ("passed", "skipped"):
            record["outcome"] = outcome
            if err is not None:
                kind, value, _ = err
                record["detail"] = lacks(value) or f"{kind.__name__}: {value}".splitlines()[0][:300]
                record["traceback"] = "".join(traceback.format_exception(*err))[-4000:]
            else:
                record["detail"] = outcome

    def startTest(self, test):
        super().startTest(test)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)

    def stopTest(self, test):
        signal.setitimer(signal.ITIMER_REAL, 0)
        super().stopTest(test)
        test_id = ".".join(test.id().split(".")[-3:])
        self.records.setdefault(test_id, {"id": test_id, "outcome": "passed", "detail": ""})
        self.emit(self.records[test_id])

    def addError(self, test, err):
        self._record(test, "failed", err)

    def addFailure(self, test, err):
        self._record(test, "failed", err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._record(test, "failed", err)

    def addSkip(self, test, reason):
        self._record(test, "skipped")
        self.records[".".join(test.id().split(".")[-3:])]["detail"] = reason

    def addExpectedFailure(self, test, err):
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test):
        self._record(test, "failed")


def lacks(error: BaseException) -> str | None:
    """"NotImplementedError (AbstractEventLoop.X)" when `error`, or what it interrupted, is
    asyncio's abstract method X, which our loop does not have yet (its message is empty)."""
    while error is not None:
        if isinstance(error, NotImplementedError) and error.__traceback__ is not None:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            if Path(frame.filename).match("asyncio/events.py"):
                return f"NotImplementedError (AbstractEventLoop.{frame.name})"
        error = error.__context__
    return None


def starts_a_child(method) -> bool:
    """True for a test_signals test whose script runs in a child Python (see the module's doc)."""
    try:
        return "self.NEW_LOOP" in inspect.getsource(method)
    except (OSError, TypeError):
        return False


def worker(module_name: str, tests_root: Path, timeout: float) -> int:
    import asyncio
    import eventloop
    from uvloop import _testbase as tb

    sys.path.insert(0, str(tests_root))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

    def new_loop(self):
        if starts_a_child(getattr(self, self._testMethodName)):
            return asyncio.new_event_loop()
        return eventloop.new_event_loop()

    tb.AIOTestCase.new_loop = new_loop
    tb.AIOTestCase.new_policy = lambda self: eventloop.EventLoopPolicy()
    tb.BaseTestCase.is_asyncio_loop = lambda self: True
    module = importlib.import_module(f"tests.{module_name}")
    if hasattr(module, "Test_AIO_Signals"):
        module.Test_AIO_Signals.NEW_LOOP = "__import__('eventloop').new_event_loop()"
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for name, cls in sorted(vars(module).items()):
        if isinstance(cls, type) and issubclass(cls, tb.AIOTestCase) and cls.__module__ == module.__name__:
            suite.addTests(loader.loadTestsFromTestCase(cls))

    def emit(record):
        print("RECORD " + json.dumps(record), flush=True)

    signal.signal(signal.SIGALRM, _on_alarm)
    result = Recorder(emit)
    result.timeout = timeout
    suite.run(result)
    return 0


# ── The driver ───────────────────────────────────────────────────────────────

def fetch_tests() -> tuple[str, Path]:
    """uvloop's installed version, and its sdist's tests/ folder (fetched once)."""
    try:
        version = importlib.metadata.version("uvloop")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("uvloop is not installed: `python3 tools/dev.py uvloop-tests` installs it")
    root = BUILD / f"uvloop-{version}"
    if not (root / "tests" / "__init__.py").exists():
        BUILD.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "--dest", str(BUILD), f"uvloop=={version}"], check=True)
        with tarfile.open(BUILD / f"uvloop-{version}.tar.gz") as sdist:
            prefix = f"uvloop-{version}/tests/"
            members = [m for m in sdist.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
            sdist.extractall(BUILD, members=members, **safe)
    return version, root


def run_module(name: str, tests_root: Path, timeout: float) -> tuple[list[dict], str]:
    """Every record the module's worker printed, and what else it printed (its log)."""
    command = [sys.executable, __file__, "--worker", name, "--tests", str(tests_root), "--timeout", str(timeout)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout * 40, cwd=tests_root)
        output, log = done.stdout, done.stderr
        if done.returncode != 0:
            log += f"\nthe worker exited with status {done.returncode}"
    except subprocess.TimeoutExpired as stopped:
        output = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
        log = "the worker ran out of time and was killed"
    records = [json.loads(line[len("RECORD "):]) for line in output.splitlines() if line.startswith("RECORD ")]
    if not records:
        records = [{"id": f"{name}.*", "outcome": "failed", "detail": log.strip().splitlines()[-1:] or "no output"}]
    return records, log


def judge(records: list[dict], expected: list) -> None:
    for record in records:
        entry = lists.first_match(expected, record["id"])
        outcome = record["outcome"]
        record["status"] = ("skipped" if outcome == "skipped"
                            else ("unexpected pass" if entry else "passed") if outcome == "passed"
                            else ("expected failure" if entry else "failed"))
        if entry:
            record["reason"] = entry.reason


COLUMNS = ["tests", "passed", "expected failures", "failed", "unexpected passes", "skipped"]


def summarise(records: list[dict]) -> dict:
    row = dict.fromkeys(COLUMNS, 0)
    row["tests"] = len(records)
    for record in records:
        row[{"passed": "passed", "expected failure": "expected failures", "failed": "failed",
             "unexpected pass": "unexpected passes", "skipped": "skipped"}[record["status"]]] += 1
    ran = row["tests"] - row["skipped"]
    row["ratio"] = row["passed"] / ran if ran else None
    return row


def markdown(rows: dict, records: list[dict], version: str, seconds: float) -> str:
    totals = {column: sum(row[column] for row in rows.values()) for column in COLUMNS}
    ran = totals["tests"] - totals["skipped"]
    totals["ratio"] = totals["passed"] / ran if ran else None
    head = "| module | " + " | ".join(COLUMNS) + " | passed / ran |"
    lines = [f"uvloop {version}'s tests, Python {sys.version.split()[0]}, eventloop at commit "
             f"`{git_commit()}`, {datetime.date.today().isoformat()}; {seconds:.0f} s. "
             "Reproduce: `python3 tools/dev.py uvloop-tests`.", "", head,
             "| --- |" + " ---: |" * (len(COLUMNS) + 1)]
    for name, row in rows.items():
        lines.append(f"| `{name}` | " + " | ".join(str(row[c]) for c in COLUMNS) + f" | {percent(row['ratio'])} |")
    lines.append("| **total** | " + " | ".join(f"**{totals[c]}**" for c in COLUMNS)
                 + f" | **{percent(totals['ratio'])}** |")
    reasons: dict[str, int] = {}
    for record in records:
        if record["status"] == "expected failure":
            reasons[record["reason"]] = reasons.get(record["reason"], 0) + 1
    if reasons:
        lines += ["", "| expected failures: what they wait for | tests |", "| --- | ---: |"]
        lines += [f"| {reason} | {count} |" for reason, count in sorted(reasons.items())]
    return "\n".join(lines)


def update_docs(text: str) -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    begin, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    DOCS_PAGE.write_text(page[:begin] + "\n<!-- written by tools/uvloop_tests.py: do not edit -->\n"
                         + text + "\n" + page[end:], encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", default=[], choices=MODULES, help="only this module")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per test (default 15)")
    parser.add_argument("--verbose", action="store_true", help="print every failure's traceback")
    parser.add_argument("--no-write", action="store_true", help="leave docs/conformance.md alone")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--tests", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.tests, args.timeout)

    version, tests_root = fetch_tests()
    expected = lists.applicable(lists.read(EXPECTED))
    started = time.monotonic()
    rows, everything, logs = {}, [], {}
    for name in args.module or MODULES:
        begun = time.monotonic()
        records, logs[name] = run_module(name, tests_root, args.timeout)
        judge(records, expected)
        rows[name] = summarise(records)
        everything += records
        print(f"  {name:<16} {time.monotonic() - begun:5.1f} s  {rows[name]['passed']}/{rows[name]['tests']} passed",
              flush=True)
    seconds = time.monotonic() - started
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "results.json").write_text(json.dumps({"uvloop": version, "tests": everything}, indent=1) + "\n")
    problems = [r for r in everything if r["status"] in ("failed", "unexpected pass")]
    stale = []
    if not args.module:
        stale = [entry for entry in expected
                 if not any(entry.matches(r["id"]) for r in everything if r["status"] == "expected failure")]
        if not args.no_write:
            update_docs(markdown(rows, everything, version, seconds))
    print(f"\n{seconds:.0f} s; every test: {(BUILD / 'results.json').relative_to(ROOT)}")
    for record in problems:
        print(f"{record['status'].upper()}: {record['id']}  {record.get('detail', '')}")
        if args.verbose and record.get("traceback"):
            print(record["traceback"])
    for entry in stale:
        print(f"STALE: {EXPECTED.name} line {entry.line}: {entry.pattern} matches no failing test")
    if problems or stale:
        print(f"\nuvloop's tests: {len(problems)} problem(s), {len(stale)} stale expected failure(s)")
        return 1
    print("\nuvloop's tests: every test passed, failed as listed, or was skipped by the suite")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
