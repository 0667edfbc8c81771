"""Chapter 3 — Futures and tasks: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 3

(That runs `python -m pytest -q exercises --chapter 3`.) The checks are in
`test_challenges.py`, next to this file; a reference solution is in
`exercises/solutions/03_futures_and_tasks.py`: make a real attempt first.

Your code runs on the installed `eventloop` package. The parts of it chapter 3
built and these challenges may use:

* `loop.create_future()`, `loop.create_task(coro)`, `loop.set_task_factory(f)`
  (`f(loop, coro, **kwargs)` must return a task), `loop.run_until_complete(x)`.
* `future.add_done_callback(fn)`: `fn(future)` runs via `call_soon` once the
  future is done; `future.cancelled()`, `future.exception()`, `future.result()`.
* A task steps its coroutine with `coro.send(None)` or `coro.throw(exc)`; what
  `send` returns is what the coroutine yielded (a future, through `await`, or
  None for a bare yield); `StopIteration.value` is its return value.
* `eventloop.Task` and `eventloop.Future` work as well as asyncio's classes.
"""

import asyncio

import eventloop


# ── 1. The first to finish ──────────────────────────────────────────────────

def first_completed(loop, *futures):
    """Return a future that settles like whichever of `futures` is done first.

    * Its result (or exception, or cancellation) is that of the first future
      to be done.
    * When the first one is done, cancel all the others.
    * Use done callbacks only: no coroutine, no `asyncio.wait`.
    """
    raise NotImplementedError


# ── 2. A task factory that counts steps ─────────────────────────────────────

def counting_factory():
    """Return a task factory that makes ordinary tasks and counts their steps.

    The factory has an attribute `steps`, a dict {task name: number of times
    the task's coroutine was resumed (sent a value or thrown an exception)}.
    `async def f(): await asyncio.sleep(0)` takes 2 steps: one to run up to the
    sleep, one to run after it. The name is the task's name when the step runs
    (create_task() sets it after the factory returns).

    Hint: wrap the coroutine in an object with `send`, `throw`, `close` and
    `__await__` (register it as a `collections.abc.Coroutine`).
    """
    raise NotImplementedError


# ── 3. Hardcore: start a task eagerly ───────────────────────────────────────

def start_eagerly(loop, coro):
    """Like `loop.create_task(coro)`, but run `coro` *now*, up to its first suspension.

    * If it finishes without suspending, return a future that is already done
      (with the result, or the exception).
    * Otherwise return a task that carries on from where it stopped: the future
      the coroutine was waiting for wakes it, exceptions and cancellation are
      delivered into it, and the task's result is the coroutine's.

    (This is what Python 3.12's eager tasks do, `asyncio.eager_task_factory`.)
    """
    raise NotImplementedError
