"""Chapter 4 — Tasks: reference solutions.

Spoilers. Try the challenges in `exercises/04-tasks/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/04-tasks/test_challenges.py`.
"""

import asyncio
import collections.abc
import contextvars
import types

import eventloop


# ── 1. A task factory that counts steps ─────────────────────────────────────

class _CountingCoroutine(collections.abc.Coroutine):
    """A coroutine that forwards to another and counts how often it is resumed."""

    def __init__(self, coro, steps):
        self._coro = coro
        self._steps = steps
        self.task = None  # set by the factory once the task exists

    def _count(self):
        name = self.task.get_name() if self.task is not None else "?"
        self._steps[name] = self._steps.get(name, 0) + 1

    def send(self, value):
        self._count()
        return self._coro.send(value)

    def throw(self, *args):
        self._count()
        return self._coro.throw(*args)

    def close(self):
        return self._coro.close()

    def __await__(self):
        return self


def counting_factory():
    steps = {}

    def factory(loop, coro, **kwargs):
        wrapped = _CountingCoroutine(coro, steps)
        task = asyncio.Task(wrapped, loop=loop, **kwargs)
        wrapped.task = task  # the first step runs later, at the loop's next pass
        return task

    factory.steps = steps
    return factory


# ── 2. Hardcore: structured concurrency in a page ──────────────────────────

async def gather_or_cancel(loop, *coros):
    """Run every coroutine as a task; all succeed, or none is left running."""
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
            # Only the caller's cancellation reaches us here. Keep it (the first
            # one) to re-raise, and go on waiting: the children must finish first.
            if caller_cancelled is None:
                caller_cancelled = error
            if not aborting:
                abort()
    if caller_cancelled is not None:
        raise caller_cancelled
    if failures:
        failures[0].result()  # raises the first failure, with its traceback
    return [child.result() for child in children]
