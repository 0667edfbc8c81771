"""Chapter 3 — Futures and tasks: reference solutions.

Spoilers. Try the challenges in `exercises/03-futures-and-tasks/challenges.py`
first: a solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/03-futures-and-tasks/test_challenges.py`.
"""

import asyncio
import collections.abc
import types

import eventloop


# ── 1. The first to finish ──────────────────────────────────────────────────

def first_completed(loop, *futures):
    """A future that settles like the first of `futures` to be done; the others are cancelled."""
    winner = loop.create_future()

    def on_done(future):
        if winner.done():
            return  # a loser (probably cancelled by us): nothing to do
        if future.cancelled():
            winner.cancel()
        elif future.exception() is not None:
            winner.set_exception(future.exception())
        else:
            winner.set_result(future.result())
        for other in futures:
            if other is not future:
                other.cancel()

    for future in futures:
        future.add_done_callback(on_done)
    return winner


# ── 2. A task factory that counts steps ─────────────────────────────────────

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


# ── 3. Hardcore: start a task eagerly ───────────────────────────────────────

def start_eagerly(loop, coro):
    """Run `coro` to its first suspension now; then a task carries on from there."""
    try:
        first = coro.send(None)
    except StopIteration as stop:
        done = loop.create_future()
        done.set_result(stop.value)
        return done
    except BaseException as error:  # noqa: B036 - it belongs in the future
        done = loop.create_future()
        done.set_exception(error)
        return done

    @types.coroutine
    def carry_on():
        # The task's first step lands here: hand it what the coroutine yielded
        # (the future it waits for), then relay every wake-up into the coroutine.
        yielded = first
        while True:
            try:
                value, error = (yield yielded), None
            except BaseException as thrown:  # noqa: B036 - relayed into the coroutine
                value, error = None, thrown
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                return stop.value

    async def rest():
        return await carry_on()

    return loop.create_task(rest())
