"""Chapter 5 — Running asyncio programs: reference solutions.

Spoilers. Try the challenges in `exercises/05-asyncio-programs/challenges.py`
first: a solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against
`exercises/05-asyncio-programs/test_challenges.py`.
"""

import asyncio
import contextvars
import types

import eventloop


# ── 1. Hardcore: start a task eagerly ───────────────────────────────────────

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
