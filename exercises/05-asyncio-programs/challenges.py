"""Chapter 5 — Running asyncio programs: the challenges.

Write your answers in this file, then check them from the repository's root:

    python3 tools/dev.py exercises 5

(That runs `python -m pytest -q exercises --chapter 5`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/05_asyncio_programs.py`:
make a real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package. What
chapters 4 and 5 built, and these challenges may use:

* `eventloop.Task(coro, loop=loop, name=None, context=None)`: the course's
  task, whose first step the loop runs at its next pass. `loop.create_task(coro)`
  makes one through the loop's task factory, if `loop.set_task_factory(f)` set
  one: `f(loop, coro)` or `f(loop, coro, context=...)` must return a task, and
  create_task() sets the task's name after `f` returns.
* A step resumes the coroutine: `coro.send(None)`, or `coro.throw(error)` to
  deliver an exception (a `CancelledError`, say). What `send` returns is what
  the coroutine yielded: through `await`, the future it waits for.
  `StopIteration.value` is its return value.
* `asyncio.current_task(loop)` is whichever task `asyncio._enter_task(loop,
  task)` registered, until `asyncio._leave_task(loop, task)`; chapter 5's
  Task calls the two around every step. Only one task can be current: entering
  while another is current raises `RuntimeError`.
* `context.run(f, *args)` runs `f` in a `contextvars.Context`;
  `contextvars.copy_context()` copies the current one.
"""

import asyncio
import contextvars
import types

import eventloop


# ── 1. Hardcore: start_eagerly ──────────────────────────────────────────────

def start_eagerly(loop, coro, *, name=None, context=None):
    """Start a task that runs `coro` *now*, up to its first suspension.

    What Python 3.12's `asyncio.eager_task_factory` does, written for any
    Python and with the same signature: `loop.set_task_factory(start_eagerly)`
    makes every `create_task` eager.

    * If `loop` is not running, make an ordinary task: nothing runs yet.
    * Otherwise run the coroutine's first step before returning, and during
      that step:

      - `asyncio.current_task()` is the task being started (named `name`),
        not the caller's task; afterwards the caller's task is current again;
      - the code runs in `context` if one is given, else in a copy of the
        current context, and every later step runs in that same context.

    * If the coroutine suspends (it awaits a future that is not done), return
      a task that carries on from where it stopped: the future wakes it,
      exceptions and cancellation are delivered into it, and the task's
      result is the coroutine's. It is the task that was current during the
      first step.
    * If the coroutine finishes without suspending, return a future that is
      already done: with its result, with the exception it raised (not raised
      to you), or cancelled if it raised `CancelledError`.

    Don't call `loop.create_task()`: when `start_eagerly` is the task factory,
    that would call `start_eagerly` again.

    Hints: make the task first, around a stand-in coroutine, so that it can be
    current during the first step; the stand-in's own first step, at the next
    pass, continues the real coroutine. A generator decorated with
    `@types.coroutine` may `yield` a future to the task, as `await` does.
    """
    raise NotImplementedError("challenge 1: write start_eagerly(loop, coro, name=, context=)")
