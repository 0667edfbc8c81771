"""Chapter 2 — Time: reference solutions.

Spoilers. Try the challenges in `exercises/02-time/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/02-time/test_challenges.py`.
"""

import math
import random
from operator import itemgetter

from eventloop import EventLoop, TimerHandle


# ── 1. call_every ───────────────────────────────────────────────────────────

class Repeating:
    """What `call_every` returns: the series of calls, which `cancel()` ends."""

    def __init__(self, loop, interval, f, args):
        self._loop, self._interval, self._f, self._args = loop, interval, f, args
        self._start = loop.time()
        self._n = 0  # the grid point the pending timer is for
        self._timer = None
        self._schedule(1)

    def _schedule(self, n):
        self._n = n
        self._timer = self._loop.call_at(self._start + n * self._interval, self._run)

    def _run(self):
        # Next grid point; if we run so late that it has passed, the first one after now.
        # From the grid, never `now + interval`: that is what would drift.
        late = math.floor((self._loop.time() - self._start) / self._interval) + 1
        # Schedule before calling f: f may cancel() the series, and if f raises,
        # the series goes on (the loop hands the error to its exception handler).
        self._schedule(max(self._n + 1, late))
        self._f(*self._args)

    def cancel(self):
        self._timer.cancel()


def call_every(loop, interval, f, *args):
    """Call `f(*args)` at start + n * interval, n = 1, 2, ...; cancel() to stop."""
    if not interval > 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    return Repeating(loop, interval, f, args)


# ── 2. debounce ─────────────────────────────────────────────────────────────

def debounce(loop, delay, f):
    """A function that calls `f(*args)` once, `delay` seconds after it was last called."""
    timer = None

    def debounced(*args):
        nonlocal timer
        if timer is not None:
            timer.cancel()  # one live timer at a time: the heap sweeps the dead ones
        timer = loop.call_later(delay, f, *args)

    return debounced


# ── 3. Hardcore: a hashed timer wheel ───────────────────────────────────────

class WheelLoop(EventLoop):
    """An EventLoop whose timers wait in a hashed timer wheel instead of a heap.

    Bucket entries are `(tick, timer)`. `self._tick` is the last tick whose
    bucket a pass has visited; each pass visits the buckets from there to the
    tick that has begun now, and the timers due by then go to `_ready`, in tick
    order. Entries of a later round (tick > now) stay. A timer already due goes
    into the bucket of `self._tick`, which the next pass visits again.
    """

    TICK = 0.001  # seconds per tick: 1 ms
    SLOTS = 256  # ticks per rotation: one turn of the wheel is 0.256 s

    def __init__(self):
        super().__init__()
        self._wheel = [[] for _ in range(self.SLOTS)]
        self._tick = self._tick_now()
        self._entries = 0  # timers in the wheel, cancelled ones included

    def _tick_now(self):
        """The last tick that has begun (allowing the clock's resolution)."""
        return math.floor((self.time() + self._clock_resolution) / self.TICK)

    def call_at(self, when, callback, *args, context=None):
        """Arrange for `callback(*args)` to be called at `when`, on the loop's clock."""
        if when is None:
            raise TypeError("when cannot be None")
        self._check_scheduling(callback, "call_at")
        timer = TimerHandle(when, callback, args, self, context)
        # Round up, so that the timer never fires early (give or take the resolution).
        tick = math.ceil((when - self._clock_resolution) / self.TICK)
        self._wheel[max(tick, self._tick) % self.SLOTS].append((tick, timer))
        self._entries += 1
        timer._scheduled = True
        return timer

    def _first_due_tick(self):
        """The tick of the first live timer, or None: scan one rotation, else search all."""
        wheel, slots = self._wheel, self.SLOTS
        for tick in range(self._tick, self._tick + slots):
            if any(due <= tick and not timer._cancelled for due, timer in wheel[tick % slots]):
                return tick
        # Nothing this rotation: the earliest timer of a later round, if any.
        return min((due for bucket in wheel for due, timer in bucket if not timer._cancelled),
                   default=None)

    def _run_once(self):
        """One pass: wait for the first due tick, move due timers to _ready, run the batch."""
        if self._ready or self._stopping:
            timeout = 0
        else:
            tick = self._first_due_tick() if self._entries else None
            timeout = None if tick is None else max(0, tick * self.TICK - self.time())
        if timeout != 0:
            self._wait(timeout)

        now, due = self._tick_now(), []
        # Visit each bucket whose tick has begun, at most once (after a long
        # sleep, one full rotation covers every bucket).
        for tick in range(self._tick, min(now + 1, self._tick + self.SLOTS)):
            bucket, keep = self._wheel[tick % self.SLOTS], []
            for entry in bucket:
                if entry[1]._cancelled:
                    entry[1]._scheduled = False  # dropped: lazy deletion's sweep
                elif entry[0] <= now:
                    due.append(entry)
                else:
                    keep.append(entry)  # a later round
            self._entries -= len(bucket) - len(keep)
            self._wheel[tick % self.SLOTS] = keep
        self._tick = max(self._tick, now)
        due.sort(key=itemgetter(0))  # tick order; stable, so FIFO within a tick
        for _, timer in due:
            timer._scheduled = False
            self._ready.append(timer)
        self._run_ready()

    def close(self):
        """Close the loop: pending callbacks and timers are lost."""
        super().close()  # refuses while running; idempotent
        self._wheel = [[] for _ in range(self.SLOTS)]
        self._entries = 0


def wheel_workload(loop):
    """10 000 connections, each with an idle timeout somewhere in the next second.

    Every timeout fires (nobody cancels them): the heap pays about log2(n)
    comparisons to push each one and twice that to pop it; the wheel drops
    each into its slot and empties one slot per tick.
    """
    rng = random.Random(1)
    for _ in range(10_000):
        loop.call_later(rng.uniform(0.0, 1.0), lambda: None)
    loop.call_later(1.5, loop.stop)
    loop.run_forever()
