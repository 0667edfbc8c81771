"""Checks for chapter 5's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 5`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

The checks of start_eagerly describe Python 3.12's eager tasks; on 3.12 and
later, each scenario also runs with `asyncio.eager_task_factory` and must give
the same trace, so the checks are held to the real thing.
"""
import asyncio
import contextvars
import sys

import pytest

EAGER_TASKS = sys.version_info >= (3, 12)  # asyncio.eager_task_factory is new in 3.12
label = contextvars.ContextVar("label", default="unset")


@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [(message, exception), ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(
        (context.get("message"), context.get("exception"))))
    return caught


# ── 1. start_eagerly ────────────────────────────────────────────────────────

def eager_factories(challenges):
    """Yours, and on 3.12+ asyncio's: the checks' scenarios must hold for both."""
    yield "start_eagerly", challenges.start_eagerly
    if EAGER_TASKS:
        yield "asyncio.eager_task_factory (the reference)", asyncio.eager_task_factory


def test_start_eagerly_runs_the_first_step_now_as_the_current_task(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        trace = []

        async def job():
            trace.append(("first step", asyncio.current_task().get_name()))
            await asyncio.sleep(0)
            trace.append(("second step", asyncio.current_task().get_name()))
            return "result"

        async def main():
            me = asyncio.current_task()
            task = start(loop, job(), name="job")
            trace.append(("returned", task.done(), asyncio.current_task() is me))
            return await task

        assert loop.run_until_complete(main()) == "result", who
        assert trace == [
            ("first step", "job"), ("returned", False, True), ("second step", "job"),
        ], (
            f"{who}: {trace!r}. The first step runs before start_eagerly returns, and in it "
            "asyncio.current_task() is the task being started (here named 'job'), not the "
            "caller's; once it returns, the caller's task is current again"
        )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_returns_the_task_that_was_current(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        seen = []

        async def job():
            seen.append(asyncio.current_task())
            await asyncio.sleep(0)
            seen.append(asyncio.current_task())

        async def main():
            task = start(loop, job())
            await task
            return task

        task = loop.run_until_complete(main())
        assert seen == [task, task], (
            f"{who}: the coroutine suspended, so start_eagerly returns a task, and it must be "
            "the very task that was current during the first step (and the later ones)"
        )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_runs_in_a_copy_of_the_context_or_the_given_one(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        trace = []

        async def job(value):
            trace.append(("first step sees", label.get()))
            label.set(value)
            await asyncio.sleep(0)
            trace.append(("later step sees", label.get()))

        async def main():
            label.set("caller")
            task = start(loop, job("set by the task"))
            trace.append(("caller sees", label.get()))
            await task
            given = contextvars.copy_context()
            given.run(label.set, "given")
            await start(loop, job("set in the given context"), context=given)
            trace.append(("given context holds", given[label]))

        loop.run_until_complete(main())
        assert trace == [
            ("first step sees", "caller"), ("caller sees", "caller"),
            ("later step sees", "set by the task"),
            ("first step sees", "given"), ("later step sees", "set in the given context"),
            ("given context holds", "set in the given context"),
        ], (
            f"{who}: {trace!r}. Without context=, the task runs in a copy of the caller's "
            "context (it sees the caller's values; what it sets stays its own), from the "
            "eager step on; with context=, in that very context"
        )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_finishes_at_once_without_suspending(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        seen = {}

        async def quick():
            seen["current"] = asyncio.current_task()
            return 42

        async def broken():
            raise ValueError("at once")

        async def gives_up():
            raise asyncio.CancelledError

        async def main():
            me = asyncio.current_task()
            done = start(loop, quick(), name="quick")
            assert done.done() and done.result() == 42, (
                f"{who}: the coroutine returned without suspending: the future is done already"
            )
            assert seen["current"] is not me and seen["current"].get_name() == "quick", (
                f"{who}: during the first step the current task is the one being started"
            )
            failed = start(loop, broken())
            assert failed.done() and isinstance(failed.exception(), ValueError), (
                f"{who}: the coroutine raised: the exception goes into the done future, "
                "not to the caller"
            )
            cancelled = start(loop, gives_up())
            assert cancelled.cancelled(), f"{who}: CancelledError in the first step: cancelled"
            assert asyncio.current_task() is me
            return "ok"

        assert loop.run_until_complete(main()) == "ok"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_delivers_exceptions_and_cancellation(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        trace = []

        async def waits_for(future):
            try:
                await future
            except KeyError:
                trace.append("caught KeyError")
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                trace.append("cancelled")
                raise

        async def main():
            future = loop.create_future()
            task = start(loop, waits_for(future))
            loop.call_soon(future.set_exception, KeyError("inside"))
            await asyncio.sleep(0.001)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return task.cancelled()

        assert loop.run_until_complete(main()) is True, who
        assert trace == ["caught KeyError", "cancelled"], f"{who}: {trace!r}"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_as_the_task_factory(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        trace = []
        loop.set_task_factory(start)

        async def child(n):
            trace.append(f"child {n} starts")
            await asyncio.sleep(0)
            return n

        async def main():
            tasks = [loop.create_task(child(n)) for n in range(3)]
            trace.append("all created")
            return await asyncio.gather(*tasks)

        try:
            assert loop.run_until_complete(main()) == [0, 1, 2], who
        finally:
            loop.set_task_factory(None)
        assert trace == ["child 0 starts", "child 1 starts", "child 2 starts", "all created"], (
            f"{who}: {trace!r}. As the loop's task factory, every create_task starts its "
            "coroutine at once (and must not call loop.create_task itself: that is you again)"
        )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_start_eagerly_waits_when_the_loop_is_not_running(challenges, loop, errors):
    for who, start in eager_factories(challenges):
        trace = []

        async def job():
            trace.append("ran")
            return "later"

        task = start(loop, job())
        assert trace == [] and not task.done(), (
            f"{who}: the loop is not running: make an ordinary task, whose first step waits "
            "for the loop (3.12 starts eagerly only inside a running loop)"
        )
        assert loop.run_until_complete(task) == "later" and trace == ["ran"]
    assert not errors, f"the loop's exception handler got {errors!r}"
