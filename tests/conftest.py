"""Fixtures shared by the test suite.

Every chapter ends with a working loop, so every chapter's tests run twice:

* against the package *as that chapter left it* (a snapshot tangled from
  notebooks 00..NN into a temporary folder, imported as ``eventloop_chNN``), and
* against the installed, final ``eventloop`` package.

A test module declares its chapter with a module-level ``CHAPTER = 1`` (or the
marker ``@pytest.mark.chapter(1)`` on a test or on ``pytestmark``); a test that
asks for the ``el`` fixture then runs as ``test_x[ch01]`` and ``test_x[final]``.
Without a chapter it runs on the final package only.

``loops`` is the uvloop-style check "one scenario, two loops": the same
function is run on ``asyncio.new_event_loop()`` and on ``el.new_event_loop()``
and the two traces must be equal.

Loops are never leaked: ``new_loop`` closes what it made, and after every test
a garbage collection runs with warnings recorded; a ResourceWarning about an
unclosed event loop (ours or asyncio's) fails the test that leaked it. Nor are
file descriptors or threads: a test that leaves one open or running (after a
collection, and two seconds for a thread on its way out) fails.

``--impl DIR`` runs the same tests against a package of your own instead (see
"Test your own loop" in exercises/README.md): DIR is a package folder, imported
under its own name; every test that asks for ``el`` runs once, as ``[impl]``,
and the tests that check the course's own files (no ``el``) are skipped.

A loop with a bug may block forever (chapter 1's loop waits forever when it has
nothing to do); ``hang_guard`` turns a test that runs longer than
``HANG_TIMEOUT`` seconds into a failure, with the traceback of where it hung.
"""
from __future__ import annotations

import ast
import asyncio
import gc
import importlib.util
import inspect
import os
import re
import selectors
import signal
import sys
import textwrap
import threading
import traceback
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

sys.path.insert(0, str(ROOT / "tools"))
import tangle  # noqa: E402  (tools/tangle.py)

sys.path.remove(str(ROOT / "tools"))

#: The chapters that have a notebook, e.g. [0, 1, 2].
CHAPTERS = sorted({int(p.name[:2]) for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")})

_UNCLOSED = re.compile(r"unclosed event loop")

#: Seconds after which a test counts as hung. The whole suite takes a few seconds.
HANG_TIMEOUT = 20


#: The learner's package, when the run was given --impl DIR.
_IMPL = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption(
        "--impl", metavar="DIR", default=None,
        help="run the chapter tests against your own package in DIR (a folder with an "
             "__init__.py, imported under the folder's name) instead of the course's code",
    )
    parser.addoption(
        "--impl-chapter", metavar="N", type=int, default=None,
        help="with --impl: your package is the loop as chapter N leaves it; tests of later "
             "chapters are skipped (default: the last chapter)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "chapter(n): the chapter whose snapshot (and the final package) the test runs against"
    )
    if config.getoption("impl", default=None):
        config.stash[_IMPL] = _import_impl(Path(config.getoption("impl")))


# ---------------------------------------------------------------- --impl DIR


def _import_impl(folder: Path):
    """Import the learner's package in `folder`, or stop with a message that says what is wrong."""
    folder = folder.expanduser().resolve()
    name = folder.name
    if not folder.is_dir():
        raise pytest.UsageError(f"--impl {folder}: there is no such folder")
    if not (folder / "__init__.py").is_file():
        raise pytest.UsageError(
            f"--impl {folder}: this folder is not a package: it has no __init__.py. Point --impl at "
            f"the folder that holds your package's __init__.py (the tests import it as `{name}`)"
        )
    if not name.isidentifier():
        raise pytest.UsageError(
            f"--impl {folder}: {name!r} cannot be a module name; rename the folder (letters, digits, _)"
        )
    clash = sys.modules.get(name)
    if clash is not None and Path(getattr(clash, "__file__", "") or "").parent != folder:
        raise pytest.UsageError(
            f"--impl {folder}: a module named {name!r} is already imported "
            f"(from {getattr(clash, '__file__', 'the interpreter')}); rename your folder"
        )
    try:
        return _import_package(name, folder)
    except Exception as error:
        raise pytest.UsageError(
            f"--impl {folder}: importing your package `{name}` failed:\n"
            + "".join(traceback.format_exception(error))
        ) from None


def pytest_report_header(config):
    impl = config.stash.get(_IMPL, None)
    if impl is not None:
        return f"eventloop tests: against your package {impl.__name__} ({Path(impl.__file__).parent})"
    return None


def pytest_collection_modifyitems(config, items):
    if config.stash.get(_IMPL, None) is None:
        return
    skip = pytest.mark.skip(reason="checks the course's own files or package, not an --impl one")
    for item in items:
        if "el" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


_FIXTURES_NEED = {"new_loop": {"new_event_loop"}, "virtual": {"EventLoop"}, "virtual_loops": {"EventLoop"}}


def _names_used(function) -> set[str]:
    """The `el.NAME`s a test function reads."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, SyntaxError):
        return set()
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "el"}


def _check_impl_provides(impl, request) -> None:
    """Fail the test with a clear message if the package lacks a name the test uses."""
    needed = _names_used(request.function)
    for fixture, names in _FIXTURES_NEED.items():
        if fixture in request.fixturenames:
            needed |= names
    missing = sorted(name for name in needed if not hasattr(impl, name))
    if missing:
        pytest.fail(
            f"your package {impl.__name__} has no {', '.join(missing)}, which this test uses "
            f"(as el.{missing[0]}); export it from {impl.__name__}/__init__.py "
            "(exercises/README.md lists what each chapter's tests use)",
            pytrace=False,
        )


def snapshot_name(chapter: int) -> str:
    return f"eventloop_ch{chapter:02d}"


def _import_package(name: str, folder: Path):
    """Import the package in `folder` as `name` without putting its parent on sys.path."""
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory) -> dict[int, object]:
    """{chapter: the package as that chapter left it}, tangled once per session."""
    out = tmp_path_factory.mktemp("snapshots")
    packages = {}
    for chapter in CHAPTERS:
        name = snapshot_name(chapter)
        refused = tangle.write(tangle.tangle(upto=chapter), out, name, force=True)
        assert not refused, refused
        # A stale import of the same name (say, notebooks' build/snapshots) must not shadow ours.
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
        packages[chapter] = _import_package(name, out / name)
    yield packages
    for name in [snapshot_name(c) for c in CHAPTERS]:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def _chapter_of(item_or_metafunc) -> int | None:
    definition = getattr(item_or_metafunc, "definition", item_or_metafunc)
    marker = definition.get_closest_marker("chapter")
    if marker is not None:
        return int(marker.args[0])
    return getattr(definition.module, "CHAPTER", None)


def pytest_generate_tests(metafunc):
    if "el" not in metafunc.fixturenames:
        return
    if metafunc.config.stash.get(_IMPL, None) is not None:
        chapter, upto = _chapter_of(metafunc), _impl_chapter(metafunc.config)
        marks = ()
        if chapter is not None and chapter > upto:
            marks = pytest.mark.skip(reason=f"a chapter {chapter} test; your package is at chapter {upto}")
        metafunc.parametrize("el", [pytest.param("impl", id="impl", marks=marks)], indirect=True)
        return
    chapter = _chapter_of(metafunc)
    params = []
    if chapter is not None:
        marks = ()
        if chapter not in CHAPTERS:
            marks = pytest.mark.skip(reason=f"chapter {chapter} has no notebook yet")
        params.append(pytest.param(chapter, id=f"ch{chapter:02d}", marks=marks))
    params.append(pytest.param("final", id="final"))
    metafunc.parametrize("el", params, indirect=True)


@pytest.fixture
def el(request):
    """The package under test: a chapter's snapshot, the installed `eventloop`, or --impl's."""
    if request.param == "impl":
        impl = request.config.stash[_IMPL]
        _check_impl_provides(impl, request)
        return impl
    if request.param == "final":
        import eventloop

        return eventloop
    return request.getfixturevalue("snapshots")[request.param]


def _impl_chapter(config) -> int:
    given = config.getoption("impl_chapter", default=None)
    return max(CHAPTERS) if given is None else given


@pytest.fixture
def el_chapter(request, el) -> int:
    """The chapter the package under test is at: a test may expect what that chapter teaches."""
    which = request.node.callspec.params["el"]
    if which == "impl":
        return _impl_chapter(request.config)
    if which == "final":
        return max(CHAPTERS)
    return which


# ---------------------------------------------------------------- loops, closed


@pytest.fixture
def new_loop(el):
    """new_loop(factory=el.new_event_loop) -> a loop that is closed after the test.

    Debug mode starts off, whatever PYTHONASYNCIODEBUG or `-X dev` say, so that
    the suite means the same under both; a test that wants it calls set_debug(True).
    """
    made = []

    def make(factory=None):
        loop = (factory or el.new_event_loop)()
        made.append(loop)
        loop.set_debug(False)
        return loop

    yield make
    for loop in made:
        if not loop.is_closed():
            loop.close()


@pytest.fixture
def loop(new_loop):
    """A fresh loop of the package under test, closed after the test."""
    return new_loop()


class TwoLoops:
    """One scenario, two loops: asyncio's reference loop and ours."""

    def __init__(self, new_loop, reference_factory, our_factory):
        self._new_loop = new_loop
        self.factories = (reference_factory, our_factory)

    def run(self, scenario, *args):
        """(asyncio's result, ours) of `scenario(loop, *args)`; both loops closed after."""
        results = []
        for factory in self.factories:
            loop = self._new_loop(factory)
            try:
                results.append(scenario(loop, *args))
            finally:
                if not loop.is_running() and not loop.is_closed():
                    loop.close()
        return results[0], results[1]

    def compare(self, scenario, *args):
        """Run on both loops, assert the traces are equal, return the trace."""
        expected, actual = self.run(scenario, *args)
        assert actual == expected, f"\nasyncio: {expected!r}\nours:    {actual!r}"
        return expected


@pytest.fixture
def loops(el, new_loop):
    """`loops.compare(scenario)`: asyncio.new_event_loop() and el.new_event_loop(), same trace."""
    return TwoLoops(new_loop, asyncio.new_event_loop, el.new_event_loop)


# ---------------------------------------------------------------- virtual clocks


class Forever(Exception):
    """A virtual-clock loop was asked to wait with nothing scheduled."""


class _VirtualSelector(selectors.DefaultSelector):
    """A real selector (asyncio registers its self-pipe) whose select() moves the clock."""

    def __init__(self, loop):
        super().__init__()
        self._loop = loop

    def select(self, timeout=None):
        if timeout is None:
            raise Forever("nothing is scheduled: the loop would wait forever")
        if timeout > 0:
            self._loop.waits.append(timeout)
            self._loop.now += timeout
        return []


class VirtualAsyncioLoop(asyncio.SelectorEventLoop):
    """asyncio's own loop on a virtual clock (as asyncio's test suite does with TestLoop).

    `now` starts at 0 and jumps to the next timer; `waits` lists the non-zero waits.
    """

    def __init__(self):
        self.now = 0.0
        self.waits = []
        super().__init__(_VirtualSelector(self))

    def time(self):
        return self.now


def virtual_loop_class(el):
    """The chapter's VirtualClockLoop, for package `el`: `time()` and `_wait()` overridden."""

    class VirtualClockLoop(el.EventLoop):
        def __init__(self):
            el.EventLoop.__init__(self)
            self.now = 0.0
            self.waits = []

        def time(self):
            return self.now

        def _wait(self, timeout):
            if timeout is None:
                raise Forever("nothing is scheduled: the loop would wait forever")
            self.waits.append(timeout)
            self.now += timeout

    return VirtualClockLoop


@pytest.fixture
def virtual(el, new_loop):
    """virtual() -> our loop on a virtual clock, closed after the test."""
    cls = virtual_loop_class(el)
    return lambda: new_loop(cls)


@pytest.fixture
def virtual_loops(el, new_loop):
    """Like `loops`, but both loops run on a virtual clock: exact times, no sleeping."""
    return TwoLoops(new_loop, VirtualAsyncioLoop, virtual_loop_class(el))


@pytest.fixture(scope="session", autouse=True)
def _frozen_heap():
    """Keep the per-test gc.collect() cheap.

    The test process holds ~200k long-lived objects (pytest, the stdlib, the
    coverage tool...), and a full collection over them costs ~0.1 s: per test,
    that would be most of the suite's time. Objects alive when the session
    starts are moved to the permanent generation, so each collection only
    scans what the tests created.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def _open_fds() -> dict[int, str]:
    """This process's open file descriptors, each with what it refers to."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return found


def _process_wide_fds() -> set[int]:
    """Descriptors the standard library opens once and keeps for the process's life: the pipe
    to multiprocessing's resource tracker, which the first process started with "spawn" starts."""
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    fd = getattr(getattr(tracker, "_resource_tracker", None), "_fd", None)
    return set() if fd is None else {fd}


@pytest.fixture(autouse=True)
def no_leaked_fds_or_threads():
    """Fail a test that leaves a file descriptor open or a thread running (Linux: /proc)."""
    if not os.path.isdir("/proc/self/fd"):
        yield
        return
    fds_before, threads_before = _open_fds(), set(threading.enumerate())
    yield

    def left_behind():
        threads = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
        fds = {fd: what for fd, what in _open_fds().items()
               if fds_before.get(fd) != what and fd not in _process_wide_fds()}
        return threads, fds

    threads, fds = left_behind()
    if threads or fds:  # perhaps not for long: garbage still to collect, a worker on its way out
        gc.collect()  # an unclosed socket it closes says so (ResourceWarning), as pyproject asks
        for thread in set(threading.enumerate()) - threads_before:
            thread.join(2.0)
        threads, fds = left_behind()
    left = ([f"threads still running: {threads}"] if threads else []) \
        + ([f"file descriptors still open: {fds}"] if fds else [])
    if left:
        pytest.fail("the test left behind " + "; ".join(left))


@pytest.fixture(autouse=True)
def no_leaked_loops():
    """Fail a test that leaves an unclosed event loop for the garbage collector.

    An unclosed loop warns from `__del__`, that is whenever it is collected; a
    loop caught in a reference cycle is only collected by `gc.collect()`, so
    collect here, with warnings recorded instead of raised.
    """
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning) and _UNCLOSED.search(str(w.message))]
    if leaked:
        pytest.fail("the test leaked an unclosed event loop: " + "; ".join(str(w.message) for w in leaked))
    for w in caught:  # anything else still counts, as pyproject's filterwarnings says
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class Hung(Exception):
    """Raised in a test that ran longer than HANG_TIMEOUT seconds."""


@pytest.fixture(autouse=True)
def hang_guard():
    """Interrupt a test that blocks for HANG_TIMEOUT seconds (POSIX, main thread only).

    SIGALRM interrupts a blocked `threading.Event().wait()`, so a loop stuck
    waiting for nothing fails its test instead of hanging the whole run.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise Hung(f"test still running after {HANG_TIMEOUT} s: the loop is probably blocked forever")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # Then again every second: a loop may swallow the first Hung (a callback raised it, and
    # the exception handler logged it) and go back to waiting.
    signal.setitimer(signal.ITIMER_REAL, HANG_TIMEOUT, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
