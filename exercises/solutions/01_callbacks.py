"""Chapter 1 — Callbacks: reference solutions.

Spoilers. Try the challenges in `exercises/01-callbacks/challenges.py` first:
a solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/01-callbacks/test_challenges.py`.
"""

import collections
import functools

from eventloop import EventLoop, Handle


# ── 1. A queue that tells you how long it is ───────────────────────────────

def pending(loop):
    """The number of callbacks the next pass will run: the live handles in `_ready`."""
    return sum(1 for handle in loop._ready if not handle.cancelled())


# ── 2. call_soon with keywords ──────────────────────────────────────────────

def call_soon_kw(loop, f, /, *args, **kwargs):
    """Schedule `f(*args, **kwargs)`; the handle's repr names `f` and shows the arguments."""
    return loop.call_soon(functools.partial(f, *args, **kwargs))


# ── 3. Hardcore: an urgent lane ─────────────────────────────────────────────

class UrgentLoop(EventLoop):
    """An EventLoop whose `call_urgent()` callbacks run before the ordinary ones.

    The whole trick is *when* urgent callbacks join the batch: at the start of
    each pass, before anything else, the urgent callbacks waiting at that moment
    move to the front of `_ready`, in order. Then the base class's pass does the
    rest unchanged:

    * they run first, ahead of the ordinary callbacks already waiting (rule 1),
      in FIFO order (rule 2, `extendleft` of the reversed queue);
    * `_ready` is not empty, so the pass does not wait (rule 4);
    * the batch is counted after the move, so it includes them; an urgent
      callback scheduled during the pass goes to `_urgent` and waits for the
      next pass, where it moves to the front in turn (rule 3);
    * `stop()`, cancellation, contexts and the exception handler are the base
      loop's own code, untouched (rules 5 and 6).
    """

    def __init__(self):
        super().__init__()
        self._urgent = collections.deque()  # urgent handles, waiting for the next pass

    def call_urgent(self, callback, *args, context=None):
        """Arrange for `callback(*args)` to be called before the ordinary callbacks."""
        self._check_scheduling(callback, "call_urgent")
        handle = Handle(callback, args, self, context)
        self._urgent.append(handle)
        return handle

    def _run_once(self):
        """Move the waiting urgent callbacks to the front of the batch, then run a pass."""
        if self._urgent:
            self._ready.extendleft(reversed(self._urgent))
            self._urgent.clear()
        super()._run_once()

    def close(self):
        """Close the loop; waiting urgent callbacks are lost, like the ordinary ones."""
        super().close()  # refuses while running; idempotent
        self._urgent.clear()
