"""The exercises' pytest plumbing: which implementation the checks run against.

Every chapter folder (`exercises/NN-name/`) holds the learner's `challenges.py`
and the checks, `test_challenges.py`. The checks never import `challenges.py`
themselves: they ask for the `challenges` fixture, which hands them one of

* the learner's file, `exercises/NN-name/challenges.py` ("starter"), or
* the reference solution, `exercises/solutions/NN_name.py` ("solution").

Which one:

    python -m pytest -q exercises --chapter 1     chapter 1 only, against your challenges.py
    python -m pytest -q                           every chapter, against the solutions
    ... --against starter|solution                choose explicitly (the meta-test does)
    ... --wrong FILE.py [--wrong FILE2.py]        each file instead (known wrong answers)

The project's full test run passes no option, so it proves that every reference
solution passes its checks; `test_checks_can_fail.py` proves the other half,
that every check fails on the untouched starter.

Fixtures for the checks: `challenges` (the implementation module), `loop` (a
real `eventloop.new_event_loop()`) and `make_virtual_loop(cls)` (a loop with a
virtual clock). Every loop they create is closed after the check: warnings are
errors here, and an unclosed loop warns. A virtual loop that would block forever
or spin, and any check that runs longer than HANG_TIMEOUT, fails instead of
hanging.
"""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest

import eventloop

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
CHAPTER_FOLDER = re.compile(r"^(\d\d)-[a-z0-9-]+$")
META_TEST = "test_checks_can_fail.py"
# Set in the meta-test's subprocesses, so that they can never run the meta-test again.
META_ENV = "EVENTLOOP_EXERCISES_META"


def chapter_folders() -> dict[int, Path]:
    """{1: .../exercises/01-callbacks, 2: ...}: the folders that hold checks."""
    folders = {}
    for path in sorted(HERE.iterdir()):
        match = CHAPTER_FOLDER.match(path.name)
        if match and (path / "test_challenges.py").is_file():
            folders[int(match.group(1))] = path
    return folders


def solution_path(folder: Path) -> Path:
    """exercises/01-callbacks -> exercises/solutions/01_callbacks.py"""
    return SOLUTIONS / (folder.name.replace("-", "_") + ".py")


# ── options ────────────────────────────────────────────────────────────────

def pytest_addoption(parser):
    group = parser.getgroup("exercises", "the course's exercises (exercises/)")
    group.addoption(
        "--chapter", metavar="N", default=None,
        help="check only chapter N's challenges, against your exercises/NN-*/challenges.py",
    )
    group.addoption(
        "--against", choices=("starter", "solution"), default=None,
        help="run the exercise checks against the chapter's challenges.py (starter) or the "
             "reference solution (solution). Default: starter with --chapter, else solution.",
    )
    group.addoption(
        "--wrong", metavar="FILE.py", action="append", default=[],
        help="run every check once against each FILE instead (the meta-test's known wrong "
             "answers; repeat the option for several files)",
    )


def selected_folder(config) -> Path | None:
    """The chapter folder picked with --chapter, or None (every chapter)."""
    value = config.getoption("chapter", default=None)
    if value is None:
        return None
    folders = chapter_folders()
    try:
        folder = folders.get(int(value))
    except ValueError:
        folder = None
    if folder is None:
        available = ", ".join(str(n) for n in folders) or "none"
        raise pytest.UsageError(
            f"--chapter {value}: there are no exercises for that chapter "
            f"(chapters with exercises: {available})"
        )
    return folder


def against(config) -> str:
    chosen = config.getoption("against", default=None)
    if chosen:
        return chosen
    return "starter" if selected_folder(config) is not None else "solution"


def pytest_configure(config):
    selected_folder(config)  # reject a bad --chapter before collecting anything
    for wrong in config.getoption("wrong"):
        if not Path(wrong).is_file():
            raise pytest.UsageError(f"--wrong {wrong}: no such file")


def pytest_report_header(config):
    folder = selected_folder(config)
    if config.getoption("wrong"):
        which = ", ".join(config.getoption("wrong"))
    elif against(config) == "starter":
        which = f"{folder.relative_to(HERE.parent)}/challenges.py" if folder else "each chapter's challenges.py"
    else:
        which = "the reference solutions in exercises/solutions/"
    return f"exercises: checking {which}"


def pytest_ignore_collect(collection_path, config):
    collection_path = collection_path.resolve()  # HERE is resolved: compare like with like
    if collection_path.parent != HERE:
        return None  # not ours to decide
    folder = selected_folder(config)
    if collection_path.name == META_TEST and (folder is not None or os.environ.get(META_ENV)):
        return True  # a learner's --chapter run, or the meta-test's own subprocess
    if folder is not None and CHAPTER_FOLDER.match(collection_path.name) and collection_path != folder:
        return True  # another chapter
    return None


# ── every chapter's checks are called test_challenges.py ──────────────────

class ChapterChecks(pytest.Module):
    """A chapter's test_challenges.py, imported under a name of its own.

    With pytest's default import mode two files called test_challenges.py in
    folders without `__init__.py` (and `01-callbacks` could not be a package
    name anyway) would both be imported as the module `test_challenges`, and the
    second would be refused. Importing these files in "importlib" mode gives each
    a unique name derived from its path; assertion rewriting still applies.
    """

    def _getobj(self):
        option = self.config.option
        saved, option.importmode = option.importmode, "importlib"
        try:
            return super()._getobj()
        finally:
            option.importmode = saved


def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name == "test_challenges.py" and module_path.resolve().parent.parent == HERE:
        return ChapterChecks.from_parent(parent, path=module_path)
    return None


# ── the implementation under test ──────────────────────────────────────────

_modules: dict[Path, object] = {}


def import_by_path(path: Path):
    """Import a file whose folder is not a package, under a name unique to its path."""
    path = path.resolve()
    if path not in _modules:
        relative = path.relative_to(HERE) if path.is_relative_to(HERE) else path.relative_to(path.anchor)
        name = "exercises_" + re.sub(r"\W", "_", "_".join(relative.with_suffix("").parts))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _modules[path] = module
    return _modules[path]


@pytest.fixture
def challenges(request):
    """The module under test: the chapter's challenges.py, or its reference solution."""
    if hasattr(request, "param"):  # --wrong FILE
        return import_by_path(request.param)
    folder = request.path.parent
    if against(request.config) == "starter":
        return import_by_path(folder / "challenges.py")
    return import_by_path(solution_path(folder))


def pytest_generate_tests(metafunc):
    wrong = [Path(path).resolve() for path in metafunc.config.getoption("wrong")]
    if wrong and "challenges" in metafunc.fixturenames:
        metafunc.parametrize("challenges", wrong, ids=[path.stem for path in wrong], indirect=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    folder = selected_folder(config)
    if folder is None or against(config) != "starter" or config.getoption("wrong"):
        return
    stats = terminalreporter.stats
    passed = len([r for r in stats.get("passed", ()) if r.when == "call"])
    total = passed + len(stats.get("failed", ())) + len(stats.get("error", ()))
    chapter = int(folder.name[:2])
    terminalreporter.write_line(
        f"chapter {chapter}: {passed} of {total} checks pass against "
        f"{folder.relative_to(HERE.parent)}/challenges.py"
        + ("" if passed < total else " (all of them: well done)")
    )
    if passed < total:
        terminalreporter.write_line(
            f"Stuck? The reference solution is {solution_path(folder).relative_to(HERE.parent)} "
            "(read it after a real attempt)."
        )


# ── a check that hangs fails instead ──────────────────────────────────────

HANG_TIMEOUT = 20  # seconds; the slowest reference check takes a few milliseconds


class CheckTimedOut(Exception):
    """A check ran for more than HANG_TIMEOUT seconds."""


@pytest.fixture(autouse=True)
def hang_guard():
    """Turn a check stuck in an endless loop into a failure that shows where it was.

    SIGALRM, so POSIX and the main thread only (elsewhere a hang stays a hang:
    press Ctrl-C). The alarm repeats every second: raised inside a callback, the
    loop's `_run_ready` hands the error to the exception handler and carries on,
    so one alarm may not be enough to get out.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimedOut(
            f"this check ran for more than {HANG_TIMEOUT} s: an endless loop? "
            "The traceback shows where it was."
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_TIMEOUT, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ── loops ──────────────────────────────────────────────────────────────────

class LoopWouldHang(AssertionError):
    """The loop was about to block forever, or to spin without end."""


class VirtualClock:
    """Mix in before a loop class: a clock that starts at 0 and jumps instead of sleeping.

    As chapter 2's `VirtualClockLoop`: the loop only learns the time from
    `time()` and only waits in `_wait(timeout)`, so overriding those two makes
    every check exact and instant. Two guards turn hangs into failures: a wait
    with no timeout (forever) raises, and so does a loop that makes more than
    MAX_PASSES passes in one check.
    """

    MAX_PASSES = 100_000

    def __init__(self):
        self._now = 0.0  # before the loop's __init__, which may already read time()
        self.virtual_waits = []  # every timeout _wait() was given, in order
        self.virtual_passes = 0
        super().__init__()
        self._clock_resolution = 1e-9  # exact, whatever the platform's monotonic clock

    def time(self):
        return self._now

    def _wait(self, timeout):
        if timeout is None:
            raise LoopWouldHang(
                "the loop would block forever here: a pass found nothing ready to run "
                "(loop._ready empty, stop() not called) and no timer to wait for, so it "
                "called _wait(None). A real loop hangs at this point."
            )
        if timeout < 0:
            raise AssertionError(f"_wait() got a negative timeout, {timeout!r}: clamp it at 0")
        self.virtual_waits.append(timeout)
        self._now += timeout

    def _run_once(self):
        self.virtual_passes += 1
        if self.virtual_passes > self.MAX_PASSES:
            raise LoopWouldHang(
                f"the loop made {self.MAX_PASSES} passes without stopping: it is spinning "
                f"(at t={self._now:g}, with {len(self._ready)} callbacks ready)"
            )
        super()._run_once()

    def busy(self, seconds):
        """Pretend the running callback keeps the loop busy for `seconds`: the clock moves on."""
        self._now += seconds


def _close(loop):
    try:
        loop.close()
    finally:
        # A broken close() fails this check, not a later one with a ResourceWarning.
        loop._closed = True


@pytest.fixture
def loop():
    """A real loop from the installed package: `eventloop.new_event_loop()`."""
    loop = eventloop.new_event_loop()
    try:
        yield loop
    finally:
        _close(loop)


@pytest.fixture
def make_virtual_loop():
    """make_virtual_loop(cls=eventloop.EventLoop): an instance of `cls` on a virtual clock."""
    made = []

    def make(cls=eventloop.EventLoop):
        virtual = type(f"Virtual{cls.__name__}", (VirtualClock, cls), {})
        loop = virtual.__new__(virtual)
        try:
            loop.__init__()
        except BaseException:
            loop._closed = True  # half-built: nothing to close, and its __del__ must not warn
            raise
        made.append(loop)
        return loop

    try:
        yield make
    finally:
        for loop in made:
            _close(loop)
