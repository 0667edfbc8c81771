"""Chapter 7 — Waking the loop: reference solutions.

Spoilers. Try the challenges in `exercises/07-waking/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/07-waking/test_challenges.py`.
"""

import asyncio
import threading

from eventloop import EventLoop, Handle


# ── 1. call_from_thread ─────────────────────────────────────────────────────

def call_from_thread(loop, fn, *args):
    if loop._thread_id == threading.get_ident():
        # We would wait for a callback that only this thread can run: for ever.
        raise RuntimeError("call_from_thread() in the loop's own thread: call fn(*args) directly")
    finished = threading.Event()
    outcome = []

    def run():
        try:
            outcome.append((True, fn(*args)))
        except BaseException as error:  # whatever it is, the caller must hear of it, not wait
            outcome.append((False, error))
            if isinstance(error, (SystemExit, KeyboardInterrupt)):
                raise  # and the loop too, as for a task
        finally:
            finished.set()

    loop.call_soon_threadsafe(run)  # call_soon would not wake a sleeping loop
    finished.wait()
    returned, value = outcome.pop()
    if returned:
        return value
    try:
        raise value  # the very exception, with fn's frames in its traceback
    finally:
        value = None  # else this frame keeps the exception, whose traceback keeps this frame


# ── 2. graceful ─────────────────────────────────────────────────────────────

def graceful(loop, *signals):
    state = "running"  # then "draining" after the first signal, "stopped" once we stopped the loop

    def stop():
        nonlocal state
        state = "stopped"
        loop.stop()

    def on_task_done(task):
        pending.discard(task)
        if state == "draining" and not pending:
            stop()

    def on_signal():
        nonlocal state
        if state == "draining":
            stop()  # a second signal: no more waiting
            return
        if state == "stopped":
            return
        state = "draining"
        pending.update(asyncio.all_tasks(loop))
        if not pending:
            stop()
            return
        for task in list(pending):
            task.add_done_callback(on_task_done)
            task.cancel()

    pending = set()
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)


# ── 3. Hardcore: one byte per sleep ────────────────────────────────────────

class BatchingLoop(EventLoop):
    """call_soon_threadsafe writes one byte per sleep of the loop, not one per call."""

    def __init__(self, selector=None, *, pure_python=None):
        # Held from the moment a thread decides to write a wake-up byte until
        # the loop has drained the self-pipe: whoever takes it writes, and a
        # thread that finds it taken knows a byte is on its way. acquire(False)
        # tests and takes it in one step, so two threads cannot both write.
        self._wake_pending = threading.Lock()
        super().__init__(selector, pure_python=pure_python)

    def call_soon_threadsafe(self, callback, *args, context=None):
        """Like call_soon(), but from any thread: the loop wakes up to run it."""
        if self._closed or self._debug or not callable(callback):
            self._check_closed()
            self._check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        self._ready.append(handle)
        # Append first, then look at the flags (see _wait). A thread that finds
        # the lock taken appended its handle before the loop's next look at _ready.
        if self._may_sleep and self._wake_pending.acquire(blocking=False):
            self._write_to_self()
        return handle

    def _read_from_self(self):
        super()._read_from_self()
        # Drained: the next wake-up needs a byte of its own. This runs in a
        # callback, before the next _wait raises _may_sleep and looks at _ready.
        # Only the loop releases, so nobody can release between these two lines.
        if self._wake_pending.locked():
            self._wake_pending.release()
