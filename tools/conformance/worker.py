"""Run tests of one test_asyncio module with asyncio's default loop pointed at ours.

    python worker.py MODULE --list OUT.json           the module's test ids (ours added)
    python worker.py MODULE --run IDS.txt --results OUT.jsonl

tools/conformance.py starts one of these per module (and a fresh one after a
hang or a crash) and reads OUT.jsonl as it grows: a "start" line before each
test, an "end" line after it with the outcome and what the test ran on.

What it changes, and nothing else:
- before each test, asyncio's policy becomes one whose new_event_loop() makes our
  EventLoop (tests that install their own policy replace it, as they would asyncio's);
- CPython's suites parametrised with ours are added to the module (cpython_suites.py);
- test_utils.TestCase.close_loop() reads BaseEventLoop's private `_default_executor`;
  for our loop it shuts the executor down through the public
  shutdown_default_executor() instead, then does the rest as CPython's does;
- asyncio's _set_running_loop() is wrapped to note which loop types ran;
- SIGINT gets Python's usual handler back, should the worker have started with it ignored.
"""
import argparse
import asyncio
import asyncio.events
import importlib
import json
import os
import signal
import sys
import time
import traceback
import unittest

import eventloop

import cpython_suites

PACKAGE = "test.test_asyncio"


class Probe:
    """What the current test touched: our loops made, loop types that ran."""

    def __init__(self):
        self.reset()

    def reset(self, on_first_touch=None):
        self.created = 0
        self.ran = set()
        self.on_first_touch = on_first_touch  # so a test that then hangs is still known as ours

    def touched(self):
        if self.on_first_touch is not None:
            on_first_touch, self.on_first_touch = self.on_first_touch, None
            on_first_touch()

    def new_loop(self):
        loop = eventloop.EventLoop()
        self.created += 1
        self.touched()
        return loop


probe = Probe()
cpython_suites.loop_factory = probe.new_loop


class ConformancePolicy(eventloop.EventLoopPolicy):
    def new_event_loop(self):
        return probe.new_loop()


def _watch_running_loops():
    original = asyncio.events._set_running_loop

    def _set_running_loop(loop):
        if loop is not None:
            probe.ran.add(f"{type(loop).__module__}.{type(loop).__qualname__}")
            if isinstance(loop, eventloop.EventLoop):
                probe.touched()
        original(loop)
    asyncio.events._set_running_loop = asyncio._set_running_loop = _set_running_loop


def _adapt_close_loop():
    test_utils = importlib.import_module(f"{PACKAGE}.utils")
    original = test_utils.TestCase.close_loop

    class ExecutorAlreadyShutDown:
        _default_executor = None

        def __init__(self, loop):
            self.close = loop.close

    def close_loop(loop):
        if isinstance(loop, eventloop.EventLoop):
            if not loop.is_closed():
                loop.run_until_complete(loop.shutdown_default_executor())
            loop = ExecutorAlreadyShutDown(loop)
        original(loop)
    test_utils.TestCase.close_loop = staticmethod(close_loop)


def load(name):
    module = importlib.import_module(f"{PACKAGE}.{name}")
    for class_name, cls in cpython_suites.suites_for(name, module).items():
        setattr(module, class_name, cls)
    return module


def test_ids(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from test_ids(test)
        else:
            yield test.id()


def short(test_id):
    return test_id[len(PACKAGE) + 1:] if test_id.startswith(PACKAGE + ".") else test_id


class Recorder(unittest.TestResult):
    _WORST = ["passed", "skipped", "failed"]

    def __init__(self, out):
        super().__init__()
        self.out = out

    def write(self, **record):
        # One os.write per record, on a file opened for appending: a record written by
        # another thread (a loop created there) or a forked child cannot interleave with ours.
        os.write(self.out.fileno(), (json.dumps(record) + "\n").encode())

    def startTest(self, test):
        super().startTest(test)
        asyncio.set_event_loop_policy(ConformancePolicy())
        test_id = short(test.id())
        probe.reset(on_first_touch=lambda: self.write(event="touched", id=test_id))
        self.outcome, self.detail, self.started = "passed", "", time.monotonic()
        self.write(event="start", id=test_id)

    def _set(self, outcome, detail=""):
        if self._WORST.index(outcome) >= self._WORST.index(self.outcome):
            self.outcome, self.detail = outcome, detail or self.detail

    def _describe(self, err):
        kind, value, tb = err
        lines = traceback.format_exception_only(kind, value)
        description = "".join(lines).strip().splitlines()[-1][:300]
        if issubclass(kind, NotImplementedError):
            # AbstractEventLoop's methods raise it bare: name the method the test called
            abstract = [frame.f_code for frame, _ in traceback.walk_tb(tb)
                        if frame.f_code.co_filename.endswith(os.path.join("asyncio", "events.py"))]
            if abstract:
                description += f" ({getattr(abstract[-1], 'co_qualname', abstract[-1].co_name)})"
        return description

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.case._SubTest):
            test = test.test_case
        if not hasattr(self, "outcome") or not isinstance(test, unittest.TestCase):
            # setUpClass/setUpModule and their tearDowns: not inside a test
            self.write(event="fixture-error", id=str(test), detail=self._describe(err))
            return
        self._set("failed", self._describe(err))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set("failed", self._describe(err))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set("skipped" if issubclass(err[0], unittest.SkipTest) else "failed", self._describe(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set("skipped", str(reason)[:300])

    def addExpectedFailure(self, test, err):  # CPython's own expectedFailure marks: none in 3.11-3.13
        super().addExpectedFailure(test, err)
        self._set("passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set("failed", "unexpected success of a test CPython marks as an expected failure")

    def stopTest(self, test):
        super().stopTest(test)
        loop = getattr(test, "loop", None)
        self.write(event="end", id=short(test.id()), outcome=self.outcome, detail=self.detail,
                   seconds=round(time.monotonic() - self.started, 3),
                   created=probe.created, ran=sorted(probe.ran),
                   subject=getattr(type(test), cpython_suites.SUBJECT, None),
                   self_loop=None if loop is None else f"{type(loop).__module__}.{type(loop).__qualname__}")
        del self.outcome


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("module")
    parser.add_argument("--list")
    parser.add_argument("--run")
    parser.add_argument("--results")
    args = parser.parse_args()
    # A shell's background job starts with SIGINT ignored; asyncio.Runner then leaves
    # Ctrl-C alone, and the tests that interrupt a running loop wait forever.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _watch_running_loops()
    _adapt_close_loop()
    module = load(args.module)
    loader = unittest.TestLoader()
    if args.list:
        ids = [short(i) for i in test_ids(loader.loadTestsFromModule(module))]
        with open(args.list, "w") as out:
            json.dump(ids, out)
        return 0
    with open(args.run) as wanted:
        ids = [line.strip() for line in wanted if line.strip()]
    suite = unittest.TestSuite(loader.loadTestsFromName(f"{PACKAGE}.{i}") for i in ids)
    with open(args.results, "a", buffering=1) as out:
        suite.run(Recorder(out))
        out.write(json.dumps({"event": "done"}) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # don't wait for threads a failed test left behind


if __name__ == "__main__":
    sys.exit(main())
