#!/usr/bin/env python3
"""Run CPython's test_asyncio against eventloop, and say how much of it passes.

    python3 tools/conformance.py                  every module, with this Python
    python3 tools/conformance.py --python 3.12    ... with another interpreter (pyenv's, or a path)
    python3 tools/conformance.py --quick          a few fast modules (what `dev.py test` runs)
    python3 tools/conformance.py --module test_locks [--module ...]

Each module runs in its own worker process (tools/conformance/worker.py) with
asyncio's default loop pointed at ours, plus CPython's mixin suites
parametrised with ours (tools/conformance/cpython_suites.py). A test that runs
longer than --timeout seconds is killed and marked failed; a fresh worker carries
on with the rest of the module. Then two reviewed lists decide:

    tools/conformance/not-applicable.txt     not run: asyncio's internals, its own loops, Windows
    tools/conformance/expected-failures.txt  known failures, each with what will fix it

Exit status 1 when a test fails that is not listed, when a listed test passes
(strict: the list only shrinks; remove the line), or when a test not listed as
not applicable ran on one of asyncio's loops instead of ours.

Writes build/conformance/conformance-X.Y.json (every test). A full run (no
--quick, no --module) also writes docs/assets/conformance-X.Y.json and the
table in docs/conformance.md. Standard library only.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tools" / "conformance"
WORKER = HERE / "worker.py"
BUILD = ROOT / "build" / "conformance"
DOCS_PAGE = ROOT / "docs" / "conformance.md"
DOCS_ASSETS = ROOT / "docs" / "assets"

sys.path.insert(0, str(HERE))
import lists  # noqa: E402

sys.path.remove(str(HERE))

#: Fast modules that together touch most of what our loop does today: tasks and their
#: helpers, then I/O (readers and writers, threads, signals, sockets, transports, servers,
#: streams, sendfile). test_tasks, test_ssl and test_sslproto are the slow ones left out.
QUICK = ["test_locks", "test_queues", "test_taskgroups", "test_timeouts", "test_waitfor",
         "test_futures2", "test_context", "test_runners", "test_pep492",
         "test_events", "test_threads", "test_unix_events", "test_sock_lowlevel", "test_buffered_proto",
         "test_server", "test_streams", "test_sendfile"]


def find_python(wanted: str | None) -> str | None:
    """This interpreter, a path, or Python `wanted` ("3.12"): pyenv's, else on PATH."""
    if not wanted:
        return sys.executable
    if os.sep in wanted:
        return wanted
    short = ".".join(wanted.split(".")[:2])
    pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{wanted}*/bin/python{short}")))
    on_path = shutil.which(f"python{short}")
    if pyenv:
        return pyenv[-1]
    if on_path and "shims" not in Path(on_path).parts:  # a pyenv shim may point nowhere
        return on_path
    return None


def interpreter_facts(python: str) -> dict:
    code = ("import json, os, platform, sys, test.test_asyncio as t, eventloop; print(json.dumps({"
            "'version': platform.python_version(), 'implementation': platform.python_implementation(),"
            "'platform': sys.platform, 'tests': os.path.dirname(t.__file__), 'eventloop': eventloop.__version__}))")
    output = subprocess.run([python, "-c", code], capture_output=True, text=True, env=worker_env())
    if output.returncode:
        raise SystemExit(f"{python} cannot import test.test_asyncio and eventloop:\n{output.stderr}")
    return json.loads(output.stdout)


def worker_env() -> dict:
    # eventloop is pure Python and stdlib only: the repository root on the path is enough.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "0"}
    env.pop("EVENTLOOP_PURE_PYTHON", None)  # the default loop: asyncio's C Future and Task
    return env


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "eventloop", "tools/conformance"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (done.stdout.strip() or "unknown") + ("+changes" if dirty else "")


class Module:
    """One test_asyncio module: list its tests, run them in workers, record each."""

    def __init__(self, name, python, workdir, timeout, not_applicable):
        self.name, self.python, self.timeout = name, python, timeout
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True)
        self.not_applicable = not_applicable
        self.results: dict[str, dict] = {}
        self.ids: list[str] = []
        self.module_skipped = None
        self.fixture_errors: list[str] = []
        self.restarts = 0

    def log(self):
        return open(self.workdir / "output.log", "ab")

    def list(self):
        listing = self.workdir / "ids.json"
        with self.log() as log:
            done = subprocess.run([self.python, WORKER, self.name, "--list", listing], cwd=ROOT,
                                  env=worker_env(), stdout=log, stderr=subprocess.PIPE, timeout=120)
        if done.returncode:
            error = done.stderr.decode(errors="replace").strip().splitlines()
            skip = next((line for line in error if line.startswith("unittest.case.SkipTest")), None)
            if skip is None:
                raise RuntimeError(f"{self.name}: cannot list the tests:\n" + "\n".join(error[-20:]))
            self.module_skipped = skip.split(":", 1)[1].strip()
            return
        self.ids = json.loads(listing.read_text())
        for test_id in self.ids:
            entry = lists.first_match(self.not_applicable, test_id)
            if entry and not entry.unless_ours:
                self.results[test_id] = {"id": test_id, "status": "not applicable", "reason": entry.reason}

    def run(self):
        pending = [i for i in self.ids if i not in self.results]
        while pending:
            self._run_worker(pending)
            pending = [i for i in pending if i not in self.results]
            if pending:
                self.restarts += 1

    def _run_worker(self, pending):
        wanted = self.workdir / f"run-{self.restarts}.txt"
        results = self.workdir / f"results-{self.restarts}.jsonl"
        wanted.write_text("\n".join(pending) + "\n")
        results.touch()
        with self.log() as log:
            worker = subprocess.Popen([self.python, WORKER, self.name, "--run", wanted, "--results", results],
                                      cwd=ROOT, env=worker_env(), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        current, started, finished, touched = None, time.monotonic(), False, set()
        with open(results) as stream:
            partial = ""  # a line the worker is still writing: readline() returns it in pieces
            exited = False
            while True:
                line = partial + stream.readline()
                partial = ""
                if line and not line.endswith("\n"):
                    partial = line
                elif line:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a forked test's child wrote into our file: not a record of ours
                    if record["event"] == "start":
                        current, started = record["id"], time.monotonic()
                    elif record["event"] == "end":
                        self.results[record["id"]] = record
                        current = None
                    elif record["event"] == "touched":
                        touched.add(record["id"])
                    elif record["event"] == "fixture-error":
                        self.fixture_errors.append(f"{record['id']}: {record['detail']}")
                    elif record["event"] == "done":
                        finished = True
                        break
                    continue
                if exited:
                    break  # it had exited before this last read found nothing: all is read
                if worker.poll() is not None:
                    exited = True  # read once more: it may have written after our last read
                    continue
                if current is not None and time.monotonic() - started > self.timeout:
                    self._stop(worker)
                    self.results[current] = {"id": current, "outcome": "timeout", "created": current in touched,
                                             "detail": f"still running after {self.timeout:g} s: killed"}
                    return
                time.sleep(0.02)
        status = worker.wait()
        if not finished:
            victim = current or next((i for i in pending if i not in self.results), None)
            if victim is not None:
                self.results[victim] = {"id": victim, "outcome": "crashed", "created": victim in touched,
                                        "detail": f"the worker exited with status {status}"}
        else:
            # unittest never starts the tests of a class whose setUpClass failed
            reason = "; ".join(self.fixture_errors) or "never started"
            for test_id in pending:
                if test_id not in self.results:
                    self.results[test_id] = {"id": test_id, "outcome": "failed", "detail": reason}

    @staticmethod
    def _stop(worker):
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()


def where_it_ran(record) -> str:
    """'ours' when the test made or ran our EventLoop (or tests our Future/Task
    classes), 'asyncio' when only asyncio's loops ran, else 'none'."""
    ran = record.get("ran", [])
    if record.get("created") or record.get("subject") or any(r.startswith("eventloop.") for r in ran):
        return "ours"
    if ran or (record.get("self_loop") or "").startswith(("asyncio.", "test.")):
        return "asyncio"
    return "none"


def judge(module: Module, expected) -> None:
    """Give each test its final status, from its outcome and the two lists."""
    for record in module.results.values():
        if record.get("status") == "not applicable":
            continue
        record["ran_on"] = where_it_ran(record)
        entry = lists.first_match(module.not_applicable, record["id"])
        if entry and record["ran_on"] != "ours" and record["outcome"] not in ("timeout", "crashed"):
            # an [unless-ours] entry; a hang or a crash says nothing of where it ran: it stays
            record.update(status="not applicable", reason=entry.reason)
            continue
        outcome = record["outcome"]
        entry = lists.first_match(expected, record["id"])
        if outcome == "skipped":
            record["status"] = "skipped"
        elif outcome == "passed":
            record["status"] = "unexpected pass" if entry else "passed"
        else:
            record["status"] = "expected failure" if entry else "failed"
        if entry:
            record["reason"] = entry.reason
        if record["ran_on"] == "asyncio" and record["status"] != "skipped":
            record["status"] = "ran on asyncio's loop"


_LACKS = re.compile(r"NotImplementedError \(AbstractEventLoop\.(\w+)\)")
_NAMED = re.compile(r"(\w+)\(")


def waits_for_another_method(record: dict) -> str | None:
    """The method an expected failure now fails on, when its reason names others instead.

    A reason names what the test waits for ("subprocess_exec()"); once a chapter brings that
    method, the test may fail on the next one it lacks, and its line belongs under that
    method's chapter. Reasons that name no method are not checked."""
    lacks = _LACKS.search(record.get("detail") or "")
    named = _NAMED.findall(record.get("reason", ""))
    if lacks and named and lacks[1] not in named:
        return lacks[1]
    return None


COLUMNS = ["tests", "not applicable", "on our loop", "passed", "expected failures", "failed",
           "unexpected passes", "skipped", "no loop", "timeouts"]


def summarise(module: Module) -> dict:
    row = dict.fromkeys(COLUMNS, 0)
    row["tests"] = len(module.ids)
    for record in module.results.values():
        status = record["status"]
        if status == "not applicable":
            row["not applicable"] += 1
            continue
        if status == "skipped":
            row["skipped"] += 1
            continue
        if record["ran_on"] == "ours":
            row["on our loop"] += 1
        elif status in ("passed", "expected failure"):
            row["no loop"] += 1  # ran, passed or failed as listed, without touching a loop
            continue
        if status in ("passed", "expected failure", "unexpected pass"):
            row[{"passed": "passed", "expected failure": "expected failures",
                 "unexpected pass": "unexpected passes"}[status]] += 1
        else:
            row["failed"] += 1
        if record.get("outcome") == "timeout":
            row["timeouts"] += 1
    row["ratio"] = round(row["passed"] / row["on our loop"], 4) if row["on our loop"] else None
    if module.module_skipped:
        row["module skipped"] = module.module_skipped
    return row


def total(rows: dict) -> dict:
    summed = {column: sum(row[column] for row in rows.values()) for column in COLUMNS}
    summed["ratio"] = round(summed["passed"] / summed["on our loop"], 4) if summed["on our loop"] else None
    return summed


def percent(ratio):
    return "—" if ratio is None else f"{100 * ratio:.1f} %"


def text_table(rows: dict, totals: dict) -> str:
    headers = ["module", *COLUMNS, "ratio"]
    body = [[name, *(str(row[c]) for c in COLUMNS), percent(row["ratio"])] for name, row in rows.items()]
    body.append(["total", *(str(totals[c]) for c in COLUMNS), percent(totals["ratio"])])
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))]
    for line in body:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    return "\n".join(out)


def by_reason(report: dict, status: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for tests in report["tests"].values():
        for record in tests:
            if record["status"] == status:
                counts[record["reason"]] = counts.get(record["reason"], 0) + 1
    chapter = re.compile(r"chapter (\d+)")
    return sorted(counts.items(), key=lambda kv: (int(chapter.match(kv[0]).group(1)) if chapter.match(kv[0]) else 0,
                                                   kv[0]))


def markdown_table(report: dict) -> str:
    rows, totals = report["modules"], report["total"]
    headers = ["module", *COLUMNS, "passed / on our loop"]
    lines = ["| " + " | ".join(headers) + " |", "| --- |" + " ---: |" * (len(headers) - 1)]
    for name, row in rows.items():
        cells = [f"`{name}`", *(str(row[c]) for c in COLUMNS), percent(row["ratio"])]
        if row.get("module skipped"):
            cells[-1] = f"module skipped: {row['module skipped']}"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{totals[c]}**" for c in COLUMNS)
                 + f" | **{percent(totals['ratio'])}** |")
    facts = report["run"]
    waiting = ["| expected failures: what they wait for | tests |", "| --- | ---: |"]
    waiting += [f"| {reason} | {count} |" for reason, count in by_reason(report, "expected failure")]
    skipped = ["| not applicable: why | tests |", "| --- | ---: |"]
    skipped += [f"| {reason} | {count} |" for reason, count in by_reason(report, "not applicable")]
    return (f"Python {facts['python']} ({facts['platform']}), eventloop {facts['eventloop']} at commit "
            f"`{facts['commit']}`, {facts['date']}; {facts['seconds']:.0f} s with a {facts['timeout']:g} s "
            f"limit per test. Reproduce: `{facts['command'].replace('tools/conformance.py', 'tools/dev.py conformance')}`."
            "\n\n" + "\n".join(lines) + "\n\n" + "\n".join(waiting) + "\n\n"
            + '??? note "The tests not applicable, by reason"\n\n' + "\n".join("    " + line for line in skipped))


def update_docs(report: dict, version: str) -> None:
    DOCS_ASSETS.mkdir(parents=True, exist_ok=True)
    summary = {key: report[key] for key in ("run", "modules", "total")}
    (DOCS_ASSETS / f"conformance-{version}.json").write_text(json.dumps(summary, indent=1) + "\n")
    begin, end = f"<!-- conformance {version} begin -->", f"<!-- conformance {version} end -->"
    page = DOCS_PAGE.read_text(encoding="utf-8")
    if begin not in page:
        print(f"{DOCS_PAGE.relative_to(ROOT)} has no '{begin}' marker: table not written")
        return
    generated = f"{begin}\n<!-- written by tools/conformance.py: do not edit -->\n{markdown_table(report)}\n{end}"
    page = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: generated, page, flags=re.S)
    DOCS_PAGE.write_text(page, encoding="utf-8")
    print(f"wrote docs/assets/conformance-{version}.json and the Python {version} table in docs/conformance.md")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="a version (3.12: pyenv's or python3.12 on PATH) or an interpreter path")
    parser.add_argument("--quick", action="store_true", help="only " + ", ".join(QUICK))
    parser.add_argument("--module", action="append", default=[], help="only this module (repeatable)")
    parser.add_argument("--timeout", type=float, default=15, help="seconds a test may run (default 15)")
    parser.add_argument("--jobs", type=int, default=2, help="modules run at once (default 2)")
    parser.add_argument("--if-present", action="store_true",
                        help="with --python: say so and succeed when that Python is not installed")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every failed test")
    args = parser.parse_args(argv)

    python = find_python(args.python)
    if python is None and args.if_present:
        print(f"Python {args.python} is not installed here (looked in ~/.pyenv/versions and on PATH): "
              "its conformance run is skipped")
        return 0
    if python is None:
        raise SystemExit(f"no Python {args.python} here (looked in ~/.pyenv/versions and on PATH)")
    facts = interpreter_facts(python)
    version = ".".join(facts["version"].split(".")[:2])
    all_modules = sorted(Path(p).stem for p in glob.glob(os.path.join(facts["tests"], "test_*.py")))
    names = args.module or (QUICK if args.quick else all_modules)
    unknown = sorted(set(names) - set(all_modules))
    if unknown:
        raise SystemExit(f"not in {facts['tests']}: {', '.join(unknown)}")
    version_tuple = tuple(int(part) for part in version.split("."))
    not_applicable = lists.applicable(lists.read(lists.NOT_APPLICABLE), version_tuple)
    expected = lists.applicable(lists.read(lists.EXPECTED_FAILURES), version_tuple)

    print(f"CPython's test_asyncio ({facts['tests']}) on eventloop, Python {facts['version']}: "
          f"{len(names)} module(s), {args.timeout:g} s per test", flush=True)
    started = time.monotonic()
    BUILD.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"conformance-{version}-", dir=BUILD))
    modules = {name: Module(name, python, workdir, args.timeout, not_applicable) for name in names}

    def run(module):
        begun = time.monotonic()
        module.list()
        module.run()
        judge(module, expected)
        print(f"  {module.name:<22} {time.monotonic() - begun:6.1f} s", flush=True)
        return module

    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        list(pool.map(run, modules.values()))
    seconds = time.monotonic() - started

    rows = {name: summarise(module) for name, module in modules.items()}
    totals = total(rows)
    problems = [record for module in modules.values() for record in module.results.values()
                if record["status"] in ("failed", "unexpected pass", "ran on asyncio's loop")]
    # A pattern in the expected failures that no test of a full run matched is stale.
    stale = []
    if not args.module and not args.quick:
        statuses = [(r["id"], r["status"]) for m in modules.values() for r in m.results.values()]
        stale = [entry for entry in expected
                 if not any(entry.matches(i) for i, s in statuses if s in ("expected failure", "unexpected pass"))]
    moved = [(record, method) for module in modules.values() for record in module.results.values()
             if record["status"] == "expected failure" and (method := waits_for_another_method(record))]
    report = {
        "run": {"python": facts["version"], "implementation": facts["implementation"],
                "platform": facts["platform"], "eventloop": facts["eventloop"], "commit": git_commit(),
                "date": datetime.date.today().isoformat(), "seconds": round(seconds, 1),
                "timeout": args.timeout, "modules run": names,
                "command": "python3 tools/conformance.py" + (f" --python {version}" if args.python else "")
                + (" --quick" if args.quick else "") + "".join(f" --module {m}" for m in args.module)},
        "modules": rows,
        "total": totals,
        "tests": {m.name: sorted(m.results.values(), key=lambda r: m.ids.index(r["id"]))
                  for m in modules.values()},
        "restarts": {m.name: m.restarts for m in modules.values() if m.restarts},
    }
    suffix = "" if not (args.quick or args.module) else "-quick" if args.quick else "-" + "-".join(args.module)
    out = BUILD / f"conformance-{version}{suffix}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    if not problems:
        shutil.rmtree(workdir, ignore_errors=True)  # else keep each worker's output for a look

    print()
    print(text_table(rows, totals))
    print(f"\n{seconds:.0f} s; every test: {out.relative_to(ROOT)}"
          + (f"; worker logs: {workdir.relative_to(ROOT)}/" if problems else ""))
    if not args.module and not args.quick:
        update_docs(report, version)
    shown = problems if args.verbose else problems[:25]
    for record in shown:
        print(f"{record['status'].upper()}: {record['id']}  {record.get('detail', '')}".rstrip())
    if len(shown) < len(problems):
        print(f"... and {len(problems) - len(shown)} more (--verbose, or the JSON)")
    for entry in stale:
        print(f"STALE: {lists.EXPECTED_FAILURES.name} line {entry.line}: {entry.pattern} matches no failing test")
    for record, method in moved:
        print(f"MISLABELLED: {record['id']} fails on {method}(), not on what its reason in "
              f"{lists.EXPECTED_FAILURES.name} names: {record['reason']}")
    if problems or stale or moved:
        print(f"\nconformance: {len(problems)} problem(s), {len(stale)} stale expected failure(s), "
              f"{len(moved)} listed under the wrong reason")
        return 1
    print("\nconformance: every test passed, failed as listed, or is listed as not applicable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
