"""Chapter 4 — Coroutines and tasks: reference solutions.

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


# ── 2. Hardcore: start a task eagerly ───────────────────────────────────────

def start_eagerly(loop, coro, *, name=None, context=None):
    """Run `coro`'s first step now, as the current task, in its own context.

    The task is made first, around a stand-in coroutine, so that it can be the
    current task during the first step; its own first step, at the next pass,
    hands it over to `coro` where the eager step left it. Python 3.12 does the
    same inside `Task.__init__` (`eager_start=True`, `Task.__eager_start`),
    which can finish a task without a step; from outside, a coroutine that
    never suspends gets a done future instead, and the stand-in task is
    cancelled before it starts.
    """
    if not loop.is_running():
        # As in 3.12: no running loop, no eager start; the first step waits for the loop.
        return eventloop.Task(coro, loop=loop, name=name, context=context)
    context = contextvars.copy_context() if context is None else context
    first = []  # what the eager step yielded: the future the coroutine waits for

    @types.coroutine
    def carry_on():
        # The task's first step lands here: yield on the coroutine's behalf,
        # then relay every wake-up (a value, or an exception) into it.
        yielded = first[0]
        while True:
            try:
                value, error = (yield yielded), None
            except BaseException as thrown:  # noqa: B036 - relayed into the coroutine
                value, error = None, thrown
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                return stop.value

    async def stand_in():
        return await carry_on()

    # Not loop.create_task(): start_eagerly may be the loop's task factory itself.
    task = eventloop.Task(stand_in(), loop=loop, name=name, context=context)
    # asyncio.current_task() is whatever _enter_task() registered, one task at a
    # time: the caller's task steps aside for the eager step, then comes back.
    caller = asyncio.current_task(loop)
    if caller is not None:
        asyncio._leave_task(loop, caller)
    asyncio._enter_task(loop, task)
    try:
        first.append(context.run(coro.send, None))
    except BaseException as error:  # noqa: B036 - it belongs in the future
        finished = error
    finally:
        asyncio._leave_task(loop, task)
        if caller is not None:
            asyncio._enter_task(loop, caller)
    if first:
        return task  # suspended: the task carries on from here

    task.cancel()  # its stand-in never starts: there is nothing to carry on
    done = loop.create_future()
    if isinstance(finished, StopIteration):
        done.set_result(finished.value)
    elif isinstance(finished, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(finished)
        if isinstance(finished, (KeyboardInterrupt, SystemExit)):
            raise finished  # as 3.12's eager step does: in the future, and on up
    return done
