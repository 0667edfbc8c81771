"""Chapter 7 — Waking the loop: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 7

(That runs `python -m pytest -q exercises --chapter 7`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/07_waking.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package, with
real threads and real signals (SIGUSR1 and SIGUSR2; the loop runs in the main
thread). What chapter 7 built, and these challenges may use:

* `loop.call_soon_threadsafe(callback, *args, context=None)`: schedule from
  any thread, and wake the loop if it may be asleep. `call_soon` does not
  wake it: a sleeping loop would only see the callback at its next timer.
* The self-pipe: `loop._csock`, `loop._ssock`. `loop._write_to_self()` writes
  one byte; the loop's reader `loop._read_from_self()` drains the pipe and
  hands what it read to `loop._process_self_data(data)`.
* `loop._may_sleep`: true from the moment `_wait` raises it, before its last
  look at `loop._ready`, until the selector returns. `call_soon_threadsafe`
  appends to `_ready` first and then looks at the flag: there is no moment in
  which both miss.
* `loop.add_signal_handler(sig, callback, *args)`: `callback(*args)` runs as
  an ordinary callback of the loop when signal `sig` arrives (main thread
  only); `remove_signal_handler(sig)`; closing the loop removes them all.
* `loop._thread_id`: the thread running the loop (`threading.get_ident()`),
  or None. `asyncio.all_tasks(loop)`: the loop's tasks not done yet.
* From earlier chapters: futures, tasks, `task.cancel()` (which only asks:
  the task's `except` and `finally` blocks run, and may even refuse).
"""

import asyncio
import threading

from eventloop import EventLoop, Handle


# ── 1. call_from_thread ─────────────────────────────────────────────────────

def call_from_thread(loop, fn, *args):
    """From a thread that is not the loop's: run `fn(*args)` on `loop`, wait, return its result.

    The loop runs in another thread, perhaps asleep in its selector. Schedule
    `fn(*args)` so that it runs on the loop, in the loop's thread, soon — a
    sleeping loop must wake up for it — and block the calling thread until it
    has run. Then return what `fn` returned, or raise what `fn` raised: the
    very exception object, with its traceback, in the calling thread. The loop
    itself hears nothing of it (its exception handler is not called).

    Called in the loop's own thread (in a callback, say), it would wait for a
    callback that only this thread can run: raise `RuntimeError` instead.

    That is `asyncio.run_coroutine_threadsafe(coro, loop).result()`, for a
    plain function. Many threads may call it at once.

    Hint: `threading.Event`, and a callback that catches what `fn` raises.
    """
    raise NotImplementedError("challenge 1: write call_from_thread(loop, fn, *args)")


# ── 2. graceful ─────────────────────────────────────────────────────────────

def graceful(loop, *signals):
    """Make the first of `signals` shut the loop down gracefully, and a second one at once.

    Install a handler for each signal, with `loop.add_signal_handler`. Then,
    while `loop.run_forever()` runs:

    * The first signal (any of them) cancels every task of the loop that is not
      done, and stops the loop once they have all finished: their `except` and
      `finally` blocks have run, however long they take, and whether they end
      cancelled, return a value (a task may refuse to be cancelled) or raise.
      No task: stop at once.
    * A second signal (the same one again, or another of them), while the tasks
      are still finishing, stops the loop at once, without waiting for them.
    * After the loop stopped, further signals do nothing. The handlers stay
      until the loop is closed (closing it removes them).

    Return None. That is the usual shape of a server's SIGTERM handling: the
    first one says "finish what you are doing", the second "now".

    Hints: `asyncio.all_tasks(loop)`, a done callback on each task, and a note
    of where the shutdown is. `asyncio.gather` stops waiting at the first task
    that ends cancelled or failed, and `asyncio.wait` refuses an empty set.
    """
    raise NotImplementedError("challenge 2: write graceful(loop, *signals)")


# ── 3. Hardcore: one byte per sleep ────────────────────────────────────────

class BatchingLoop(EventLoop):
    """An EventLoop whose call_soon_threadsafe writes one byte per sleep, not one per call.

    The chapter's `call_soon_threadsafe` writes a byte whenever the loop may
    be asleep. A hundred calls from a thread while the loop sleeps are a
    hundred `send()` system calls, of which only the first wakes it. Write only
    when no wake-up byte is already on its way:

    1. `BatchingLoop()` takes no arguments (keep the loop's `selector=None,
       *, pure_python=None` if you override `__init__`).
    2. `call_soon_threadsafe(callback, *args, context=None)` keeps the
       chapter's contract: it returns the handle, refuses on a closed loop,
       appends to `self._ready` and then looks at `self._may_sleep`; while the
       loop is awake it writes nothing.
    3. While the loop may be asleep, the first call writes one byte, with
       `self._write_to_self()`; later calls write nothing until the loop has
       drained the self-pipe. After that, the next call that finds the loop
       asleep writes again.
    4. No wake-up is ever lost, whatever the interleaving: a thread calling
       just after the loop's last look at `_ready`, two threads appending
       between each other's steps, the loop draining the pipe while a thread
       is between its steps. The checks make each of these moments certain,
       by holding one side until the other has done its step.
    5. A signal's byte arrives on the same self-pipe: what the loop reads must
       still go to `_process_self_data`.

    The checks watch `self._ready` (they replace it with a deque of their
    own, so always go through the attribute), `self._selector.select`,
    `self._write_to_self` and `self._read_from_self`. Two threads deciding at
    the very same moment may each write a byte: that costs a spare wake-up,
    never a lost one, and is allowed.

    Hints: a "wake-up pending" flag that a thread sets *before* it writes and
    the loop clears *after* it drained the pipe (in `_read_from_self`), which
    is before its next look at `_ready`. Where else could you clear it, and
    what would a thread that saw it set conclude? A `threading.Lock` taken with
    `acquire(blocking=False)` is a flag that tests and sets in one step.
    """

    def __init__(self, selector=None, *, pure_python=None):
        raise NotImplementedError("challenge 3: write BatchingLoop")
