"""Checks for chapter 2's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 2`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Every loop here has a virtual clock (`make_virtual_loop`): `loop.time()` starts
at 0, jumps to the next timer instead of sleeping, and `loop.busy(s)` pretends
the running callback kept the loop busy for `s` seconds. A loop that would
block forever or spin fails the check instead of hanging it.
"""
import math
import random

import pytest

import eventloop

EPSILON = 1e-9  # the virtual clock's resolution: "the same time", give or take float rounding


def run_until(loop, when):
    """Run the loop until the virtual clock reaches `when` (a timer there calls stop())."""
    loop.call_at(when, loop.stop)
    loop.run_forever()


def one_pass(loop):
    loop.stop()
    loop.run_forever()


def waiting_timers(loop):
    """The timers the loop holds: those in its table (`_timers` maps a `when` to a timer, or
    to a dict of them on a tie), and those scheduled since its last pass (`_new_timers`)."""
    for due in loop._timers.values():
        yield from due.values() if isinstance(due, dict) else (due,)
    yield from getattr(loop, "_new_timers", ())


def recorder(loop, calls):
    """A callback that records (loop.time(), args) in `calls`."""
    def record(*args):
        calls.append((loop.time(), args))
    return record


def times(calls):
    return [round(t, 9) for t, _ in calls]


# ── 1. call_every ───────────────────────────────────────────────────────────

@pytest.fixture
def loop(make_virtual_loop):  # chapter 2's checks need exact time: a virtual clock
    return make_virtual_loop()


def test_call_every_calls_on_the_grid(challenges, loop):
    calls = []
    series = challenges.call_every(loop, 1.0, recorder(loop, calls), "beat", 42)
    assert callable(getattr(series, "cancel", None)), (
        f"call_every must return an object with a cancel() method, got {series!r}"
    )
    assert calls == [], "call_every only schedules: the first call is due one interval from now"
    run_until(loop, 3.5)
    assert times(calls) == [1.0, 2.0, 3.0], "the n-th call is due at start + n * interval"
    assert all(args == ("beat", 42) for _, args in calls), f"f must get *args every time: {calls}"


def test_call_every_does_not_drift(challenges, loop):
    calls = []
    record = recorder(loop, calls)

    def slow_beat():
        record()
        loop.busy(0.25)  # f itself takes a quarter of a second

    challenges.call_every(loop, 1.0, slow_beat)
    loop.call_at(2.9, loop.busy, 0.4)  # another callback blocks the loop until 3.3
    run_until(loop, 5.5)
    assert times(calls) == [1.0, 2.0, 3.3, 4.0, 5.0], (
        "the call due at 3 runs late, at 3.3 (the loop was busy), but the calls after it "
        "stay on the grid: 4, 5. Due times come from start + n * interval; 'now + interval' "
        "drifts by however late each call is (2.25, 3.25, ...; or 4.3, 5.3 after the late one)"
    )


def test_call_every_skips_missed_calls_instead_of_bursting(challenges, loop):
    calls = []
    challenges.call_every(loop, 1.0, recorder(loop, calls))
    loop.call_at(0.5, loop.busy, 3.2)  # the loop is stuck from 0.5 to 3.7
    run_until(loop, 5.5)
    assert times(calls) == [3.7, 4.0, 5.0], (
        "the call due at 1 runs at 3.7; the grid points 2 and 3 have passed by then: skip them "
        "(no burst of stale calls), the next call is at the first grid point after 3.7, which is 4"
    )


def test_call_every_can_be_cancelled_by_f(challenges, loop):
    calls, series = [], []
    record = recorder(loop, calls)

    def three_times():
        record()
        if len(calls) == 3:
            series[0].cancel()

    series.append(challenges.call_every(loop, 1.0, three_times))
    run_until(loop, 10.0)
    assert times(calls) == [1.0, 2.0, 3.0], (
        "f cancelled the series during its third call: no fourth call. If you schedule the "
        "next call before calling f, cancel() must cancel that timer; if after, it must not "
        "schedule it"
    )


def test_call_every_can_be_cancelled_from_outside(challenges, loop):
    calls = []
    series = challenges.call_every(loop, 1.0, recorder(loop, calls))
    loop.call_at(2.5, series.cancel)
    run_until(loop, 10.0)
    assert times(calls) == [1.0, 2.0], "cancelled at 2.5: no more calls after 2"
    assert not any(not timer.cancelled() for timer in waiting_timers(loop)), (
        "after cancel() and the loop's stop, no live timer of the series may be left in the heap"
    )


def test_call_every_goes_on_when_f_raises(challenges, loop):
    calls, errors = [], []
    loop.set_exception_handler(lambda loop, context: errors.append(context["exception"]))
    record = recorder(loop, calls)

    def failing():
        record()
        raise ValueError("beat failed")

    challenges.call_every(loop, 1.0, failing)
    run_until(loop, 3.5)
    assert times(calls) == [1.0, 2.0, 3.0], (
        "a raising f must not end the series: schedule the next call before calling f "
        "(or in a finally)"
    )
    assert len(errors) == 3 and all(isinstance(e, ValueError) for e in errors), (
        f"every error goes to the loop's exception handler (don't swallow it), got {errors!r}"
    )


def test_call_every_rejects_a_non_positive_interval(challenges, loop):
    for interval in (0, -1.0):
        with pytest.raises(ValueError):
            challenges.call_every(loop, interval, print)
    assert not loop._scheduled, "a rejected call_every must not schedule anything"


# ── 2. debounce ─────────────────────────────────────────────────────────────

def test_debounce_calls_once_after_the_delay(challenges, loop):
    calls = []
    debounced = challenges.debounce(loop, 1.0, recorder(loop, calls))
    assert callable(debounced), f"debounce must return a function, got {debounced!r}"
    assert debounced("x") is None
    assert calls == [], "the debounced function never calls f itself: the loop does, later"
    run_until(loop, 5.0)
    assert calls == [(1.0, ("x",))], "f runs once, `delay` seconds after the call, with its arguments"


def test_debounce_waits_for_the_last_call(challenges, loop):
    calls = []
    debounced = challenges.debounce(loop, 1.0, recorder(loop, calls))
    loop.call_at(0.0, debounced, "a")
    loop.call_at(0.5, debounced, "b")
    loop.call_at(0.9, debounced, "c")
    run_until(loop, 5.0)
    assert [(round(t, 9), args) for t, args in calls] == [(1.9, ("c",))], (
        "three calls within the delay make one call of f, 1.0 after the last (0.9), "
        "with the last call's arguments; each call pushes the deadline back"
    )


def test_debounce_starts_over_after_f_ran(challenges, loop):
    calls = []
    debounced = challenges.debounce(loop, 1.0, recorder(loop, calls))
    loop.call_at(0.0, debounced, "first burst")
    loop.call_at(3.0, debounced, "second burst")
    loop.call_at(3.2, debounced, "second burst, last")
    run_until(loop, 10.0)
    assert [(round(t, 9), args) for t, args in calls] == [
        (1.0, ("first burst",)), (4.2, ("second burst, last",))
    ], "once f has run, the next call starts a new wait"


def test_debounce_keeps_one_live_timer(challenges, loop):
    calls = []
    debounced = challenges.debounce(loop, 1.0, recorder(loop, calls))
    for n in range(1000):
        debounced(n)
    live = [timer for timer in waiting_timers(loop) if not timer.cancelled()]
    assert len(live) == 1, (
        f"after 1000 calls, {len(live)} live timers wait in the heap: cancel the previous "
        "call's timer instead of letting it fire for nothing (timeouts are timers that are "
        "almost always cancelled; the heap's lazy deletion makes cancelling cheap)"
    )
    run_until(loop, 5.0)
    assert calls == [(1.0, (999,))]


# ── 3. WheelLoop: a hashed timer wheel ──────────────────────────────────────

@pytest.fixture
def wheel(challenges, make_virtual_loop):
    return make_virtual_loop(challenges.WheelLoop)


def timers_in(bucket):
    """The TimerHandles in a bucket, whose entries are timers or tuples holding one."""
    found = []
    for entry in bucket:
        items = entry if isinstance(entry, tuple) else (entry,)
        found.extend(item for item in items if isinstance(item, eventloop.TimerHandle))
    return found


def test_wheel_keeps_timers_in_slots_not_in_the_heap(wheel):
    T, S = wheel.TICK, wheel.SLOTS
    delays = [3.5 * T, 3.6 * T, 100.5 * T, (S + 3.5) * T, (5 * S + 7.5) * T]
    timers = [wheel.call_later(delay, print, delay) for delay in delays]
    assert all(isinstance(t, eventloop.TimerHandle) for t in timers), "call_at returns a TimerHandle"
    assert wheel._scheduled == [], "the timers must wait in the wheel, not in the heap (_scheduled)"
    assert len(wheel._wheel) == S, f"the wheel is a list of SLOTS = {S} buckets"
    for timer in timers:
        slot = math.ceil(timer.when() / T) % S
        assert any(t is timer for t in timers_in(wheel._wheel[slot])), (
            f"a timer due at {timer.when():g} is in tick ceil({timer.when():g} / {T:g}) = "
            f"{math.ceil(timer.when() / T)}, so in bucket {slot} (tick % SLOTS) — timers one "
            "or more rotations apart share a bucket"
        )


def test_wheel_fires_in_the_heap_order_at_tick_granularity(wheel, make_virtual_loop):
    heap = make_virtual_loop()  # the chapter's heap loop, the reference
    T, S = wheel.TICK, wheel.SLOTS
    rng = random.Random(2)
    # Random delays over three rotations, none on a tick boundary.
    delays = [(rng.randrange(3 * S) + rng.uniform(0.1, 0.9)) * T for _ in range(400)]

    def fire_all(loop):
        fired = []
        for n, delay in enumerate(delays):
            loop.call_later(delay, fired.append, n)
        run_until(loop, 4 * S * T)
        return fired

    expected, fired = fire_all(heap), fire_all(wheel)
    lost = sorted(set(range(len(delays))) - set(fired))
    assert not lost, (
        f"{len(lost)} of {len(delays)} timers had not fired when the loop stopped at "
        f"{4 * S * T:g} s (e.g. the one due at {delays[lost[0]]:g}); if the loop stopped "
        "early, its stop() timer fired rounds before its time"
    )
    assert len(fired) == len(delays), "a timer fired more than once"
    ticks = [math.ceil(delays[n] / T) for n in fired]
    for position, (got, want) in enumerate(zip(ticks, (math.ceil(delays[n] / T) for n in expected))):
        assert got == want, (
            f"timer #{position} to fire was due in tick {got}, but the heap loop's was due in "
            f"tick {want}: timers must fire in tick order (a bucket holds timers of several "
            "rounds: fire only the ones whose round has come; after a long wait, fire the "
            "buckets' timers in tick order, not bucket order)"
        )


def test_wheel_fires_on_time_to_the_tick(wheel):
    T, S = wheel.TICK, wheel.SLOTS
    rng = random.Random(3)
    whens = [rng.uniform(0, 2 * S * T) for _ in range(200)] + [k * T for k in (1, 2, 3, 1001, 1003)]
    fired = {}
    for n, when in enumerate(whens):
        wheel.call_at(when, lambda n=n: fired.setdefault(n, wheel.time()))
    run_until(wheel, 2.0)
    assert len(fired) == len(whens), (
        f"{len(whens) - len(fired)} of {len(whens)} timers had not fired when the loop stopped "
        "at 2.0 s (if it stopped early, its stop() timer fired rounds before its time)"
    )
    for n, when in enumerate(whens):
        assert fired[n] >= when - EPSILON, (
            f"a timer due at {when!r} fired early, at {fired[n]!r}: round its tick up, "
            "ceil(when / TICK), so that its tick begins at or after `when`"
        )
        assert fired[n] <= when + T + EPSILON, (
            f"a timer due at {when!r} fired at {fired[n]!r}, more than a tick late: the pass "
            "must wait until exactly the start of the first due tick"
        )


def test_wheel_ties_are_fifo(wheel):
    T = wheel.TICK
    fired = []
    order = list(range(30))
    random.Random(4).shuffle(order)
    for n in order:  # thirty timers, all due at the same instant, scheduled in this order
        wheel.call_at(7.25 * T, fired.append, n)
    for n in range(30, 40):  # ten more in the same tick, due a little earlier
        wheel.call_at(7.2 * T, fired.append, n)
    run_until(wheel, 1.0)
    assert fired == order + list(range(30, 40)), (
        "timers of the same tick fire in the order they were scheduled (FIFO), as equal "
        "`when`s do in the heap loop; a bucket appended to in order and emptied in order keeps it"
    )


def test_wheel_long_delays_wait_for_their_round(wheel):
    T, S = wheel.TICK, wheel.SLOTS
    rotation = S * T
    fired, waits_at = [], {}
    record = recorder(wheel, fired)
    base = 10.5 * T  # tick 11; the same bucket, one, two and three rotations later
    for k in (3, 0, 2, 1):
        wheel.call_later(base + k * rotation, record, k)
    wheel.call_later(10.0, record, "ten seconds")
    wheel.call_later(base + 3 * rotation, lambda: waits_at.setdefault("before", len(wheel.virtual_waits)))
    run_until(wheel, 11.0)
    assert [args[0] for _, args in fired] == [0, 1, 2, 3, "ten seconds"], (
        "timers in the same bucket but in later rounds must wait for their round: "
        "a timer fired a rotation (or more) early"
    )
    for (t, (k,)), want in zip(fired, [base + k * rotation for k in range(4)] + [10.0]):
        assert want - EPSILON <= t <= want + T + EPSILON, (
            f"timer {k!r} due at {want:g} fired at {t:g}: a timer fires when its own tick, "
            "ceil(when / TICK), begins — never before `when`, at most one TICK after"
        )
    idle_waits = len(wheel.virtual_waits) - waits_at["before"]
    most = int(10 / rotation) + 5
    assert idle_waits <= most, (
        f"to get from {base + 3 * rotation:g} s to the timer at 10 s the loop waited {idle_waits} "
        f"times: an idle wheel must not tick. Wait until the first live timer is due (at most "
        f"about once per rotation, {most} waits here), not once per TICK"
    )


def test_wheel_cancelled_timers_never_run_and_are_swept(wheel):
    T, S = wheel.TICK, wheel.SLOTS
    rng = random.Random(5)
    fired = []
    timers = [wheel.call_later(rng.uniform(0.001, 30.0), fired.append, n) for n in range(1000)]
    keep = set(range(0, 1000, 100))
    for n, timer in enumerate(timers):
        if n not in keep:
            timer.cancel()
    run_until(wheel, 2.5 * S * T)  # two and a half turns of the wheel
    dead = [t for bucket in wheel._wheel for t in timers_in(bucket) if t.cancelled()]
    assert not dead, (
        f"after two full turns of the wheel, {len(dead)} cancelled timers still sit in it: drop "
        "a cancelled timer when its bucket comes round (lazy deletion, as the heap's; the "
        "wheel's sweep comes for free, every bucket is visited once per rotation)"
    )
    run_until(wheel, 31.0)
    by_when = sorted(keep, key=lambda n: timers[n].when())
    assert fired == by_when, "only the ten live timers fire, in the order they are due"


def test_wheel_keeps_the_loop_contract(wheel):
    T = wheel.TICK
    calls = []
    record = recorder(wheel, calls)
    wheel.call_later(0.5, record, "timer at 0.5")
    wheel.call_soon(record, "soon")
    one_pass(wheel)
    assert calls == [(0.0, ("soon",))], (
        "with a callback ready (or stop() called), a pass must not wait for a timer: timeout 0"
    )

    def schedule_due_timers():
        record("timer at tick 1001")
        wheel.call_later(0, record, "zero delay")
        wheel.call_at(wheel.time() - 1.0, record, "in the past")

    wheel.call_at(1001 * T, schedule_due_timers)
    run_until(wheel, 2.0)
    now = 1001 * T
    got = [(round(t, 9), args[0]) for t, args in calls[1:]]
    assert got == [(0.5, "timer at 0.5"), (round(now, 9), "timer at tick 1001"),
                   (round(now, 9), "in the past"), (round(now, 9), "zero delay")], (
        "timers already due when scheduled run in the next pass, the clock unmoved (here at "
        f"tick 1001, {now!r}: mind the float rounding of `when / TICK`), earliest `when` first"
    )


def test_wheel_waits_forever_only_when_no_live_timer_is_left(wheel):
    wheel.call_later(1.0, print, "cancelled").cancel()
    wheel.call_later(0.5, print, "cancelled too").cancel()
    with pytest.raises(AssertionError, match="block forever"):
        wheel.run_forever()  # nothing live: the right timeout is None, forever
    assert wheel.virtual_waits == [], (
        f"the loop waited {wheel.virtual_waits} for cancelled timers: with no live timer "
        "left, the timeout is None"
    )


def test_wheel_close_empties_the_wheel(wheel):
    for n in range(10):
        wheel.call_later(n * 0.1, print, n)
    wheel.close()
    left = [t for bucket in wheel._wheel for t in timers_in(bucket)]
    assert not left, f"close() must empty the wheel ({len(left)} timers left), as it empties the heap"
    with pytest.raises(RuntimeError, match="closed"):
        wheel.call_later(1.0, print, "too late")


# ── 3b. where the wheel beats the heap ──────────────────────────────────────

class ComparisonCounter:
    def __init__(self):
        self.comparisons = 0


def counting_deadlines(counter):
    """A float class whose ordering comparisons (<, <=, >, >=) add to `counter`."""

    def counted(name):
        compare = getattr(float, name)

        def method(self, other):
            counter.comparisons += 1
            return compare(self, other)
        return method

    return type("Deadline", (float,), {
        name: counted(name) for name in ("__lt__", "__le__", "__gt__", "__ge__")
    })


def measured(make_virtual_loop, cls, workload):
    """Run `workload` on a virtual-clock `cls`: (timers scheduled, fired, comparisons, passes)."""
    counter = ComparisonCounter()
    Deadline = counting_deadlines(counter)
    tally = {"scheduled": 0, "fired": 0}

    def fire(callback, args):
        tally["fired"] += 1
        callback(*args)

    class Measured(cls):
        def call_at(self, when, callback, *args, context=None):
            tally["scheduled"] += 1
            return super().call_at(Deadline(when), fire, callback, args, context=context)

    Measured.__name__ = cls.__name__
    loop = make_virtual_loop(Measured)
    workload(loop)
    return tally["scheduled"], tally["fired"], counter.comparisons, loop.virtual_passes


def test_wheel_beats_the_heap_on_your_workload(challenges, make_virtual_loop):
    heap = measured(make_virtual_loop, eventloop.EventLoop, challenges.wheel_workload)
    wheel = measured(make_virtual_loop, challenges.WheelLoop, challenges.wheel_workload)
    (scheduled, heap_fired, heap_comparisons, _), (_, wheel_fired, wheel_comparisons, _) = heap, wheel
    report = (f"timers scheduled: {scheduled}; fired: heap {heap_fired}, wheel {wheel_fired}; "
              f"deadline comparisons: heap {heap_comparisons}, wheel {wheel_comparisons}")
    assert scheduled == wheel[0] and scheduled >= 10_000, (
        f"the workload must schedule at least 10 000 timers, the same on both loops ({report})"
    )
    assert heap_fired == wheel_fired, f"the same timers must fire on both loops ({report})"
    assert heap_comparisons >= 10 * scheduled, (
        f"the heap made {heap_comparisons / scheduled:.1f} comparisons per timer: this workload "
        f"is easy for a heap, so it shows nothing ({report}). A few timers at a time, or timers "
        "cancelled in bulk and swept, cost a heap little; every pop of a big heap sifts"
    )
    assert wheel_comparisons * 10 <= heap_comparisons, (
        f"the wheel must make at most a tenth of the heap's comparisons ({report}): does your "
        "wheel sort or search by `when`? Its slots already hold the order"
    )
