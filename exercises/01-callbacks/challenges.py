"""Chapter 1 — Callbacks: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 1

(That runs `python -m pytest -q exercises --chapter 1`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/01_callbacks.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package. These
are the parts of it chapter 1 built and these challenges may use:

* `loop._ready`: a `collections.deque` of the `Handle`s waiting to run, in
  order. `call_soon` appends to it.
* `handle.cancelled()`: True once `handle.cancel()` was called. A cancelled
  handle stays in `_ready` until a pass meets it and skips it.
* `loop._run_once()`: one pass. It waits if nothing is ready, then calls
  `loop._run_ready()`, which runs the batch of handles that were in `_ready`
  when it began (`len(ready)` of them) — callbacks scheduled meanwhile wait for
  the next pass.
* `loop.stop()` before `loop.run_forever()`: exactly one pass, then return.
"""

import functools

from eventloop import EventLoop, Handle


# ── 1. A queue that tells you how long it is ───────────────────────────────

def pending(loop):
    """Return the number of callbacks that the loop's next pass will run.

    Those are the handles waiting in `loop._ready`, except the cancelled ones:
    cancelling only marks a handle, it stays in the queue until a pass skips it,
    so `len(loop._ready)` counts callbacks that will never run. (Timers are
    chapter 2's business: count only `_ready`.)

    Call it while the loop is not running, between two `run_forever()` calls.
    It only looks: the queue, and what the next pass runs, stay the same.

    Example::

        loop.call_soon(print, "a")
        loop.call_soon(print, "b").cancel()
        loop.call_soon(print, "c")
        pending(loop)  # -> 2
    """
    raise NotImplementedError("challenge 1: write pending(loop)")


# ── 2. call_soon with keywords ──────────────────────────────────────────────

def call_soon_kw(loop, f, /, *args, **kwargs):
    """Schedule the call `f(*args, **kwargs)` on `loop`, as `call_soon` does; return its Handle.

    `call_soon(callback, *args)` passes positional arguments only: the one
    keyword it takes, `context`, is its own. So wrap the call — with
    `functools.partial`, not a `lambda`. A handle describes its callback in its
    `repr()` and in the loop's "Exception in callback ..." log line, and
    `Handle` unwraps a partial: the description names `f`, shows the arguments
    and points at the line where `f` is defined. A lambda shows up as
    `<lambda>()`, at the line of the lambda in this file, which tells the person
    reading the log nothing. (asyncio's documentation gives the same advice.)

    * The call runs in the loop's next pass, in FIFO order with the other
      callbacks, exactly once; cancelling the returned handle prevents it.
    * Every keyword belongs to `f`, even one named `context` (which `call_soon`
      would otherwise take for itself), `loop` or `f` (the `/` in the signature
      makes `loop` and `f` positional-only, so those names are free).

    Example::

        def greet(name, punctuation="."):
            print(f"hello, {name}{punctuation}")

        handle = call_soon_kw(loop, greet, "world", punctuation="!")
        repr(handle)  # "<Handle greet('world', punctuation='!')() at /path/to/file.py:1>"
    """
    raise NotImplementedError("challenge 2: write call_soon_kw(loop, f, *args, **kwargs)")


# ── 3. Hardcore: an urgent lane ─────────────────────────────────────────────

class UrgentLoop(EventLoop):
    """An EventLoop with a second, urgent, queue: `call_urgent()`.

    Rules (the checks test each one):

    1. Urgent callbacks run before the ordinary callbacks that are already
       waiting when the pass begins.
    2. Among themselves, urgent callbacks run in the order they were scheduled
       (FIFO).
    3. The batch rule holds for them too: a pass runs only the callbacks, urgent
       or ordinary, that were waiting when it began. An urgent callback
       scheduled *by* a callback runs in the next pass — first.
    4. A pass must not wait when an urgent callback is waiting, even if no
       ordinary one is: the base `_run_once` only looks at `_ready` to decide.
    5. `stop()` means what it always meant: the current batch finishes, then
       `run_forever()` returns; callbacks scheduled by the batch (urgent ones
       included) wait for the next `run_forever()`. `stop()` before
       `run_forever()`: one pass.
    6. `call_urgent` returns a `Handle`; cancelling it prevents the call. The
       callback runs in `context` (default: a copy of the current context, as
       `call_soon` does), and if it raises, the error goes to the loop's
       exception handler with the usual context dict (`message`, `exception`,
       `handle`) and the loop carries on.
    7. `call_urgent` checks its arguments as `call_soon` does: on a closed loop
       it raises `RuntimeError("Event loop is closed")`; a callback that is not
       callable is a `TypeError`. `close()` drops the waiting urgent callbacks,
       as it drops the ordinary ones, so that it releases them.

    Override `__init__`, `call_urgent`, `close` and `_run_once` (and/or
    `_run_ready`, the code that runs a batch) — delete the stubs you don't need.
    Call the base class's methods where you can rather than copying them: the
    loop grows in later chapters, and your subclass should grow with it.
    """

    def __init__(self):
        super().__init__()
        # Your state here.

    def call_urgent(self, callback, *args, context=None):
        """Arrange for `callback(*args)` to be called before the ordinary callbacks."""
        raise NotImplementedError("challenge 3: write UrgentLoop.call_urgent")

    def _run_once(self):
        """One pass, with urgent callbacks first."""
        raise NotImplementedError("challenge 3: write UrgentLoop._run_once (and/or _run_ready)")
