"""Chapter 4 — Tasks: the challenges.

Write your answers in this file, then check them from the repository's root:

    python3 tools/dev.py exercises 4

(That runs `python -m pytest -q exercises --chapter 4`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/04_tasks.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package. What
chapter 4 built, and these challenges may use:

* `eventloop.Task(coro, loop=loop, name=None, context=None)`: a task, whose
  first step the loop runs at its next pass. `loop.create_task(coro)` makes
  one through the loop's task factory, if `loop.set_task_factory(f)` set one:
  `f(loop, coro)` or `f(loop, coro, context=...)` must return a task, and
  create_task() sets the task's name after `f` returns.
* A step resumes the coroutine: `coro.send(None)`, or `coro.throw(error)` to
  deliver an exception (a `CancelledError`, say). What `send` returns is what
  the coroutine yielded: through `await`, the future it waits for.
  `StopIteration.value` is its return value.
* A task is a future: `add_done_callback`, `done()`, `cancelled()`,
  `exception()`, `result()`, as in chapter 3; `await task` waits for it.
* `task.cancel()` only *asks*: it throws `CancelledError` into the coroutine
  where it waits, and the coroutine's `except` and `finally` blocks run (it
  may even refuse, and return). `task.cancelling()` counts the requests that
  were not taken back with `task.uncancel()`.
* A coroutine awaiting a future is woken with `CancelledError` when its own
  task is cancelled; the future it awaited is cancelled too, so await a new
  one if you must keep waiting.
"""

import asyncio
import collections.abc


# ── 1. A task factory that counts steps ─────────────────────────────────────

def counting_factory():
    """Return a task factory that makes ordinary tasks and counts their steps.

    The factory has an attribute `steps`, a dict {task name: number of times
    the task's coroutine was resumed (sent a value or thrown an exception)}.
    `async def f(): await asyncio.sleep(0)` takes 2 steps: one to run up to the
    sleep, one to run after it. The name is the task's name when the step runs
    (create_task() sets it after the factory returns).

    Hint: wrap the coroutine in an object with `send`, `throw`, `close` and
    `__await__` (make it a subclass of `collections.abc.Coroutine`, so that a
    task accepts it), and give the task that object.
    """
    raise NotImplementedError("challenge 1: write counting_factory()")


# ── 2. Hardcore: structured concurrency in a page ──────────────────────────

async def gather_or_cancel(loop, *coros):
    """Run every coroutine as a task of `loop`; all succeed, or none is left running.

    Awaited inside a task (the caller): `results = await gather_or_cancel(loop, a(), b())`.

    * Start each coroutine as a task (`loop.create_task`), all at once: they
      run concurrently. If they all succeed, return their results as a list,
      in the order of `coros` (not the order they finished in). No
      coroutines: return `[]`.
    * If one fails, cancel the others, wait until every one of them has
      finished (their `except` and `finally` blocks ran, even those that
      `await`), then raise the first failure's exception object. "First" is
      the first child whose done callback saw it fail. A child that ends
      cancelled although you did not cancel it is a failure too (as in
      `asyncio.gather`): its `CancelledError` is what you raise.
    * Later failures (two children failing in the same pass, or a cleanup
      that raises once cancelled) are dropped, not raised, and not logged:
      retrieve every child's exception, so that the loop never reports "Task
      exception was never retrieved".
    * If the caller is cancelled while it waits, cancel every child, wait
      until they have all finished — even if the caller is cancelled again
      meanwhile — then re-raise the caller's `CancelledError`, whatever the
      children did (failed, or caught the cancellation and returned). Never
      take back a cancellation you did not ask for: the caller's
      `cancelling()` must count it, or an `asyncio.timeout()` around the call
      cannot tell its own cancellation from another. After a child's failure
      the caller's `cancelling()` is unchanged.

    That is `asyncio.TaskGroup` without the `async with` (the checks compare
    the two), with a list of results and the first error instead of an
    ExceptionGroup. Build it from chapter 4's pieces only: tasks, done
    callbacks, futures, `cancel()`; no TaskGroup, `gather` or `wait`, and no
    `asyncio.current_task()` (you don't need the caller's task).

    Hints: one future that a done callback settles once no child is pending,
    and a loop around `await` on it.
    """
    raise NotImplementedError("challenge 2: write gather_or_cancel(loop, *coros)")
