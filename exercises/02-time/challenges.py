"""Chapter 2 — Time: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 2

(That runs `python -m pytest -q exercises --chapter 2`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/02_time.py`: make a real
attempt before you open it.

The checks run your code on a loop with a *virtual clock*, chapter 2's
`VirtualClockLoop`: `loop.time()` starts at 0 and the loop jumps straight to
the next timer instead of sleeping, so times are exact and a 60-second timer
takes microseconds. Nothing here may call `time.monotonic()` or `time.sleep()`:
ask the loop, `loop.time()`.

What chapter 2 built, and these challenges may use:

* `loop.time()`, `loop.call_at(when, f, *args)`, `loop.call_later(delay, f, *args)`;
  both return a `TimerHandle`, with `cancel()`, `cancelled()` and `when()`.
* `loop._scheduled`: the heap of the `when`s timers wait for; `loop._timers`, the
  timers waiting to fire, by `when` (a dict of them, by `id`, where several tie).
* `loop._run_once()`: one pass — tidy the heap, compute the timeout (0 if
  something is ready or `stop()` was called; until the first timer is due if
  there is one; `None`, forever, if there is nothing), `loop._wait(timeout)`,
  move the timers due by `time() + loop._clock_resolution` to `loop._ready`,
  then `loop._run_ready()`.
"""

import math

from eventloop import EventLoop, TimerHandle


# ── 1. call_every ───────────────────────────────────────────────────────────

def call_every(loop, interval, f, *args):
    """Call `f(*args)` every `interval` seconds, on a fixed grid; return an object with `cancel()`.

    Let `start` be `loop.time()` when `call_every` is called. The n-th call
    (n = 1, 2, 3, ...) is due at `start + n * interval`: that is the grid.

    * **No drift.** Compute each due time from the grid, never as "now +
      interval": a call that runs late (the loop was busy, or `f` itself was
      slow) must not push the calls after it later.
    * **No bursts.** If a call runs so late that the grid points after it have
      already passed, skip them: the next call is due at the first grid point
      after the moment the late call runs. Missed calls are not made up.
    * `cancel()` on the returned object stops the calls for good — also when
      `f` itself calls it (the common case: "stop after the third time").
    * If `f` raises, the error goes to the loop's exception handler (as for any
      callback) and the calls go on.
    * `interval` must be positive: otherwise raise `ValueError` (an interval of
      0 would call `f` in every pass and starve the loop).

    Example: `call_every(loop, 1.0, beat)` at t=0 calls `beat()` at t=1, 2, 3...
    If the call due at 3 only runs at 3.3, the next is still at 4; if it only
    runs at 5.7, the next is at 6 (4, 5 are skipped).
    """
    raise NotImplementedError("challenge 1: write call_every(loop, interval, f, *args)")


# ── 2. debounce ─────────────────────────────────────────────────────────────

def debounce(loop, delay, f):
    """Return a function that calls `f(*args)` once, `delay` seconds after it was last called.

    However often the returned function is called, with whatever arguments,
    `f` runs once: `delay` seconds (on `loop.time()`) after the *last* call,
    with that last call's positional arguments. Each call pushes the deadline
    back. Once `f` has run, the next call starts over.

    The returned function never calls `f` itself (only the loop does, later),
    and returns None.

    At most one timer may wait for `f` at any time: cancel the timer the
    previous call started rather than leaving it to fire and do nothing — a
    thousand calls must not leave a thousand live timers in the loop's heap.

    Example (delay 1.0): calls at t=0 with "a", t=0.5 with "b", t=0.9 with "c"
    -> one call, `f("c")`, at t=1.9.
    """
    raise NotImplementedError("challenge 2: write debounce(loop, delay, f)")


# ── 3. Hardcore: a hashed timer wheel ───────────────────────────────────────

class WheelLoop(EventLoop):
    """An EventLoop whose timers wait in a hashed timer wheel instead of a heap.

    The wheel is a ring of SLOTS buckets; each bucket holds the timers due in
    one TICK-long interval of time. Time is counted in ticks: tick k is the
    interval that begins at `k * TICK` on the loop's clock, so a timer due at
    `when` belongs to tick `ceil(when / TICK)` — rounded up, so that it never
    fires before `when` — and waits in bucket number `tick % SLOTS`. One turn
    of the ring (a *rotation*) is SLOTS ticks; a timer due several rotations
    from now shares its bucket with nearer ones and must wait for its own
    round (remember its tick, or how many rounds it has left).

    Scheduling is O(1): compute a slot, append. Each pass visits the buckets
    whose ticks have begun since the last pass and moves their due timers to
    `_ready`; there is no heap, no O(log n). That is where the wheel beats the
    heap when there are many timers (Linux's kernel timers and Kafka's request
    timeouts live in wheels); `wheel_workload`, below, is where you show it.

    The contract is the heap loop's (`call_at`, `call_later`, `cancel`,
    `_run_once`), at tick granularity:

    1. The timers live in `self._wheel`: a list of SLOTS buckets (lists or
       deques), a timer due at `when` in bucket `ceil(when / TICK) % SLOTS`,
       either the `TimerHandle` itself or a tuple that contains it. The heap,
       `self._scheduled`, stays empty.
    2. A timer fires in the first pass that reaches its tick: never before
       `when`, at most one TICK after it. So a timer that is already due when
       it is scheduled runs in the next pass if the clock sits at the start of
       a tick (as the virtual clock does after each jump), else when the next
       tick begins. Floats need care: at tick 1001 the clock reads
       `1001 * 0.001`, which is 1.0010000000000001, and divided by 0.001 that
       is 1001.0000000000001: rounded up, tick 1002. Allow the clock's
       resolution, `self._clock_resolution`, both when you round `when` up to
       a tick and when you round `time()` down (as the heap loop's
       `time() + resolution` does), or timers land a tick off, or the loop
       spins on zero-length waits.
    3. Timers fire in tick order; timers of the same tick, in the order they
       were scheduled (in particular, timers with equal `when` are FIFO).
    4. A cancelled timer never runs, and leaves the wheel at the latest when
       its bucket next comes round: lazy deletion, with the sweep for free.
    5. A pass computes its timeout as the heap loop's does: 0 if something is
       ready or `stop()` was called; `None` (wait forever) if no live timer is
       left; otherwise until the first live timer is due. Don't tick: an idle
       loop with one timer a minute away waits once or a few times, not once
       per TICK.
    6. `close()` empties the wheel, as the heap loop's empties the heap.

    The base class does the rest: `call_later` calls your `call_at`,
    `TimerHandle.cancel()` calls `_timer_handle_cancelled` (harmless; or
    override it), and `_run_ready()` runs the batch. Aim for ~80 clear lines.
    """

    TICK = 0.001  # seconds per tick: 1 ms
    SLOTS = 256  # ticks per rotation: one turn of the wheel is 0.256 s

    def __init__(self):
        super().__init__()
        # Your state here: self._wheel, the current tick (from self.time()), ...

    def call_at(self, when, callback, *args, context=None):
        """Arrange for `callback(*args)` to be called at `when`, on the loop's clock."""
        raise NotImplementedError("challenge 3: write WheelLoop.call_at")

    def _run_once(self):
        """One pass: wait for the next due tick, move due timers to _ready, run the batch."""
        raise NotImplementedError("challenge 3: write WheelLoop._run_once")


def wheel_workload(loop):
    """Schedule timers on `loop` and run it until they are done: show where the wheel wins.

    The check calls this twice, once with the chapter's heap loop and once
    with your `WheelLoop`, both on a virtual clock, and counts **deadline
    comparisons**: every `<`, `<=`, `>` or `>=` between a timer's `when` and
    anything else (each `when` that `call_at` receives is wrapped in a float
    that counts them). Comparisons are what a heap spends: a push or a pop in
    a heap of n timers sifts through up to about log2(n) levels. A wheel
    spends slot operations instead — an index and an append — which the
    count does not see; it is the trade the wheel makes.

    Your workload passes when, on the same code and the same clock:

    * it schedules at least 10 000 timers (with `call_at` or `call_later`),
      and the same number of them fire on both loops;
    * the heap loop makes at least 10 comparisons per timer scheduled (a
      workload the heap finds easy shows nothing);
    * your wheel makes at most a tenth of the heap loop's comparisons.

    Use only `loop.call_later`, `loop.call_at`, `loop.time()`, `cancel()`
    and `loop.run_forever()` / `loop.stop()`; return when the loop has
    stopped. Think of a server: what do its timers look like?
    """
    raise NotImplementedError("challenge 3: write wheel_workload(loop)")
