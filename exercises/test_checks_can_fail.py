"""The exercises' checks can fail: every one fails on its untouched starter.

A check that passes against `challenges.py` as shipped — stubs that raise
NotImplementedError — cannot tell a solved challenge from an unsolved one. So,
for every chapter folder, run its test_challenges.py in a fresh pytest, once
against the starter (every check must fail: 0 passed, N failed, N > 0, no
errors) and once against the reference solution (every check must pass).

The subprocesses run one chapter's test file by path with --chapter, from the
repository's root with this Python, so they use the project's pytest settings
and never collect this file again (conftest.py also ignores it when
EVENTLOOP_EXERCISES_META is set). Plugin autoloading is off in them: the checks
need no plugin, and nbval's imports alone would triple the time.

If you have been solving a chapter in place, its starter is no longer the
untouched one: git then shows local changes to challenges.py, and the starter
half is skipped for that chapter (CI runs it on a clean checkout).

A check that fails on stubs may still pass a *wrong* answer. WRONG_ANSWERS
lists the classic ones: each is the reference solution with one function or
class replaced by a plausible mistake, and the checks named with it must fail
on it (the others may pass). When you meet a new wrong answer that the checks
let through, add it here first, then the check that catches it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
META_ENV = "EVENTLOOP_EXERCISES_META"  # as in conftest.py (not imported: any conftest is `conftest`)

CASES = [
    pytest.param(int(folder.name[:2]), folder, against, id=f"{folder.name}-{against}")
    for folder in sorted(HERE.glob("[0-9][0-9]-*/test_challenges.py"))
    for folder in [folder.parent]
    for against in ("starter", "solution")
]


def run_checks(number: int, folder: Path, options: list[str], tmp_path: Path) -> tuple[dict, str]:
    """Run a chapter's checks in a subprocess; return ({check id: outcome}, output)."""
    report = tmp_path / "report.xml"
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env[META_ENV] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str((folder / "test_challenges.py").relative_to(ROOT)),
        "--chapter", str(number), *options, f"--junitxml={report}",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert report.exists(), f"pytest wrote no report; it said:\n{output}"
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name")
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[name] = "error" if "error" in kinds else "failed" if "failure" in kinds \
            else "skipped" if "skipped" in kinds else "passed"
    return outcomes, output


def starter_has_local_changes(path: Path) -> bool:
    """True if git knows `path` and it differs from HEAD: someone is solving it in place."""
    try:
        done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(path)],
                              cwd=ROOT, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False  # no git: assume the starter is untouched
    return done.returncode == 1


@pytest.mark.parametrize("number, folder, against", CASES)
def test_every_check_fails_on_the_starter_and_passes_on_the_solution(number, folder, against, tmp_path):
    if against == "starter" and starter_has_local_changes(folder / "challenges.py"):
        pytest.skip(f"{folder.name}/challenges.py has local changes: it is no longer the untouched starter")
    outcomes, output = run_checks(number, folder, ["--against", against], tmp_path)
    assert outcomes, f"no checks ran for {folder.name}; pytest said:\n{output}"
    if against == "starter":
        wrong = {name: outcome for name, outcome in outcomes.items() if outcome != "failed"}
        assert not wrong, (
            f"against the untouched {folder.name}/challenges.py every check must fail, but "
            f"these did not: {wrong}. A check that passes on the stubs cannot tell a solved "
            f"challenge from an unsolved one; an error (rather than a failure) means a fixture "
            f"or the check itself broke.\n{output}"
        )
    else:
        wrong = {name: outcome for name, outcome in outcomes.items() if outcome != "passed"}
        assert not wrong, f"the reference solution for {folder.name} does not pass: {wrong}\n{output}"


# ── known wrong answers ────────────────────────────────────────────────────

@dataclass
class WrongAnswer:
    folder: str  # the chapter's folder, e.g. "03-futures"
    mistake: str  # what is wrong, in a few words (the test's id)
    caught_by: tuple[str, ...]  # checks that must fail on it
    code: str  # replaces the solution's definition of the same name


WRONG_ANSWERS = [
    # ── chapter 2: the wheel's workload
    WrongAnswer("02-time", "a workload of a hundred timers",
                ("test_wheel_beats_the_heap_on_your_workload",), """
        def wheel_workload(loop):
            for n in range(100):
                loop.call_later(n / 100, lambda: None)
            loop.call_later(1.5, loop.stop)
            loop.run_forever()
    """),
    WrongAnswer("02-time", "a workload of timers cancelled before they fire",
                ("test_wheel_beats_the_heap_on_your_workload",), """
        def wheel_workload(loop):
            timers = [loop.call_later(1 + n / 10_000, lambda: None) for n in range(10_000)]
            for timer in timers:
                timer.cancel()
            loop.call_later(2.5, loop.stop)
            loop.run_forever()
    """),
    # ── chapter 3: first_completed
    WrongAnswer("03-futures", "first_completed without a done() guard",
                ("test_first_completed_two_inputs_done_in_the_same_pass",
                 "test_first_completed_with_inputs_already_done"), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                _copy_outcome(future, winner)  # the second input's call raises InvalidStateError

            def on_winner_done(_):
                for future in futures:
                    future.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed cancels the losers",
                ("test_first_completed_takes_the_first_result_and_leaves_the_losers_alone",
                 "test_first_completed_passes_on_exceptions_and_cancellation",
                 "test_first_completed_works_with_tasks"), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)
                    for other in futures:
                        other.cancel()

            for future in futures:
                future.add_done_callback(on_input_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed leaves its callbacks on the losers",
                ("test_first_completed_leaves_no_callbacks_on_the_losers",
                 "test_cancelling_the_result_leaves_the_inputs_alone"), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)

            for future in futures:
                future.add_done_callback(on_input_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed cleans up only when an input wins",
                ("test_cancelling_the_result_leaves_the_inputs_alone",), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)
                    for other in futures:
                        other.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            return winner
    """),
    WrongAnswer("03-futures", "cancelling first_completed's future cancels the inputs",
                ("test_cancelling_the_result_leaves_the_inputs_alone",), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)

            def on_winner_done(winner):
                for future in futures:
                    future.remove_done_callback(on_input_done)
                    if winner.cancelled():
                        future.cancel()

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed copies result() only",
                ("test_first_completed_passes_on_exceptions_and_cancellation",), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    winner.set_result(future.result())  # raises for a failed or cancelled input

            def on_winner_done(_):
                for future in futures:
                    future.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed turns cancellation into an exception",
                ("test_first_completed_passes_on_exceptions_and_cancellation",), """
        import asyncio

        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()

            def on_input_done(future):
                if winner.done():
                    return
                if future.cancelled():
                    winner.set_exception(asyncio.CancelledError())
                else:
                    _copy_outcome(future, winner)

            def on_winner_done(_):
                for future in futures:
                    future.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed scans for done inputs and keeps going",
                ("test_first_completed_with_inputs_already_done",), """
        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")
            winner = loop.create_future()
            for future in futures:
                if future.done():
                    _copy_outcome(future, winner)  # the second done input raises
            if winner.done():
                return winner

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)

            def on_winner_done(_):
                for future in futures:
                    future.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    WrongAnswer("03-futures", "first_completed in a task, with asyncio.wait",
                ("test_first_completed_settles_in_the_pass_after_the_input",), """
        import asyncio

        def first_completed(loop, *futures):
            if not futures:
                raise ValueError("no futures")

            async def race():
                done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
                return await next(f for f in futures if f in done)

            return loop.create_task(race())
    """),
    WrongAnswer("03-futures", "first_completed accepts no inputs",
                ("test_first_completed_needs_an_input",), """
        def first_completed(loop, *futures):
            winner = loop.create_future()

            def on_input_done(future):
                if not winner.done():
                    _copy_outcome(future, winner)

            def on_winner_done(_):
                for future in futures:
                    future.remove_done_callback(on_input_done)

            for future in futures:
                future.add_done_callback(on_input_done)
            winner.add_done_callback(on_winner_done)
            return winner
    """),
    # ── chapter 3: then
    WrongAnswer("03-futures", "then without a done() guard",
                ("test_cancelling_the_new_future_cancels_the_input",), """
        def then(future, fn):
            derived = future.get_loop().create_future()

            def on_source_done(source):
                if source.cancelled() or source.exception() is not None:
                    _copy_outcome(source, derived)
                    return
                try:
                    derived.set_result(fn(source.result()))
                except Exception as error:
                    derived.set_exception(error)

            def on_derived_done(derived):
                if derived.cancelled():
                    future.cancel()

            future.add_done_callback(on_source_done)
            derived.add_done_callback(on_derived_done)
            return derived
    """),
    WrongAnswer("03-futures", "then calls fn whatever the outcome",
                ("test_then_passes_failure_and_cancellation_through",), """
        def then(future, fn):
            derived = future.get_loop().create_future()

            def on_source_done(source):
                if derived.done():
                    return
                try:
                    derived.set_result(fn(source.result()))
                except Exception as error:
                    derived.set_exception(error)

            def on_derived_done(derived):
                if derived.cancelled():
                    future.cancel()

            future.add_done_callback(on_source_done)
            derived.add_done_callback(on_derived_done)
            return derived
    """),
    WrongAnswer("03-futures", "then lets fn's exception escape",
                ("test_then_puts_fns_exception_in_the_future",), """
        def then(future, fn):
            derived = future.get_loop().create_future()

            def on_source_done(source):
                if derived.done():
                    return
                if source.cancelled() or source.exception() is not None:
                    _copy_outcome(source, derived)
                else:
                    derived.set_result(fn(source.result()))

            def on_derived_done(derived):
                if derived.cancelled():
                    future.cancel()

            future.add_done_callback(on_source_done)
            derived.add_done_callback(on_derived_done)
            return derived
    """),
    WrongAnswer("03-futures", "then does not pass cancellation back",
                ("test_cancelling_the_new_future_cancels_the_input",), """
        def then(future, fn):
            derived = future.get_loop().create_future()

            def on_source_done(source):
                if derived.done():
                    return
                if source.cancelled() or source.exception() is not None:
                    _copy_outcome(source, derived)
                    return
                try:
                    derived.set_result(fn(source.result()))
                except Exception as error:
                    derived.set_exception(error)

            future.add_done_callback(on_source_done)
            return derived
    """),
    # ── chapter 3: Answer
    WrongAnswer("03-futures", "Answer whose __await__ is a generator",
                ("test_answer_is_awaited_without_a_generator",), """
        class Answer(eventloop.Future):
            def __await__(self):
                if not self.done():
                    self._asyncio_future_blocking = True
                    yield self
                if not self.done():
                    raise RuntimeError("await wasn't used with future")
                return self.result()
    """),
    WrongAnswer("03-futures", "Answer whose iterator passes the calls on to a generator",
                ("test_answer_is_awaited_without_a_generator",), """
        class _Awaiting:
            def __init__(self, future):
                self._generator = eventloop.Future.__await__(future)

            def __iter__(self):
                return self

            def __next__(self):
                return next(self._generator)

            def send(self, value):
                return self._generator.send(value)

            def throw(self, *args):
                return self._generator.throw(*args)

            def close(self):
                return self._generator.close()
    """),
    WrongAnswer("03-futures", "Answer that leaves _asyncio_future_blocking unset",
                ("test_answer_with_asyncios_task", "test_answer_steps_like_the_generator"), """
        class _Awaiting(_Awaiting):
            def send(self, value):
                yielded = super().send(value)
                yielded._asyncio_future_blocking = False  # forgot: the task will refuse it
                return yielded
    """),
    WrongAnswer("03-futures", "Answer whose iterator returns the result instead of stopping",
                ("test_answer_with_the_chapters_driver", "test_answer_with_asyncios_task",
                 "test_answer_steps_like_the_generator"), """
        class _Awaiting(_Awaiting):
            def send(self, value):
                try:
                    return super().send(value)
                except StopIteration as stop:
                    return stop.value
    """),
    WrongAnswer("03-futures", "Answer that yields again when resumed too early",
                ("test_answer_steps_like_the_generator",), """
        class _Awaiting(_Awaiting):
            def send(self, value):
                if self._state == "suspended" and not self._future.done():
                    return self._future
                return super().send(value)
    """),
    WrongAnswer("03-futures", "Answer that reads _result instead of result()",
                ("test_answer_raises_its_exception_at_the_await",
                 "test_answer_cancelled_raises_at_the_await"), """
        class _Awaiting(_Awaiting):
            def send(self, value):
                if self._state != "finished" and self._future.done():
                    self._state = "finished"
                    raise StopIteration(self._future._result)  # an exception is never raised
                return super().send(value)
    """),
    WrongAnswer("03-futures", "Answer that accepts a value before it starts",
                ("test_answer_refuses_a_value_before_it_starts",), """
        class _Awaiting(_Awaiting):
            def send(self, value):
                return super().send(None if self._state == "not started" else value)
    """),
    WrongAnswer("03-futures", "Answer whose iterator has no throw()",
                ("test_answer_throws_like_the_generator",), """
        del _Awaiting.throw  # the coroutine then raises at the await itself; the iterator never knows
    """),
    WrongAnswer("03-futures", "Answer whose throw() leaves the iterator suspended",
                ("test_answer_throws_like_the_generator",), """
        class _Awaiting(_Awaiting):
            def throw(self, error, value=None, traceback=None):
                raise error() if isinstance(error, type) else error
    """),
    WrongAnswer("03-futures", "Answer whose close() throws GeneratorExit out",
                ("test_answer_closes_like_the_generator",), """
        class _Awaiting(_Awaiting):
            def close(self):
                self.throw(GeneratorExit)
    """),
    # ── chapter 4: counting_factory
    WrongAnswer("04-tasks", "counting_factory counts send() only",
                ("test_counting_factory_counts_thrown_cancellation",), """
        class _CountingCoroutine(_CountingCoroutine):
            def throw(self, *args):
                return self._coro.throw(*args)
    """),
    # ── chapter 4: gather_or_cancel
    WrongAnswer("04-tasks", "gather_or_cancel that awaits each child in turn",
                ("test_gather_or_cancel_cancels_the_others_and_waits_for_them",
                 "test_gather_or_cancel_passes_on_the_callers_cancellation"), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            try:
                return [await child for child in children]
            except BaseException:
                for child in children:
                    child.cancel()  # and gone: nobody waits for their cleanup
                raise
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that raises before the cancelled children finish",
                ("test_gather_or_cancel_cancels_the_others_and_waits_for_them",), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            pending, failures = set(children), []
            woken = loop.create_future()

            def on_child_done(child):
                pending.discard(child)
                if child.cancelled() or child.exception() is not None:
                    failures.append(child)
                if (failures or not pending) and not woken.done():
                    woken.set_result(None)

            for child in children:
                child.add_done_callback(on_child_done)
            if pending:
                try:
                    await woken
                except asyncio.CancelledError:
                    for child in children:
                        child.cancel()
                    raise
            if failures:
                for child in children:
                    child.cancel()
                failures[0].result()
            return [child.result() for child in children]
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that leaves a second failure unretrieved",
                ("test_gather_or_cancel_retrieves_every_failure",), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            pending, failures = set(children), []
            aborting = False
            all_done = None

            def abort():
                nonlocal aborting
                aborting = True
                for child in children:
                    child.cancel()

            def on_child_done(child):
                pending.discard(child)
                if not pending and all_done is not None and not all_done.done():
                    all_done.set_result(None)
                if aborting:
                    return  # we cancelled it: nothing to look at (but it may have failed)
                if child.cancelled() or child.exception() is not None:
                    failures.append(child)
                    abort()

            for child in children:
                child.add_done_callback(on_child_done)
            caller_cancelled = None
            while pending:
                all_done = loop.create_future()
                try:
                    await all_done
                except asyncio.CancelledError as error:
                    caller_cancelled = caller_cancelled or error
                    abort()
            if caller_cancelled is not None:
                raise caller_cancelled
            if failures:
                failures[0].result()
            return [child.result() for child in children]
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that swallows the caller's cancellation",
                ("test_gather_or_cancel_passes_on_the_callers_cancellation",), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            pending = set(children)
            failures = []  # the children that failed before we cancelled anything, in order
            aborting = False  # we have cancelled the children: their ends are no failures
            all_done = None  # the future the caller waits on; settled once nothing is pending

            def abort():
                nonlocal aborting
                aborting = True
                for child in children:
                    child.cancel()  # a no-op on the children already done

            def on_child_done(child):
                pending.discard(child)
                # exception() marks a failure as retrieved: no "never retrieved" log for
                # the second child to fail, whose exception nobody else will read.
                failed = child.cancelled() or child.exception() is not None
                if failed and not aborting:
                    failures.append(child)
                    abort()
                if not pending and all_done is not None and not all_done.done():
                    all_done.set_result(None)

            for child in children:
                child.add_done_callback(on_child_done)
            caller_cancelled = None
            while pending:
                # A fresh future each time round: cancelling the caller cancels the one it awaits.
                all_done = loop.create_future()
                try:
                    await all_done
                except asyncio.CancelledError as error:
                    if not aborting:
                        abort()  # and then carry on as if nothing happened to the caller
            if caller_cancelled is not None:
                raise caller_cancelled
            if failures:
                failures[0].result()  # raises the first failure, with its traceback
            return [None if child.cancelled() else child.result() for child in children]
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that stops waiting when cancelled again",
                ("test_gather_or_cancel_waits_for_the_children_when_cancelled_twice",), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            pending = set(children)
            failures = []  # the children that failed before we cancelled anything, in order
            aborting = False  # we have cancelled the children: their ends are no failures
            all_done = None  # the future the caller waits on; settled once nothing is pending

            def abort():
                nonlocal aborting
                aborting = True
                for child in children:
                    child.cancel()  # a no-op on the children already done

            def on_child_done(child):
                pending.discard(child)
                # exception() marks a failure as retrieved: no "never retrieved" log for
                # the second child to fail, whose exception nobody else will read.
                failed = child.cancelled() or child.exception() is not None
                if failed and not aborting:
                    failures.append(child)
                    abort()
                if not pending and all_done is not None and not all_done.done():
                    all_done.set_result(None)

            for child in children:
                child.add_done_callback(on_child_done)
            caller_cancelled = None
            while pending:
                # A fresh future each time round: cancelling the caller cancels the one it awaits.
                all_done = loop.create_future()
                try:
                    await all_done
                except asyncio.CancelledError as error:
                    if caller_cancelled is not None:
                        raise  # cancelled again: stop waiting for the children
                    caller_cancelled = error
                    if not aborting:
                        abort()
            if caller_cancelled is not None:
                raise caller_cancelled
            if failures:
                failures[0].result()  # raises the first failure, with its traceback
            return [child.result() for child in children]
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that takes back the caller's cancellation",
                ("test_gather_or_cancel_passes_on_the_callers_cancellation",), """
        _real_gather_or_cancel = gather_or_cancel

        async def gather_or_cancel(loop, *coros):
            try:
                return await _real_gather_or_cancel(loop, *coros)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # "handled": but it was not ours to take back
                raise
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that returns the results in the order they came",
                ("test_gather_or_cancel_returns_the_results_in_order",), """
        _real_gather_or_cancel = gather_or_cancel

        async def gather_or_cancel(loop, *coros):
            finished = []

            async def recorded(coro):
                finished.append(await coro)

            await _real_gather_or_cancel(loop, *(recorded(coro) for coro in coros))
            return finished
    """),
    WrongAnswer("04-tasks", "gather_or_cancel that ignores a child cancelled by someone else",
                ("test_gather_or_cancel_fails_when_a_child_is_cancelled_by_someone_else",), """
        async def gather_or_cancel(loop, *coros):
            children = [loop.create_task(coro) for coro in coros]
            pending, failures = set(children), []
            all_done = None

            def on_child_done(child):
                pending.discard(child)
                if not child.cancelled() and child.exception() is not None and not failures:
                    failures.append(child)
                    for other in children:
                        other.cancel()
                if not pending and all_done is not None and not all_done.done():
                    all_done.set_result(None)

            for child in children:
                child.add_done_callback(on_child_done)
            caller_cancelled = None
            while pending:
                all_done = loop.create_future()
                try:
                    await all_done
                except asyncio.CancelledError as error:
                    caller_cancelled = caller_cancelled or error
                    for child in children:
                        child.cancel()
            if caller_cancelled is not None:
                raise caller_cancelled
            if failures:
                failures[0].result()
            return [None if child.cancelled() else child.result() for child in children]
    """),
    # ── chapter 5: start_eagerly
    WrongAnswer("05-asyncio-programs", "start_eagerly that leaves the caller current",
                ("test_start_eagerly_runs_the_first_step_now_as_the_current_task",
                 "test_start_eagerly_returns_the_task_that_was_current"), """
        import asyncio as _asyncio

        _real_start_eagerly = start_eagerly

        def start_eagerly(loop, coro, *, name=None, context=None):
            enter, leave = _asyncio._enter_task, _asyncio._leave_task
            _asyncio._enter_task = _asyncio._leave_task = lambda loop, task: None
            try:
                return _real_start_eagerly(loop, coro, name=name, context=context)
            finally:
                _asyncio._enter_task, _asyncio._leave_task = enter, leave
    """),
    WrongAnswer("05-asyncio-programs", "start_eagerly that runs the first step in the caller's context",
                ("test_start_eagerly_runs_in_a_copy_of_the_context_or_the_given_one",), """
        import contextvars as _contextvars

        _real_start_eagerly = start_eagerly

        class _CallersContext:
            def run(self, f, *args):
                return f(*args)

        def start_eagerly(loop, coro, *, name=None, context=None):
            copy = _contextvars.copy_context
            _contextvars.copy_context = _CallersContext
            try:
                return _real_start_eagerly(loop, coro, name=name, context=context)
            finally:
                _contextvars.copy_context = copy
    """),
    WrongAnswer("05-asyncio-programs", "start_eagerly that lets the first step's exception escape",
                ("test_start_eagerly_finishes_at_once_without_suspending",), """
        _real_start_eagerly = start_eagerly

        def start_eagerly(loop, coro, *, name=None, context=None):
            started = _real_start_eagerly(loop, coro, name=name, context=context)
            if started.done() and not started.cancelled() and started.exception() is not None:
                raise started.exception()
            return started
    """),
    WrongAnswer("05-asyncio-programs", "start_eagerly that returns a pending task for a finished coroutine",
                ("test_start_eagerly_finishes_at_once_without_suspending",), """
        import eventloop as _eventloop

        def start_eagerly(loop, coro, *, name=None, context=None):
            return _eventloop.Task(coro, loop=loop, name=name, context=context)
    """),
    WrongAnswer("05-asyncio-programs", "start_eagerly that calls loop.create_task",
                ("test_start_eagerly_as_the_task_factory",), """
        _real_start_eagerly = start_eagerly

        def start_eagerly(loop, coro, *, name=None, context=None):
            if not loop.is_running():
                return loop.create_task(coro, name=name, context=context)
            return _real_start_eagerly(loop, coro, name=name, context=context)
    """),
    WrongAnswer("05-asyncio-programs", "start_eagerly that runs the first step outside a running loop",
                ("test_start_eagerly_waits_when_the_loop_is_not_running",), """
        _real_start_eagerly = start_eagerly

        def start_eagerly(loop, coro, *, name=None, context=None):
            if loop.is_running():
                return _real_start_eagerly(loop, coro, name=name, context=context)
            try:
                coro.send(None)  # eager anyway
            except StopIteration as stop:
                done = loop.create_future()
                done.set_result(stop.value)
                return done
            raise NotImplementedError("the check's coroutine never gets here")
    """),
    # ── chapter 6: wait_readable
    WrongAnswer("06-selectors", "wait_readable that leaves its reader registered",
                ("test_wait_readable_settles_when_the_socket_is_readable",
                 "test_wait_readable_settles_once_although_the_socket_stays_readable",
                 "test_cancelling_wait_readable_removes_its_reader",
                 "test_wait_readable_cancelled_in_the_pass_it_becomes_readable",
                 "test_wait_readable_under_a_timeout_in_a_task"), """
        def wait_readable(loop, sock):
            future = loop.create_future()
            loop.add_reader(sock, future.set_result, None)
            return future
    """),
    WrongAnswer("06-selectors", "wait_readable that forgets a cancelled wait",
                ("test_cancelling_wait_readable_removes_its_reader",
                 "test_wait_readable_under_a_timeout_in_a_task"), """
        def wait_readable(loop, sock):
            future = loop.create_future()

            def on_readable():
                loop.remove_reader(sock)
                if not future.done():
                    future.set_result(None)

            loop.add_reader(sock, on_readable)
            return future
    """),
    WrongAnswer("06-selectors", "wait_readable without a done() guard",
                ("test_wait_readable_cancelled_in_the_pass_it_becomes_readable",), """
        def wait_readable(loop, sock):
            future = loop.create_future()

            def on_readable():
                loop.remove_reader(sock)
                future.set_result(None)  # raises if the future was cancelled earlier in this pass

            def on_done(future):
                if future.cancelled():
                    loop.remove_reader(sock)

            loop.add_reader(sock, on_readable)
            future.add_done_callback(on_done)
            return future
    """),
    WrongAnswer("06-selectors", "wait_readable whose cleanup removes whatever reader the socket has",
                ("test_a_cancelled_wait_leaves_the_next_ones_reader_alone",), """
        def wait_readable(loop, sock):
            future = loop.create_future()

            def on_readable():
                loop.remove_reader(sock)
                if not future.done():
                    future.set_result(None)

            def on_done(future):
                if future.cancelled():
                    loop.remove_reader(sock)  # perhaps another wait's reader by now

            loop.add_reader(sock, on_readable)
            future.add_done_callback(on_done)
            return future
    """),
    WrongAnswer("06-selectors", "wait_readable that reads a byte to be sure",
                ("test_wait_readable_settles_when_the_socket_is_readable",), """
        def wait_readable(loop, sock):
            future = loop.create_future()

            def on_readable():
                loop.remove_reader(sock)
                sock.recv(1)  # the caller's first byte, gone
                if not future.done():
                    future.set_result(None)

            def on_done(future):
                if future.cancelled() and not handle.cancelled():
                    loop.remove_reader(sock)

            handle = loop._add_reader(sock, on_readable)
            future.add_done_callback(on_done)
            return future
    """),
    # ── chapter 6: read_lines
    WrongAnswer("06-selectors", "read_lines that splits each read on its own",
                ("test_read_lines_joins_lines_split_across_reads",), """
        def read_lines(loop, sock, on_line):
            def on_readable():
                data = sock.recv(65536)
                if not data:
                    loop.remove_reader(sock)
                    on_line(None)
                    return
                for line in data.splitlines(keepends=True):
                    on_line(line)

            loop.add_reader(sock, on_readable)
    """),
    WrongAnswer("06-selectors", "read_lines that hands over one line per read",
                ("test_read_lines_hands_over_every_line_of_one_read_at_once",), """
        def read_lines(loop, sock, on_line):
            buffer = bytearray()

            def on_readable():
                data = sock.recv(65536)
                if not data:
                    loop.remove_reader(sock)
                    if buffer:
                        on_line(bytes(buffer))
                    on_line(None)
                    return
                buffer.extend(data)
                end = buffer.find(b"\\n")
                if end != -1:
                    on_line(bytes(buffer[:end + 1]))
                    del buffer[:end + 1]

            loop.add_reader(sock, on_readable)
    """),
    WrongAnswer("06-selectors", "read_lines that keeps watching after the end",
                ("test_read_lines_reports_the_end_once_and_stops_watching",), """
        def read_lines(loop, sock, on_line):
            buffer = bytearray()

            def on_readable():
                data = sock.recv(65536)
                if not data:  # and again in the next pass, and the next
                    if buffer:
                        on_line(bytes(buffer))
                        buffer.clear()
                    on_line(None)
                    return
                buffer.extend(data)
                *lines, rest = buffer.split(b"\\n")
                for line in lines:
                    on_line(line + b"\\n")
                buffer[:] = rest

            loop.add_reader(sock, on_readable)
    """),
    WrongAnswer("06-selectors", "read_lines that drops the unfinished last line",
                ("test_read_lines_joins_lines_split_across_reads",
                 "test_read_lines_reports_the_end_once_and_stops_watching"), """
        def read_lines(loop, sock, on_line):
            buffer = bytearray()

            def on_readable():
                data = sock.recv(65536)
                if not data:
                    loop.remove_reader(sock)
                    on_line(None)
                    return
                buffer.extend(data)
                *lines, rest = buffer.split(b"\\n")
                for line in lines:
                    on_line(line + b"\\n")
                buffer[:] = rest

            loop.add_reader(sock, on_readable)
    """),
    WrongAnswer("06-selectors", "read_lines that hands over an empty last line",
                ("test_read_lines_reports_the_end_once_and_stops_watching",), """
        def read_lines(loop, sock, on_line):
            buffer = bytearray()

            def on_readable():
                data = sock.recv(65536)
                if not data:
                    loop.remove_reader(sock)
                    on_line(bytes(buffer))  # b"" when the last line was complete
                    on_line(None)
                    return
                buffer.extend(data)
                *lines, rest = buffer.split(b"\\n")
                for line in lines:
                    on_line(line + b"\\n")
                buffer[:] = rest

            loop.add_reader(sock, on_readable)
    """),
    # ── chapter 6: PollSelector
    WrongAnswer("06-selectors", "PollSelector built on selectors.PollSelector",
                ("test_poll_loop_waits_in_your_poll_selector",), """
        class PollSelector(selectors.PollSelector):
            pass
    """),
    WrongAnswer("06-selectors", "PollSelector that rounds a timeout down",
                ("test_poll_selector_never_sleeps_less_than_asked",), """
        class PollSelector(PollSelector):
            def select(self, timeout=None):
                if timeout is not None:
                    timeout = max(0, int(timeout * 1000)) / 1000  # whole milliseconds, rounded down
                return super().select(timeout)
    """),
    WrongAnswer("06-selectors", "PollSelector that counts only POLLIN as readable",
                ("test_poll_selector_sees_a_pipe_whose_writer_closed",
                 "test_poll_loop_sees_the_end_of_a_pipe"), """
        class PollSelector(PollSelector):
            def select(self, timeout=None):
                milliseconds = None if timeout is None else max(0, math.ceil(timeout * 1000))
                ready = []
                for fd, happened in self._poll.poll(milliseconds):
                    key = self._keys.get(fd)
                    if key is None:
                        continue
                    events = ((happened & select.POLLIN and EVENT_READ)
                              | (happened & select.POLLOUT and EVENT_WRITE)) & key.events
                    if events:
                        ready.append((key, events))
                return ready
    """),
    WrongAnswer("06-selectors", "PollSelector that reports events nobody asked for",
                ("test_poll_selector_sees_a_pipe_whose_writer_closed",), """
        class PollSelector(PollSelector):
            def select(self, timeout=None):
                milliseconds = None if timeout is None else max(0, math.ceil(timeout * 1000))
                ready = []
                for fd, happened in self._poll.poll(milliseconds):
                    key = self._keys.get(fd)
                    if key is not None:
                        ready.append((key, (happened & ~select.POLLOUT and EVENT_READ)
                                      | (happened & ~select.POLLIN and EVENT_WRITE)))
                return ready
    """),
    WrongAnswer("06-selectors", "PollSelector whose unregister forgets the poll object",
                ("test_poll_loop_replaces_readers_and_shares_a_descriptor",
                 "test_poll_selector_refuses_as_selectors_do"), """
        class PollSelector(PollSelector):
            def unregister(self, fileobj):
                fd = self._fd_for(fileobj)
                try:
                    return self._keys.pop(fd)
                except KeyError:
                    raise KeyError(f"{fileobj!r} is not registered") from None
    """),
    WrongAnswer("06-selectors", "PollSelector that looks keys up by the object given",
                ("test_poll_loop_replaces_readers_and_shares_a_descriptor",
                 "test_poll_selector_refuses_as_selectors_do"), """
        class PollSelector(PollSelector):
            def _fd_for(self, fileobj):
                for key in self._keys.values():
                    if key.fileobj is fileobj or key.fileobj == fileobj:
                        return key.fd
                raise KeyError(f"{fileobj!r} is not registered")
    """),
    WrongAnswer("06-selectors", "PollSelector that cannot find a socket closed while registered",
                ("test_poll_selector_refuses_as_selectors_do",), """
        class PollSelector(PollSelector):
            def _fd_for(self, fileobj):
                return _fd_of(fileobj)
    """),
    # The loop changes a reader in the list it registered (chapter 6's _watched),
    # so only the selector's own check can see a modify() that ignores its data.
    WrongAnswer("06-selectors", "PollSelector.modify that keeps the old data",
                ("test_poll_selector_reports_what_was_asked",), """
        class PollSelector(PollSelector):
            def modify(self, fileobj, events, data=None):
                key = self._keys[self._fd_for(fileobj)]
                return super().modify(fileobj, events, key.data)
    """),
    WrongAnswer("06-selectors", "PollSelector.modify that leaves the poll object as it was",
                ("test_poll_loop_replaces_readers_and_shares_a_descriptor",
                 "test_poll_selector_reports_what_was_asked"), """
        class PollSelector(PollSelector):
            def modify(self, fileobj, events, data=None):
                self._mask(events)
                fd = self._fd_for(fileobj)
                key = self._keys[fd] = self._keys[fd]._replace(events=events, data=data)
                return key
    """),
    # ── chapter 7: call_from_thread
    WrongAnswer("07-waking", "call_from_thread with call_soon",
                ("test_call_from_thread_runs_fn_on_the_loop_and_returns_its_result",), """
        def call_from_thread(loop, fn, *args):
            if loop._thread_id == threading.get_ident():
                raise RuntimeError("call_from_thread() in the loop's own thread")
            finished, outcome = threading.Event(), []

            def run():
                try:
                    outcome.append((True, fn(*args)))
                except BaseException as error:
                    outcome.append((False, error))
                finally:
                    finished.set()

            loop.call_soon(run)  # appended, but a sleeping loop does not know
            finished.wait()
            returned, value = outcome.pop()
            if returned:
                return value
            raise value
    """),
    WrongAnswer("07-waking", "call_from_thread that runs fn in the calling thread",
                ("test_call_from_thread_runs_fn_on_the_loop_and_returns_its_result",), """
        def call_from_thread(loop, fn, *args):
            if loop._thread_id == threading.get_ident():
                raise RuntimeError("call_from_thread() in the loop's own thread")
            return fn(*args)  # beside the loop's callbacks, not among them
    """),
    WrongAnswer("07-waking", "call_from_thread that lets fn's exception reach the loop",
                ("test_call_from_thread_raises_fns_exception_in_the_calling_thread",), """
        def call_from_thread(loop, fn, *args):
            if loop._thread_id == threading.get_ident():
                raise RuntimeError("call_from_thread() in the loop's own thread")
            finished, results = threading.Event(), []

            def run():
                results.append(fn(*args))  # if fn raises: the exception handler, and no set()
                finished.set()

            loop.call_soon_threadsafe(run)
            finished.wait()
            return results[0]
    """),
    WrongAnswer("07-waking", "call_from_thread that raises an exception of its own",
                ("test_call_from_thread_raises_fns_exception_in_the_calling_thread",), """
        _real_call_from_thread = call_from_thread

        def call_from_thread(loop, fn, *args):
            try:
                return _real_call_from_thread(loop, fn, *args)
            except Exception as error:
                raise RuntimeError(f"fn failed: {error!r}") from None
    """),
    WrongAnswer("07-waking", "call_from_thread that waits for itself in the loop's thread",
                ("test_call_from_thread_in_the_loops_own_thread_refuses",), """
        def call_from_thread(loop, fn, *args):
            finished, outcome = threading.Event(), []

            def run():
                try:
                    outcome.append((True, fn(*args)))
                except BaseException as error:
                    outcome.append((False, error))
                finally:
                    finished.set()

            loop.call_soon_threadsafe(run)
            finished.wait()  # in the loop's thread: run() can never run
            returned, value = outcome.pop()
            if returned:
                return value
            raise value
    """),
    # ── chapter 7: graceful
    WrongAnswer("07-waking", "graceful that stops without waiting for the cleanups",
                ("test_graceful_cancels_every_task_and_stops_once_they_have_finished",
                 "test_graceful_waits_for_a_cleanup_that_fails"), """
        def graceful(loop, *signals):
            def on_signal():
                for task in asyncio.all_tasks(loop):
                    task.cancel()  # only asks: the cleanups run in the passes after this one
                loop.stop()

            for sig in signals:
                loop.add_signal_handler(sig, on_signal)
    """),
    WrongAnswer("07-waking", "graceful that waits with asyncio.gather",
                ("test_graceful_cancels_every_task_and_stops_once_they_have_finished",
                 "test_graceful_waits_for_a_cleanup_that_fails"), """
        def graceful(loop, *signals):
            def on_signal():
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                # Done at the first task that ends cancelled or failed, not at the last.
                asyncio.gather(*tasks).add_done_callback(lambda gathered: loop.stop())

            for sig in signals:
                loop.add_signal_handler(sig, on_signal)
    """),
    WrongAnswer("07-waking", "graceful that waits with asyncio.wait",
                ("test_graceful_without_tasks_stops_at_once",), """
        def graceful(loop, *signals):
            async def shut_down(tasks):
                await asyncio.wait(tasks)  # ValueError for an empty set
                loop.stop()

            def on_signal():
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.create_task(shut_down(tasks))

            for sig in signals:
                loop.add_signal_handler(sig, on_signal)
    """),
    WrongAnswer("07-waking", "graceful that ignores a second signal",
                ("test_a_second_signal_stops_at_once", "test_the_same_signal_twice_stops_at_once"), """
        def graceful(loop, *signals):
            pending = set()
            started = False

            def on_task_done(task):
                pending.discard(task)
                if not pending:
                    loop.stop()

            def on_signal():
                nonlocal started
                if started:
                    return  # shutting down already
                started = True
                pending.update(asyncio.all_tasks(loop))
                if not pending:
                    loop.stop()
                for task in list(pending):
                    task.add_done_callback(on_task_done)
                    task.cancel()

            for sig in signals:
                loop.add_signal_handler(sig, on_signal)
    """),
    WrongAnswer("07-waking", "graceful that gives the signals back after the first",
                ("test_a_second_signal_stops_at_once", "test_the_same_signal_twice_stops_at_once"), """
        def graceful(loop, *signals):
            pending = set()

            def on_task_done(task):
                pending.discard(task)
                if not pending:
                    loop.stop()

            def on_signal():
                for sig in signals:
                    loop.remove_signal_handler(sig)  # "then a second one kills the program"
                pending.update(asyncio.all_tasks(loop))
                if not pending:
                    loop.stop()
                for task in list(pending):
                    task.add_done_callback(on_task_done)
                    task.cancel()

            for sig in signals:
                loop.add_signal_handler(sig, on_signal)
    """),
    WrongAnswer("07-waking", "graceful with signal.signal",
                ("test_graceful_takes_the_signals_through_the_loop",), """
        import signal as _signal

        def graceful(loop, *signals):
            pending = set()
            stopping = False

            def on_task_done(task):
                pending.discard(task)
                if not pending:
                    loop.stop()

            def on_signal():
                nonlocal stopping
                if stopping:
                    loop.stop()
                    return
                stopping = True
                pending.update(asyncio.all_tasks(loop))
                if not pending:
                    loop.stop()
                for task in list(pending):
                    task.add_done_callback(on_task_done)
                    task.cancel()

            for sig in signals:
                # Python's own handler, run between two bytecodes of whatever is running.
                _signal.signal(sig, lambda signum, frame: loop.call_soon_threadsafe(on_signal))
    """),
    # ── chapter 7: BatchingLoop
    WrongAnswer("07-waking", "BatchingLoop that is the chapter's loop",
                ("test_batching_loop_writes_one_byte_for_many_calls_while_it_sleeps",), """
        class BatchingLoop(EventLoop):
            pass
    """),
    WrongAnswer("07-waking", "BatchingLoop that never clears its flag",
                ("test_batching_loop_is_woken_for_each_sleep",), """
        class BatchingLoop(BatchingLoop):
            def _read_from_self(self):
                EventLoop._read_from_self(self)  # drains, and keeps the lock taken
    """),
    WrongAnswer("07-waking", "BatchingLoop that clears its flag right after the write",
                ("test_batching_loop_writes_one_byte_for_many_calls_while_it_sleeps",), """
        class BatchingLoop(EventLoop):
            _wake_pending = False

            def call_soon_threadsafe(self, callback, *args, context=None):
                self._check_closed()
                handle = Handle(callback, args, self, context)
                self._ready.append(handle)
                if self._may_sleep and not self._wake_pending:
                    self._wake_pending = True
                    self._write_to_self()
                    self._wake_pending = False  # "written: nothing pending any more"
                return handle
    """),
    WrongAnswer("07-waking", "BatchingLoop that clears its flag after the look",
                ("test_batching_loop_loses_no_wake_up_just_after_the_look",), """
        class BatchingLoop(EventLoop):
            _wake_pending = False

            def call_soon_threadsafe(self, callback, *args, context=None):
                self._check_closed()
                handle = Handle(callback, args, self, context)
                self._ready.append(handle)
                if self._may_sleep and not self._wake_pending:
                    self._wake_pending = True
                    self._write_to_self()
                return handle

            def _wait(self, timeout):
                self._may_sleep = True
                try:
                    if self._ready:
                        timeout = 0
                    self._wake_pending = False  # about to sleep: the next call must wake us
                    event_list = self._selector.select(timeout)
                finally:
                    self._may_sleep = False
                self._process_events(event_list)
    """),
    WrongAnswer("07-waking", "BatchingLoop that raises its flag after the write",
                ("test_batching_loop_loses_no_wake_up_just_after_a_write",), """
        class BatchingLoop(EventLoop):
            _wake_pending = False

            def call_soon_threadsafe(self, callback, *args, context=None):
                self._check_closed()
                handle = Handle(callback, args, self, context)
                self._ready.append(handle)
                if self._may_sleep and not self._wake_pending:
                    self._write_to_self()
                    self._wake_pending = True  # the loop may have drained the byte already
                return handle

            def _read_from_self(self):
                super()._read_from_self()
                self._wake_pending = False
    """),
    WrongAnswer("07-waking", "BatchingLoop that trusts the length of _ready",
                ("test_batching_loop_loses_no_wake_up_when_two_threads_call_at_once",), """
        class BatchingLoop(EventLoop):
            def call_soon_threadsafe(self, callback, *args, context=None):
                self._check_closed()
                handle = Handle(callback, args, self, context)
                self._ready.append(handle)
                # "If a handle was there before mine, whoever appended it woke the loop."
                if self._may_sleep and len(self._ready) == 1:
                    self._write_to_self()
                return handle
    """),
    WrongAnswer("07-waking", "BatchingLoop that writes whenever no byte is pending",
                ("test_batching_loop_writes_nothing_while_it_is_awake",), """
        class BatchingLoop(BatchingLoop):
            def call_soon_threadsafe(self, callback, *args, context=None):
                self._check_closed()
                handle = Handle(callback, args, self, context)
                self._ready.append(handle)
                if self._wake_pending.acquire(blocking=False):  # asleep or not
                    self._write_to_self()
                return handle
    """),
    WrongAnswer("07-waking", "BatchingLoop that drains the self-pipe itself",
                ("test_batching_loop_still_hears_signals",), """
        class BatchingLoop(BatchingLoop):
            def _read_from_self(self):
                try:
                    while self._ssock.recv(4096):
                        pass  # a signal's byte too, never handed to _process_self_data
                except BlockingIOError:
                    pass
                if self._wake_pending.locked():
                    self._wake_pending.release()
    """),
    # ── chapter 8: gather_in_threads, to_process, wrap
    WrongAnswer("08-executors", "to_process with one pool for every loop",
                ("test_to_process_gives_each_loop_its_pool",), """
        _shared = []

        def _pool_of(loop):
            if not _shared:
                _shared.append(concurrent.futures.ProcessPoolExecutor(
                    max_workers=2, mp_context=multiprocessing.get_context("spawn")))
            _pools[loop] = _shared[0]
            return _shared[0]
    """),
    WrongAnswer("08-executors", "wrap that sets a result on a cancelled future",
                ("test_wrap_cancelled_while_the_job_runs",), """
        def _copy_state(future, source):
            if source.cancelled():
                future.cancel()
            elif source.exception() is not None:
                future.set_exception(source.exception())
            else:
                future.set_result(source.result())
    """),
    WrongAnswer("08-executors", "wrap that calls a closed loop",
                ("test_wrap_delivers_nothing_to_a_closed_loop",), """
        def wrap(concurrent_future, loop):
            future = loop.create_future()
            future.add_done_callback(lambda f: f.cancelled() and concurrent_future.cancel())
            concurrent_future.add_done_callback(
                lambda source: loop.call_soon_threadsafe(_copy_state, future, source))
            return future
    """),
    # ── chapter 9: recv_exactly
    WrongAnswer("09-sockets", "recv_exactly that returns short data at the end of the stream",
                ("test_recv_exactly_raises_incomplete_read_error_at_the_end_of_the_stream",), """
        async def recv_exactly(loop, sock, n):
            data = bytearray()
            while len(data) < n:
                chunk = await loop.sock_recv(sock, n - len(data))
                if not chunk:
                    break  # the peer closed: return what came
                data += chunk
            return bytes(data)
    """),
    WrongAnswer("09-sockets", "recv_exactly of one receive",
                ("test_recv_exactly_waits_for_every_piece",), """
        async def recv_exactly(loop, sock, n):
            data = await loop.sock_recv(sock, n)  # "recv(n) gives n bytes, unless the stream ended"
            if len(data) < n:
                raise asyncio.IncompleteReadError(data, n)
            return data
    """),
    WrongAnswer("09-sockets", "recv_exactly that reads ahead and drops the rest",
                ("test_recv_exactly_takes_no_byte_after_the_nth",), """
        async def recv_exactly(loop, sock, n):
            data = bytearray()
            while len(data) < n:
                chunk = await loop.sock_recv(sock, 65536)  # fewer receives
                if not chunk:
                    raise asyncio.IncompleteReadError(bytes(data), n)
                data += chunk
            return bytes(data[:n])
    """),
    WrongAnswer("09-sockets", "recv_exactly that takes recv(0)'s b'' for the end",
                ("test_recv_exactly_of_zero_bytes",), """
        async def recv_exactly(loop, sock, n):
            data = bytearray()
            while True:
                chunk = await loop.sock_recv(sock, n - len(data))
                if not chunk:
                    raise asyncio.IncompleteReadError(bytes(data), n)
                data += chunk
                if len(data) == n:
                    return bytes(data)
    """),
    # ── chapter 9: Reader
    WrongAnswer("09-sockets", "Reader that drops the bytes after the separator",
                ("test_reader_keeps_what_follows_the_separator",), """
        class Reader(Reader):
            async def readuntil(self, separator=b"\\n"):
                while (index := self._buffer.find(separator)) == -1:
                    if not await self._receive():
                        raise self._incomplete(None)
                if index > self._limit:
                    raise asyncio.LimitOverrunError("Separator is found, but chunk is longer than limit", index)
                data = bytes(self._buffer[:index + len(separator)])
                self._buffer.clear()  # "the line has been read"
                return data
    """),
    WrongAnswer("09-sockets", "Reader whose readexactly reads the socket, not the buffer",
                ("test_reader_keeps_what_follows_the_separator",), """
        class Reader(Reader):
            async def readexactly(self, n):
                return await recv_exactly(self._loop, self._sock, n)  # challenge 1 does it
    """),
    WrongAnswer("09-sockets", "Reader that searches only the bytes just received",
                ("test_reader_finds_a_separator_split_across_two_receives",), """
        class Reader(Reader):
            async def readuntil(self, separator=b"\\n"):
                start = 0
                while (index := self._buffer.find(separator, start)) == -1:
                    start = len(self._buffer)  # "the old bytes were searched already"
                    if start > self._limit:
                        raise asyncio.LimitOverrunError("Separator is not found, and chunk exceed the limit", start)
                    if not await self._receive():
                        raise self._incomplete(None)
                if index > self._limit:
                    raise asyncio.LimitOverrunError("Separator is found, but chunk is longer than limit", index)
                data = bytes(self._buffer[:index + len(separator)])
                del self._buffer[:index + len(separator)]
                return data
    """),
    WrongAnswer("09-sockets", "Reader that holds the whole buffer to the limit",
                ("test_reader_limit",), """
        class Reader(Reader):
            async def readuntil(self, separator=b"\\n"):
                offset = 0
                while (index := self._buffer.find(separator, offset)) == -1:
                    offset = max(0, len(self._buffer) + 1 - len(separator))
                    if not await self._receive():
                        raise self._incomplete(None)
                    if len(self._buffer) > self._limit:  # the buffer, not the line
                        raise asyncio.LimitOverrunError("buffer over the limit", offset)
                data = bytes(self._buffer[:index + len(separator)])
                del self._buffer[:index + len(separator)]
                return data
    """),
    WrongAnswer("09-sockets", "Reader that empties its buffer at the limit",
                ("test_reader_limit",), """
        class Reader(Reader):
            async def readuntil(self, separator=b"\\n"):
                try:
                    return await super().readuntil(separator)
                except asyncio.LimitOverrunError:
                    self._buffer.clear()  # "a line that long is garbage anyway"
                    raise
    """),
    WrongAnswer("09-sockets", "Reader whose readuntil keeps what it receives in a local",
                ("test_reader_keeps_the_bytes_of_a_cancelled_read",), """
        class Reader(Reader):
            async def readuntil(self, separator=b"\\n"):
                data = bytes(self._buffer)
                self._buffer.clear()
                offset = 0
                while (index := data.find(separator, offset)) == -1:
                    offset = max(0, len(data) + 1 - len(separator))
                    if offset > self._limit:
                        self._buffer[:0] = data
                        raise asyncio.LimitOverrunError("Separator is not found, and chunk exceed the limit", offset)
                    chunk = await self._loop.sock_recv(self._sock, 65536)  # cancelled here: data is lost
                    if not chunk:
                        self._eof = True
                        raise asyncio.IncompleteReadError(data, None)
                    data += chunk
                if index > self._limit:
                    self._buffer[:0] = data
                    raise asyncio.LimitOverrunError("Separator is found, but chunk is longer than limit", index)
                end = index + len(separator)
                self._buffer[:0] = data[end:]
                return data[:end]
    """),
    # ── chapter 9: serve_echo
    WrongAnswer("09-sockets", "serve_echo that swallows its cancellation",
                ("test_serve_echo_cancelled_while_idle", "test_serve_echo_cancelled_while_serving",
                 "test_serve_echo_cancelled_with_a_client_in_the_backlog"), """
        _serve_echo = serve_echo

        async def serve_echo(loop, sock, *, max_connections, echoed):
            try:
                await _serve_echo(loop, sock, max_connections=max_connections, echoed=echoed)
            except asyncio.CancelledError:
                pass  # stopped: the normal end of a server
    """),
    WrongAnswer("09-sockets", "serve_echo that closes a connection only at its end",
                ("test_serve_echo_cancelled_while_serving",
                 "test_serve_echo_cancelled_with_a_client_in_the_backlog"), """
        async def serve_echo(loop, sock, *, max_connections, echoed):
            slots = asyncio.Semaphore(max_connections)

            async def echo(conn):
                while data := await loop.sock_recv(conn, 65536):
                    await loop.sock_sendall(conn, data)
                    echoed[0] += len(data)
                conn.close()  # at the end of the stream; a cancellation never gets here
                slots.release()

            async with asyncio.TaskGroup() as connections:
                while True:
                    await slots.acquire()
                    conn, _ = await loop.sock_accept(sock)
                    connections.create_task(echo(conn))
    """),
    WrongAnswer("09-sockets", "serve_echo whose connections outlive it",
                ("test_serve_echo_cancelled_while_serving",
                 "test_serve_echo_cancelled_with_a_client_in_the_backlog"), """
        async def serve_echo(loop, sock, *, max_connections, echoed):
            slots = asyncio.Semaphore(max_connections)
            running = set()

            async def echo(conn):
                try:
                    with conn:
                        while data := await loop.sock_recv(conn, 65536):
                            await loop.sock_sendall(conn, data)
                            echoed[0] += len(data)
                finally:
                    slots.release()

            while True:
                await slots.acquire()
                conn, _ = await loop.sock_accept(sock)
                task = loop.create_task(echo(conn))  # nobody cancels it with the server
                running.add(task)
                task.add_done_callback(running.discard)
    """),
    WrongAnswer("09-sockets", "serve_echo that waits for a slot after the accept",
                ("test_serve_echo_serves_at_most_max_connections",), """
        async def serve_echo(loop, sock, *, max_connections, echoed):
            slots = asyncio.Semaphore(max_connections)

            async def echo(conn):
                with conn:
                    async with slots:  # accepted already: it waits in this program, not the backlog
                        while data := await loop.sock_recv(conn, 65536):
                            await loop.sock_sendall(conn, data)
                            echoed[0] += len(data)

            async with asyncio.TaskGroup() as connections:
                while True:
                    conn, _ = await loop.sock_accept(sock)
                    connections.create_task(echo(conn))
    """),
    WrongAnswer("09-sockets", "serve_echo that closes every connection only when it stops",
                ("test_serve_echo_serves_at_most_max_connections",), """
        async def serve_echo(loop, sock, *, max_connections, echoed):
            slots = asyncio.Semaphore(max_connections)
            accepted = []

            async def echo(conn):
                try:
                    while data := await loop.sock_recv(conn, 65536):
                        await loop.sock_sendall(conn, data)
                        echoed[0] += len(data)
                finally:
                    slots.release()

            try:
                async with asyncio.TaskGroup() as connections:
                    while True:
                        await slots.acquire()
                        conn, _ = await loop.sock_accept(sock)
                        accepted.append(conn)
                        connections.create_task(echo(conn))
            finally:
                for conn in accepted:
                    conn.close()  # all of them, at the end: the finished ones stay open till then
    """),
    WrongAnswer("09-sockets", "serve_echo that counts a connection's bytes at its end",
                ("test_serve_echo_echoes_every_byte_and_counts_them",), """
        async def serve_echo(loop, sock, *, max_connections, echoed):
            slots = asyncio.Semaphore(max_connections)

            async def echo(conn):
                total = 0
                try:
                    with conn:
                        while data := await loop.sock_recv(conn, 65536):
                            await loop.sock_sendall(conn, data)
                            total += len(data)
                finally:
                    echoed[0] += total  # one addition per connection, when it ends
                    slots.release()

            async with asyncio.TaskGroup() as connections:
                while True:
                    await slots.acquire()
                    conn, _ = await loop.sock_accept(sock)
                    connections.create_task(echo(conn))
    """),
    # ── chapter 10: LineProtocol
    WrongAnswer("10-transports", "LineProtocol that splits each read on its own",
                ("test_line_protocol_delivers_each_line_however_the_bytes_are_split",
                 "test_line_protocol_on_a_real_connection"), """
        class LineProtocol(asyncio.Protocol):
            def __init__(self, on_line):
                self._on_line = on_line
                self._rest = b""

            def data_received(self, data):
                *lines, self._rest = data.split(b"\\n")  # a line cut between two reads is lost
                for line in lines:
                    self._on_line(line + b"\\n")

            def eof_received(self):
                if self._rest:
                    self._on_line(self._rest)
    """),
    WrongAnswer("10-transports", "LineProtocol that delivers one line per read",
                ("test_line_protocol_delivers_each_line_however_the_bytes_are_split",
                 "test_line_protocol_delivers_every_line_of_one_chunk"), """
        class LineProtocol(LineProtocol):
            def data_received(self, data):
                self._partial += data
                end = self._partial.find(b"\\n")  # the first line; the others wait for the next read
                if end != -1:
                    self._on_line(bytes(self._partial[:end + 1]))
                    del self._partial[:end + 1]
    """),
    WrongAnswer("10-transports", "LineProtocol that hands on slices of its bytearray",
                ("test_line_protocol_delivers_every_line_of_one_chunk",), """
        class LineProtocol(LineProtocol):
            def data_received(self, data):
                buffer = self._partial
                buffer += data
                while (end := buffer.find(b"\\n")) != -1:
                    line, self._partial = buffer[:end + 1], buffer[end + 1:]  # bytearrays
                    buffer = self._partial
                    self._on_line(line)
    """),
    WrongAnswer("10-transports", "LineProtocol that ends every stream with a last line",
                ("test_line_protocol_at_the_end_of_the_stream",), """
        class LineProtocol(LineProtocol):
            def eof_received(self):
                self._on_line(bytes(self._partial))  # b"" when the stream ended with b"\\n"
                self._partial.clear()
    """),
    # ── chapter 10: Writer
    WrongAnswer("10-transports", "Writer whose drain always waits for resume_writing",
                ("test_writer_drain_returns_at_once_while_not_paused",), """
        class Writer(Writer):
            async def drain(self):
                if self._lost:
                    raise self._error()
                waiter = asyncio.get_running_loop().create_future()  # "drain waits for the buffer"
                self._waiters.append(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.remove(waiter)
    """),
    WrongAnswer("10-transports", "Writer whose drain never waits",
                ("test_writer_drain_waits_until_resume_writing",), """
        class Writer(Writer):
            async def drain(self):
                if self._lost:
                    raise self._error()
                # "transport.write never blocks: there is nothing to wait for"
    """),
    WrongAnswer("10-transports", "Writer that forgets the connection was lost once no drain waits",
                ("test_writer_drain_after_the_connection_ended",
                 "test_writer_drain_raises_when_the_connection_is_lost"), """
        class Writer(Writer):
            def connection_lost(self, exc):
                for waiter in self._waiters:  # the waiting drains raise; later ones return at once
                    if not waiter.done():
                        waiter.set_exception(exc if exc is not None else ConnectionResetError("Connection lost"))
    """),
    WrongAnswer("10-transports", "Writer that keeps one waiter, the latest drain's",
                ("test_writer_wakes_every_waiting_drain",), """
        class Writer(Writer):
            _waiter = None

            async def drain(self):
                if self._lost:
                    raise self._error()
                if not self._paused:
                    return
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter

            def resume_writing(self):
                self._paused = False
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(None)

            def connection_lost(self, exc):
                self._lost, self._lost_with = True, exc
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_exception(self._error())
    """),
    WrongAnswer("10-transports", "Writer that sets the futures of cancelled drains",
                ("test_writer_drain_cancelled_while_waiting",), """
        class Writer(Writer):
            async def drain(self):
                if self._lost:
                    raise self._error()
                if not self._paused:
                    return
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter  # cancelled here, the future stays in the list

            def resume_writing(self):
                self._paused = False
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    waiter.set_result(None)

            def connection_lost(self, exc):
                self._lost, self._lost_with = True, exc
                for waiter in self._waiters:
                    waiter.set_exception(self._error())
    """),
    WrongAnswer("10-transports", "Writer that leaves waiting drains waiting when the connection is lost",
                ("test_writer_drain_raises_when_the_connection_is_lost",
                 "test_writer_drain_waiting_when_the_transport_is_aborted"), """
        class Writer(Writer):
            def connection_lost(self, exc):
                self._lost, self._lost_with = True, exc  # the next drain raises; the waiting ones wait on
    """),
    WrongAnswer("10-transports", "Writer whose waiting drains return when the transport is aborted",
                ("test_writer_drain_waiting_when_the_transport_is_aborted",), """
        class Writer(Writer):
            def connection_lost(self, exc):
                self._lost, self._lost_with = True, exc
                for waiter in self._waiters:
                    if not waiter.done():
                        if exc is None:
                            waiter.set_result(None)  # as asyncio's FlowControlMixin does
                        else:
                            waiter.set_exception(exc)
    """),
    # ── chapter 10: proxy
    WrongAnswer("10-transports", "proxy without flow control",
                ("test_proxy_holds_back_a_fast_client_for_a_slow_target",
                 "test_proxy_holds_back_a_fast_target_for_a_slow_client"), """
        class _Side(_Side):
            def pause_writing(self):
                pass  # "write() never blocks: the transport buffers it"

            def resume_writing(self):
                pass
    """),
    WrongAnswer("10-transports", "proxy that pauses the side that is slow, not the one that feeds it",
                ("test_proxy_holds_back_a_fast_client_for_a_slow_target",
                 "test_proxy_holds_back_a_fast_target_for_a_slow_client"), """
        class _Side(_Side):
            def pause_writing(self):
                self.transport.pause_reading()

            def resume_writing(self):
                self.transport.resume_reading()
    """),
    WrongAnswer("10-transports", "proxy that closes a connection at its first end of stream",
                ("test_proxy_half_closes_each_direction",), """
        class _Side(_Side):
            def eof_received(self):
                self.peer.transport.write_eof()
                # None: this transport closes, and connection_lost closes the other one
    """),
    WrongAnswer("10-transports", "proxy that keeps a connection open once both directions have ended",
                ("test_proxy_half_closes_each_direction",), """
        class _Side(_Side):
            def eof_received(self):
                self.ended = True
                self.peer.transport.write_eof()
                return True  # half-closed; nobody closes it once the other half has ended too
    """),
    WrongAnswer("10-transports", "proxy that leaves the other side open when one is lost",
                ("test_proxy_closes_the_other_side_when_one_is_lost",), """
        class _Side(_Side):
            def connection_lost(self, exc):
                self._sides.discard(self)  # the peer's transport stays open, with nobody to talk to
    """),
    WrongAnswer("10-transports", "proxy that reads the client before its target connection exists",
                ("test_proxy_forwards_both_ways",), """
        class _Side(_Side):
            def connection_made(self, transport):
                self.transport = transport
                self._sides.add(self)  # reading starts at once

        async def _connect(loop, conn, target_address, sides):
            client, target = _Side(sides), _Side(sides)
            try:
                await loop.connect_accepted_socket(lambda: client, conn)  # the client's bytes flow now...
                await loop.create_connection(lambda: target, *target_address)  # ...with no peer yet
            except OSError:
                if client.transport is not None:
                    client.transport.close()
                return
            client.peer, target.peer = target, client
    """),
    WrongAnswer("10-transports", "proxy that a refused target connection stops",
                ("test_proxy_closes_a_client_whose_target_is_unreachable",), """
        async def _connect(loop, conn, target_address, sides):
            client, target = _Side(sides), _Side(sides)
            await loop.create_connection(lambda: target, *target_address)  # "the target is up"
            await loop.connect_accepted_socket(lambda: client, conn)
            client.peer, target.peer = target, client
            client.transport.resume_reading()
            target.transport.resume_reading()
    """),
    WrongAnswer("10-transports", "proxy whose connections outlive it",
                ("test_proxy_cancelled_closes_every_connection",), """
        async def proxy(loop, listen_sock, target_address):
            sides = set()
            async with asyncio.TaskGroup() as connecting:
                while True:
                    conn, _ = await loop.sock_accept(listen_sock)
                    connecting.create_task(_connect(loop, conn, target_address, sides))
            # cancelled: the connections it made go on, with nobody to end them
    """),
    # ── chapter 11: serve_limited
    WrongAnswer("11-servers", "serve_limited whose protocol factory stops the accept loop",
                ("test_serve_limited_serves_clients_who_come_together_a_few_at_a_time",), """
        async def serve_limited(loop, protocol_factory, host, port, max_clients):
            connections = 0

            def counted():
                nonlocal connections
                connections += 1
                if connections == max_clients:  # the accept loop goes on with the rest of its burst
                    for sock in server._sockets:
                        loop.remove_reader(sock.fileno())
                return _Counted(protocol_factory(), ended)

            def ended():
                nonlocal connections
                connections -= 1
                if connections == max_clients - 1 and server.is_serving():
                    for sock in server._sockets:
                        loop._start_serving(counted, sock, None, server, server._backlog)

            server = await loop.create_server(counted, host, port)
            return server
    """),
    WrongAnswer("11-servers", "serve_limited that turns away the clients beyond the limit",
                ("test_serve_limited_serves_clients_who_come_together_a_few_at_a_time",), """
        class _TurnedAway(asyncio.Protocol):
            def connection_made(self, transport):
                transport.close()  # "come back later"

        async def serve_limited(loop, protocol_factory, host, port, max_clients):
            connections = 0

            def ended():
                nonlocal connections
                connections -= 1

            def factory():
                nonlocal connections
                if connections >= max_clients:
                    return _TurnedAway()
                connections += 1
                return _Counted(protocol_factory(), ended)

            return await loop.create_server(factory, host, port)
    """),
    WrongAnswer("11-servers", "serve_limited that makes room at the end of the stream",
                ("test_serve_limited_makes_room_however_a_connection_ends",), """
        class _Counted(_Counted):
            def eof_received(self):
                self._ended()  # "the client has gone"
                return self._protocol.eof_received()

            def connection_lost(self, exc):
                self._protocol.connection_lost(exc)
    """),
    WrongAnswer("11-servers", "serve_limited whose wrapper loses eof_received's answer",
                ("test_serve_limited_passes_every_call_on_to_your_protocol",), """
        class _Counted(_Counted):
            def eof_received(self):
                self._protocol.eof_received()  # None: the transport closes
    """),
    WrongAnswer("11-servers", "serve_limited whose wrapper forgets flow control",
                ("test_serve_limited_passes_every_call_on_to_your_protocol",), """
        class _Counted(_Counted):
            def pause_writing(self):
                pass  # "flow control is the transport's business"

            def resume_writing(self):
                pass
    """),
    WrongAnswer("11-servers", "serve_limited that starts accepting again after close()",
                ("test_serve_limited_closed_stays_closed",), """
        async def serve_limited(loop, protocol_factory, host, port, max_clients):
            server = await loop.create_server(protocol_factory, host, port, start_serving=False)
            connections = 0

            def accept(sock):
                nonlocal connections
                while connections < max_clients:
                    try:
                        conn, address = sock.accept()
                    except (BlockingIOError, InterruptedError):
                        return
                    conn.setblocking(False)
                    connections += 1
                    loop._make_socket_transport(conn, _Counted(protocol_factory(), ended),
                                                extra={"peername": address}, server=server)
                for sock in server._sockets:
                    loop.remove_reader(sock.fileno())

            def ended():
                nonlocal connections
                connections -= 1
                if connections == max_clients - 1:
                    for sock in server._sockets:  # closed or not
                        loop.add_reader(sock.fileno(), accept, sock)

            server._start_serving()
            for sock in server._sockets:
                loop.add_reader(sock.fileno(), accept, sock)
            return server
    """),
    # ── chapter 11: chat_server
    WrongAnswer("11-servers", "chat_server that sends a line back to its sender too",
                ("test_chat_sends_each_line_to_every_other_client",), """
        class _Member(_Member):
            def say(self, message):
                for member in self.members:
                    if not member.paused:
                        member.transport.write(message)  # "everyone in the room"
    """),
    WrongAnswer("11-servers", "chat_server that prefixes the server's port",
                ("test_chat_sends_each_line_to_every_other_client",), """
        class _Member(_Member):
            def connection_made(self, transport):
                super().connection_made(transport)
                self.prefix = b"%d: " % transport.get_extra_info("sockname")[1]
    """),
    WrongAnswer("11-servers", "chat_server that sends each read as it comes",
                ("test_chat_sends_each_line_to_every_other_client",), """
        class _Member(_Member):
            def data_received(self, data):
                self.say(self.prefix + data)  # "a client sends a line at a time"
    """),
    WrongAnswer("11-servers", "chat_server that removes a member at its end of stream",
                ("test_chat_forgets_a_client_that_leaves",), """
        class _Member(_Member):
            def eof_received(self):
                self.members.discard(self)  # a reset ends a connection without one

            def connection_lost(self, exc):
                pass
    """),
    WrongAnswer("11-servers", "chat_server that sends the unterminated rest of a leaving client",
                ("test_chat_forgets_a_client_that_leaves",), """
        class _Member(_Member):
            def eof_received(self):
                if self.partial:
                    self.say(self.prefix + self.partial)  # as chapter 10's LineProtocol would
    """),
    WrongAnswer("11-servers", "chat_server that ignores pause_writing",
                ("test_chat_drops_lines_for_a_slow_client",), """
        class _Member(_Member):
            def pause_writing(self):
                pass  # "the transport buffers it"
    """),
    WrongAnswer("11-servers", "chat_server that never resumes a slow client",
                ("test_chat_drops_lines_for_a_slow_client",), """
        class _Member(_Member):
            def resume_writing(self):
                pass  # a slow client once is a slow client for ever
    """),
    WrongAnswer("11-servers", "chat_server that holds up the room for a slow client",
                ("test_chat_drops_lines_for_a_slow_client",), """
        class _Member(_Member):
            def pause_writing(self):
                for member in self.members:
                    member.transport.pause_reading()  # nobody speaks while someone is behind

            def resume_writing(self):
                for member in self.members:
                    member.transport.resume_reading()
    """),
    # ── chapter 11: handover
    WrongAnswer("11-servers", "handover that aborts at once",
                ("test_handover_gives_the_clients_their_grace_period",), """
        async def handover(old_server, new_server, *, grace=10.0):
            old = {sock.getsockname() for sock in old_server.sockets}
            if not new_server.is_serving() or not old <= {sock.getsockname() for sock in new_server.sockets}:
                raise ValueError("the new server is not serving on the old one's addresses")
            count = len(old_server._clients)
            old_server.close()
            old_server.abort_clients()  # "the new server is there: no need to wait"
            await old_server.wait_closed()
            return 0, count
    """),
    WrongAnswer("11-servers", "handover that always waits out the grace period",
                ("test_handover_returns_when_the_last_client_has_finished",), """
        async def handover(old_server, new_server, *, grace=10.0):
            old = {sock.getsockname() for sock in old_server.sockets}
            if not new_server.is_serving() or not old <= {sock.getsockname() for sock in new_server.sockets}:
                raise ValueError("the new server is not serving on the old one's addresses")
            count = len(old_server._clients)
            old_server.close()
            await asyncio.sleep(grace)  # the grace period, whole
            stragglers = len(old_server._clients)
            old_server.abort_clients()
            await old_server.wait_closed()
            return count - stragglers, stragglers
    """),
    WrongAnswer("11-servers", "handover that closes the stragglers politely",
                ("test_handover_gives_the_clients_their_grace_period",
                 "test_handover_waits_until_the_aborted_clients_are_gone"), """
        async def handover(old_server, new_server, *, grace=10.0):
            old = {sock.getsockname() for sock in old_server.sockets}
            if not new_server.is_serving() or not old <= {sock.getsockname() for sock in new_server.sockets}:
                raise ValueError("the new server is not serving on the old one's addresses")
            count = len(old_server._clients)
            old_server.close()
            try:
                async with asyncio.timeout(grace):
                    await old_server.wait_closed()
            except TimeoutError:
                pass
            stragglers = len(old_server._clients)
            old_server.close_clients()  # close() sends what is buffered first: it waits for the client
            await old_server.wait_closed()
            return count - stragglers, stragglers
    """),
    WrongAnswer("11-servers", "handover that returns before the aborted connections are gone",
                ("test_handover_waits_until_the_aborted_clients_are_gone",), """
        async def handover(old_server, new_server, *, grace=10.0):
            old = {sock.getsockname() for sock in old_server.sockets}
            if not new_server.is_serving() or not old <= {sock.getsockname() for sock in new_server.sockets}:
                raise ValueError("the new server is not serving on the old one's addresses")
            count = len(old_server._clients)
            old_server.close()
            try:
                async with asyncio.timeout(grace):
                    await old_server.wait_closed()
            except TimeoutError:
                pass
            stragglers = len(old_server._clients)
            old_server.abort_clients()  # "abort is immediate"
            return count - stragglers, stragglers
    """),
    WrongAnswer("11-servers", "handover that counts the stragglers once they are gone",
                ("test_handover_gives_the_clients_their_grace_period",), """
        async def handover(old_server, new_server, *, grace=10.0):
            old = {sock.getsockname() for sock in old_server.sockets}
            if not new_server.is_serving() or not old <= {sock.getsockname() for sock in new_server.sockets}:
                raise ValueError("the new server is not serving on the old one's addresses")
            count = len(old_server._clients)
            old_server.close()
            try:
                async with asyncio.timeout(grace):
                    await old_server.wait_closed()
            except TimeoutError:
                old_server.abort_clients()
                await old_server.wait_closed()
            stragglers = len(old_server._clients)  # every one of them has gone by now
            return count - stragglers, stragglers
    """),
    WrongAnswer("11-servers", "handover to any new server",
                ("test_handover_refuses_a_new_server_elsewhere",), """
        async def handover(old_server, new_server, *, grace=10.0):
            clients = set(old_server._clients)  # "the caller knows what it is doing"
            old_server.close()
            try:
                async with asyncio.timeout(grace):
                    await old_server.wait_closed()
            except TimeoutError:
                pass
            stragglers = len(old_server._clients)
            old_server.abort_clients()
            await old_server.wait_closed()
            return len(clients) - stragglers, stragglers
    """),
]


def answer_file(wrong: WrongAnswer, folder: Path) -> str:
    """The reference solution with the wrong definition appended (the later one wins)."""
    solution = HERE / "solutions" / (wrong.folder.replace("-", "_") + ".py")
    return solution.read_text() + "\n\n# ── the wrong answer\n" + textwrap.dedent(wrong.code)


@pytest.fixture(scope="module")
def wrong_outcomes(tmp_path_factory):
    """{wrong answer's index: ({check: outcome}, output)}, one pytest run per chapter."""
    results = {}
    for folder_name in sorted({wrong.folder for wrong in WRONG_ANSWERS}):
        folder, tmp_path = HERE / folder_name, tmp_path_factory.mktemp(folder_name)
        options, files = [], {}
        for index, wrong in enumerate(WRONG_ANSWERS):
            if wrong.folder == folder_name:
                path = tmp_path / f"wrong_{index:02d}.py"
                path.write_text(answer_file(wrong, folder))
                options += ["--wrong", str(path)]
                files[index] = path.stem
        outcomes, output = run_checks(int(folder_name[:2]), folder, options, tmp_path)
        for index, stem in files.items():
            mine = {name[:-len(f"[{stem}]")]: outcome
                    for name, outcome in outcomes.items() if name.endswith(f"[{stem}]")}
            results[index] = mine, output
    return results


@pytest.mark.parametrize("index", [
    pytest.param(index, id=f"{wrong.folder}: {wrong.mistake}") for index, wrong in enumerate(WRONG_ANSWERS)
])
def test_known_wrong_answers_fail_their_checks(index, wrong_outcomes):
    wrong = WRONG_ANSWERS[index]
    outcomes, output = wrong_outcomes[index]
    missing = [name for name in wrong.caught_by if name not in outcomes]
    assert not missing, f"no such checks in {wrong.folder}: {missing} (ran: {sorted(outcomes)})\n{output}"
    passed = [name for name in wrong.caught_by if outcomes[name] != "failed"]
    assert not passed, (
        f"the wrong answer '{wrong.mistake}' was not caught by {passed} "
        f"(outcomes: {outcomes}).\n{output}"
    )
