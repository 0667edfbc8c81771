"""Chapter 2: time, call_later, call_at, TimerHandle and the timer heap.

Real-time tests use delays far apart (tens of milliseconds) and assert only
what cannot depend on the machine's speed: order, and lower bounds. Exact
times come from a virtual clock (a subclass overriding `time` and `_wait`,
as in the chapter).
"""
import asyncio
import contextvars
import functools
import gc
import operator
import random
import sys
import threading
import time
import weakref
from asyncio import events

import pytest

from _timers import file_new_timers

CHAPTER = 2

DAY = 24 * 3600
label = contextvars.ContextVar("label", default="-")


def run_once(loop):
    loop.stop()
    loop.run_forever()


def noop(*args):
    pass


def other(*args):
    pass


class Box:
    pass


def trace_at(loop, trace, name):
    return lambda: trace.append((loop.time(), name))


# ---------------------------------------------------------------- order


def test_call_later_runs_timers_in_order_of_delay(loops):
    def scenario(loop):
        trace = []
        for delay in (0.04, 0.0, 0.02, 0.06, 0.01):
            loop.call_later(delay, trace.append, delay)
        loop.call_later(0.08, loop.stop)
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == [0.0, 0.01, 0.02, 0.04, 0.06]


def test_call_at_uses_the_loops_clock(loops):
    def scenario(loop):
        trace = []
        base = loop.time()
        loop.call_at(base + 0.03, trace.append, "base + 30 ms")
        loop.call_at(base + 0.01, trace.append, "base + 10 ms")
        loop.call_at(base - 100, trace.append, "100 s ago")
        loop.call_at(base + 0.05, loop.stop)
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == ["100 s ago", "base + 10 ms", "base + 30 ms"]


def test_negative_and_zero_delays_run_in_the_first_pass(loops):
    def scenario(loop):
        trace = []
        loop.call_later(0, trace.append, "zero")
        loop.call_later(-5, trace.append, "5 s in the past")
        loop.call_soon(trace.append, "soon")
        run_once(loop)  # one pass, no waiting: the timers are already due
        return trace

    # Ready callbacks first, then the due timers, by `when`.
    assert loops.compare(scenario) == ["soon", "5 s in the past", "zero"]


def test_a_timer_scheduled_by_a_callback_runs_in_a_later_pass(loops):
    def scenario(loop):
        trace = []

        def first():
            trace.append("first")
            loop.call_later(0, trace.append, "timer from first")
            loop.call_soon(trace.append, "soon from first")

        loop.call_soon(first)
        loop.call_soon(trace.append, "second")
        run_once(loop)
        trace.append("-- one pass --")
        run_once(loop)
        return trace

    assert loops.compare(scenario) == [
        "first", "second", "-- one pass --", "soon from first", "timer from first",
    ]


def test_equal_whens_run_in_scheduling_order(virtual):
    """Ours is FIFO for ties (asyncio does not promise it)."""
    loop = virtual()
    trace = []
    for i in range(50):
        loop.call_at(5.0, trace.append, i)
    loop.call_at(6.0, loop.stop)
    loop.run_forever()
    assert trace == list(range(50))


def test_ties_stay_fifo_among_many_timers(virtual):
    loop = virtual()
    rng = random.Random(1234)
    entries = [(rng.choice([1.0, 2.0, 2.5, 3.0]), i) for i in range(300)]
    trace = []
    for when, i in entries:
        loop.call_at(when, trace.append, (when, i))
    loop.call_at(4.0, loop.stop)
    loop.run_forever()
    assert trace == sorted(entries, key=lambda entry: entry[0])  # sorted() is stable
    assert loop.waits == [1.0, 1.0, 0.5, 0.5, 1.0]


def test_ties_share_one_heap_entry_and_cancelling_some_keeps_the_rest_in_order(virtual):
    loop = virtual()
    trace = []
    timers = [loop.call_at(1.0, trace.append, i) for i in range(6)]
    file_new_timers(loop)
    assert (loop._scheduled, loop._timer_cancelled_count) == ([1.0], 0)
    for i in (0, 3, 5):  # the first, one in the middle, the last
        timers[i].cancel()
    assert loop._timer_cancelled_count == 0, "others still wait at 1.0: the entry is no orphan"
    loop.call_at(2.0, loop.stop)
    loop.run_forever()
    assert trace == [1, 2, 4]
    assert [t._scheduled for t in timers] == [False] * 6
    assert loop._timers == {} and loop._scheduled == []


def test_cancelling_every_timer_of_a_tie_leaves_one_orphan(virtual):
    loop = virtual()
    timers = [loop.call_at(1.0, noop) for _ in range(3)]
    file_new_timers(loop)
    for timer in timers:
        timer.cancel()
    assert (loop._scheduled, loop._timers, loop._timer_cancelled_count) == ([1.0], {}, 1)
    run_once(loop)
    assert (loop._scheduled, loop._timer_cancelled_count) == ([], 0)


def test_a_new_timer_waits_for_the_next_pass_to_be_filed(virtual):
    loop = virtual()
    trace = []
    timer = loop.call_at(1.0, trace.append, "fired")
    assert (loop._new_timers, loop._scheduled, loop._timers) == ([timer], [], {})
    assert not timer._scheduled, "not in the heap yet"
    loop.call_at(2.0, loop.stop)
    loop.run_forever()
    assert trace == ["fired"] and loop.waits == [1.0, 1.0], "filed before the first wait"
    assert (loop._new_timers, loop._scheduled, loop._timers) == ([], [], {})


def test_a_timer_cancelled_before_it_is_filed_never_reaches_the_heap(virtual):
    loop = virtual()
    trace = []
    doomed = loop.call_at(1.0, trace.append, "cancelled")
    kept = loop.call_at(1.0, trace.append, "kept")
    doomed.cancel()
    assert loop._timer_cancelled_count == 0, "no orphan: its `when` was never pushed"
    run_once(loop)  # files `kept` alone; the clock stands at 0, so nothing fires yet
    assert (loop._scheduled, loop._timers, loop._timer_cancelled_count) == ([1.0], {1.0: kept}, 0)
    loop.call_at(2.0, loop.stop)
    loop.run_forever()
    assert trace == ["kept"]


def test_timers_scheduled_by_a_callback_are_filed_by_the_next_pass(virtual):
    loop = virtual()
    trace = []

    def rearm(n):
        trace.append((loop.time(), n))
        if n:
            loop.call_later(1.0, rearm, n - 1)
            loop.call_later(0.5, trace.append, (loop.time() + 0.5, "half"))

    loop.call_soon(rearm, 2)
    loop.call_at(10.0, loop.stop)
    loop.run_forever()
    assert trace == [(0.0, 2), (0.5, "half"), (1.0, 1), (1.5, "half"), (2.0, 0)]


def test_a_when_that_is_not_a_float_is_filed_at_once_after_the_waiting_floats(virtual):
    loop = virtual()
    first = loop.call_at(3.0, noop)
    loop.call_at(2, noop)  # an int: the list is filed now, then it
    assert loop._new_timers == [] and sorted(loop._scheduled) == [2, 3.0]
    assert first._scheduled
    with pytest.raises(TypeError):  # a string cannot be compared with the heap's numbers
        loop.call_at("soon", noop)
    assert loop._new_timers == [] and "soon" not in loop._timers, "nothing of it stays"
    assert sorted(loop._scheduled) == [2, 3.0], "not even in the heap, where heappush appends first"
    timers = [loop.call_at(10.0 + i, noop) for i in range(200)]
    file_new_timers(loop)  # in the heap, so that cancelling makes orphans
    for timer in timers:
        timer.cancel()
    assert loop._timer_cancelled_count == 200
    run_once(loop)  # the table's keys rebuild the heap: a stale "soon" would raise here
    assert sorted(loop._scheduled) == [2, 3.0] and loop._timer_cancelled_count == 0


def test_equal_whens_of_different_types_tie_in_order(virtual):
    loop = virtual()
    trace = []
    loop.call_at(1, trace.append, "int")
    loop.call_at(1.0, trace.append, "float")
    loop.call_at(True, trace.append, "True")
    loop.call_at(2.0, loop.stop)
    loop.run_forever()
    assert trace == ["int", "float", "True"]


def test_a_new_timer_at_an_orphans_instant_fires_once(virtual):
    loop = virtual()
    trace = []
    cancelled = loop.call_at(1.0, trace.append, "cancelled")
    file_new_timers(loop)
    cancelled.cancel()
    loop.call_at(1.0, trace.append, "new")  # the orphan's `when` is in the heap twice now
    loop.call_at(2.0, loop.stop)
    loop.run_forever()
    assert trace == ["new"]
    assert loop._scheduled == [] and loop._timers == {}


def test_the_same_nan_twice_is_a_tie(virtual):
    loop = virtual()
    trace = []
    nan = float("nan")
    first = loop.call_at(nan, trace.append, "first")
    loop.call_at(nan, trace.append, "second")
    loop.call_at(nan, trace.append, "third").cancel()
    file_new_timers(loop)
    assert len(loop._scheduled) == 1 and first.when() is nan
    run_once(loop)
    assert trace == ["first", "second"]


def test_an_unhashable_when_is_refused_at_once_and_schedules_nothing(el):
    # A deliberate difference: asyncio's call_at accepts it, and its run_forever
    # raises TypeError when it subtracts the time from it.
    loop = el.new_event_loop()
    with pytest.raises(TypeError, match="unhashable"):
        loop.call_at([1.0], noop)
    assert (loop._scheduled, loop._timers, loop._timer_cancelled_count) == ([], {}, 0)
    fired = []
    loop.call_later(0, fired.append, "the loop goes on")
    loop.call_later(0, loop.stop)
    loop.run_forever()
    assert fired == ["the loop goes on"]
    loop.close()


def test_the_heap_rebuilt_from_ties_keeps_their_order(virtual):
    loop = virtual()
    trace = []
    timers = [loop.call_at(float(1 + i // 3), trace.append, i) for i in range(600)]  # 200 instants, 3 each
    file_new_timers(loop)
    for i, timer in enumerate(timers):
        if i // 3 >= 20 or i % 3 == 1:  # every timer of 180 instants, one of each of the rest
            timer.cancel()
    assert loop._timer_cancelled_count == 180
    run_once(loop)  # 180 of 200 entries are orphans: rebuilt
    assert (len(loop._scheduled), loop._timer_cancelled_count) == (20, 0)
    loop.call_at(1000.0, loop.stop)
    loop.run_forever()
    assert trace == [i for i in range(60) if i % 3 != 1]


def test_the_chapter_scenario_on_a_virtual_clock(virtual_loops):
    def scenario(loop):
        trace = []
        loop.call_at(2.0, trace_at(loop, trace, "A"))
        loop.call_at(1.0, trace_at(loop, trace, "B"))
        loop.call_at(2.5, trace_at(loop, trace, "C"))
        loop.call_later(-5, trace_at(loop, trace, "D"))
        loop.call_later(1.5, trace_at(loop, trace, "never")).cancel()
        loop.call_later(3.0, lambda: (
            trace_at(loop, trace, "E")(), loop.call_later(0.25, trace_at(loop, trace, "F"))
        ))
        loop.call_at(10.0, loop.stop)
        loop.run_forever()
        return trace, loop.waits, loop.time()

    trace, waits, end = virtual_loops.compare(scenario)
    assert trace == [(0.0, "D"), (1.0, "B"), (2.0, "A"), (2.5, "C"), (3.0, "E"), (3.25, "F")]
    assert waits == [1.0, 1.0, 0.5, 0.5, 0.25, 6.75]
    assert end == 10.0


def test_no_wait_when_callbacks_are_ready_or_the_loop_is_stopping(virtual):
    loop = virtual()
    trace = []
    loop.call_later(100, trace.append, "far")
    loop.call_soon(trace.append, "soon")
    run_once(loop)  # something ready: no wait
    loop.stop()
    loop.run_forever()  # stopping: no wait, although a timer is pending
    assert (trace, loop.waits) == (["soon"], [])


# ---------------------------------------------------------------- cancel


def test_cancelled_timers_never_run(loops):
    def scenario(loop):
        trace = []
        base = loop.time()
        loop.call_at(base + 0.01, trace.append, "cancelled at once").cancel()
        doomed = loop.call_at(base + 0.04, trace.append, "cancelled by a timer")
        loop.call_at(base + 0.02, lambda: (trace.append("cancels"), doomed.cancel()))
        # Due in the same pass as its canceller, or a later one: never runs either way.
        late = loop.call_at(base + 0.031, trace.append, "cancelled by a timer just before it")
        loop.call_at(base + 0.03, late.cancel)
        loop.call_at(base + 0.06, loop.stop)
        loop.run_forever()
        return trace + [doomed.cancelled(), late.cancelled()]

    assert loops.compare(scenario) == ["cancels", True, True]


def test_cancel_counts_each_scheduled_timer_once(loops):
    def scenario(loop):
        counts = []
        first = loop.call_later(10, noop)
        loop.call_later(20, noop)
        file_new_timers(loop)
        first.cancel()
        first.cancel()
        counts.append(loop._timer_cancelled_count)
        due = loop.call_later(-1, noop)
        file_new_timers(loop)
        # `due` is at the top of the heap when the pass starts, so `first` stays for now.
        run_once(loop)
        counts += [loop._timer_cancelled_count, len(loop._scheduled)]
        due.cancel()  # it already left the heap: nothing to count
        counts.append(loop._timer_cancelled_count)
        run_once(loop)  # now `first` is at the top: popped, and no longer counted
        counts += [loop._timer_cancelled_count, len(loop._scheduled)]
        return counts

    assert loops.compare(scenario) == [1, 1, 2, 1, 0, 1]


def test_cancelled_timers_at_the_top_of_the_heap_are_popped(loops):
    def scenario(loop):
        timers = [loop.call_later(10 + i, noop) for i in range(10)]
        file_new_timers(loop)
        for timer in timers[:3] + timers[7:8]:
            timer.cancel()
        before = (len(loop._scheduled), loop._timer_cancelled_count)
        run_once(loop)
        # The three at the top are gone; the one in the middle waits its turn.
        after = (len(loop._scheduled), loop._timer_cancelled_count)
        # Only the live timers' flags: asyncio clears a cancelled timer's when its
        # entry leaves the heap, ours when cancel() drops it from `_timers`.
        return before, after, [t._scheduled for t in timers if not t.cancelled()]

    before, after, flags = loops.compare(scenario)
    assert (before, after) == ((10, 4), (7, 1))
    assert flags == [True] * 6


def test_a_cancelled_timer_is_freed_at_once(el):
    # A deliberate difference: asyncio's heap keeps a cancelled TimerHandle (and
    # its Context) until its entry reaches the top or the heap is rebuilt; ours
    # keeps only its `when` in the heap, an orphan the count records.
    loop = el.new_event_loop()
    loop.call_later(10, noop)
    timer = loop.call_later(20, noop)
    file_new_timers(loop)
    ref = weakref.ref(timer)
    timer.cancel()
    del timer
    assert ref() is None
    assert (len(loop._scheduled), len(loop._timers), loop._timer_cancelled_count) == (2, 1, 1)
    loop.close()


@pytest.mark.parametrize(
    "count, cancelled, rebuilt",
    [
        (200, 150, True),  # 75% dead: rebuild
        (200, 100, False),  # exactly half: not "more than half"
        (101, 51, True),  # just above both thresholds
        (100, 60, False),  # heap too small to bother
    ],
)
def test_the_heap_is_rebuilt_when_most_timers_are_cancelled(loops, count, cancelled, rebuilt):
    def scenario(loop):
        timers = [loop.call_later(30 + i, noop, i) for i in range(count)]
        file_new_timers(loop)
        # Cancel the latest ones, so that none is at the top of the heap.
        for timer in timers[count - cancelled:]:
            timer.cancel()
        before = (len(loop._scheduled), loop._timer_cancelled_count)
        run_once(loop)
        live = sorted(t._args[0] for t in timers if not t.cancelled())
        return before, (len(loop._scheduled), loop._timer_cancelled_count), live

    before, after, live = loops.compare(scenario)
    assert before == (count, cancelled)
    assert after == ((count - cancelled, 0) if rebuilt else (count, cancelled))
    assert live == list(range(count - cancelled))


def test_the_rebuilt_heap_still_fires_in_order(virtual):
    loop = virtual()
    rng = random.Random(7)
    trace = []
    whens = [float(w) for w in rng.sample(range(1, 1000), 500)]
    timers = [loop.call_at(when, lambda i=i: trace.append((loop.time(), i))) for i, when in enumerate(whens)]
    survivors = set(rng.sample(range(500), 100))
    for i, timer in enumerate(timers):
        if i not in survivors:
            timer.cancel()
    loop.call_at(1000, loop.stop)
    run_once(loop)  # rebuilds the heap
    assert (len(loop._scheduled), loop._timer_cancelled_count) == (101, 0)
    loop.run_forever()
    # Each survivor fired at its own time, in order: the heap is a heap again.
    assert trace == sorted((whens[i], i) for i in survivors)
    assert loop._scheduled == []


def test_cancel_drops_the_timers_callback_and_arguments(loops):
    def scenario(loop):
        argument = Box()
        ref = weakref.ref(argument)
        timer = loop.call_later(30, noop, argument)
        del argument
        gc.collect()
        alive = ref() is not None
        timer.cancel()
        gc.collect()
        return alive, ref() is not None

    assert loops.compare(scenario) == (True, False)


@pytest.mark.parametrize("filed", [True, False], ids=["filed", "not yet filed"])
def test_close_clears_the_timers(loops, filed):
    def scenario(loop):
        argument = Box()
        ref = weakref.ref(argument)
        loop.call_later(30, noop, argument)
        loop.call_at(loop.time() + 60, noop)
        del argument
        if filed:
            file_new_timers(loop)
        scheduled = len(loop._scheduled)
        loop.close()
        gc.collect()
        return scheduled, len(loop._scheduled), ref() is not None

    # Not yet filed, ours has nothing in the heap (asyncio's has 2); either way close() frees all.
    theirs, ours = loops.run(scenario)
    assert theirs == (2, 0, False)
    assert ours == ((2 if filed else 0), 0, False)


# ---------------------------------------------------------------- long waits


def test_the_wait_is_capped_at_one_day(virtual_loops):
    def scenario(loop):
        fired = []
        loop.call_later(2.5 * DAY, lambda: (fired.append(loop.time()), loop.stop()))
        loop.run_forever()
        return loop.waits, fired

    assert virtual_loops.compare(scenario) == ([DAY, DAY, DAY / 2], [2.5 * DAY])


def test_a_short_timer_after_a_long_one_is_not_delayed(virtual_loops):
    def scenario(loop):
        trace = []
        loop.call_later(3 * DAY, trace_at(loop, trace, "3 days"))
        loop.call_later(10, lambda: (
            trace_at(loop, trace, "10 s")(), loop.call_later(5, trace_at(loop, trace, "15 s"))
        ))
        loop.call_later(3 * DAY + 1, loop.stop)
        loop.run_forever()
        return trace, loop.waits

    trace, waits = virtual_loops.compare(scenario)
    assert trace == [(10.0, "10 s"), (15.0, "15 s"), (3.0 * DAY, "3 days")]
    assert waits == [10.0, 5.0, DAY, DAY, DAY - 15, 1.0]


# ---------------------------------------------------------------- real time


def test_a_timer_never_fires_early(loops):
    def scenario(loop):
        resolution = time.get_clock_info("monotonic").resolution
        fired = []
        start = time.monotonic()
        loop.call_later(0.05, lambda: (fired.append(time.monotonic() - start), loop.stop()))
        loop.run_forever()
        (elapsed,) = fired
        return [elapsed >= 0.05 - resolution, elapsed < 2.0]

    assert loops.compare(scenario) == [True, True]


def test_waiting_for_a_timer_does_not_spin(el, new_loop):
    class CountingLoop(el.EventLoop):
        passes = 0

        def _run_once(self):
            self.passes += 1
            el.EventLoop._run_once(self)

    loop = new_loop(CountingLoop)
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    # One wait, perhaps a few more if the OS wakes us a hair early: never thousands.
    assert 1 <= loop.passes < 20


def test_time_is_the_monotonic_clock(loops):
    def scenario(loop):
        before = time.monotonic()
        now = loop.time()
        after = time.monotonic()
        return before <= now <= after

    assert loops.compare(scenario) is True


def test_when_is_the_absolute_due_time(el, loop):
    before = loop.time()
    timer = loop.call_later(10, noop)
    after = loop.time()
    assert before + 10 <= timer.when() <= after + 10
    assert loop.call_at(1234.5, noop).when() == 1234.5
    assert type(timer) is el.TimerHandle and isinstance(timer, el.Handle)


# ---------------------------------------------------------------- arguments, context, errors


def test_call_later_and_call_at_pass_arguments_and_context(loops):
    def scenario(loop):
        trace = []
        context = contextvars.copy_context()
        context.run(label.set, "given")
        record = lambda *args: trace.append((args, label.get()))  # noqa: E731
        label_token = label.set("at schedule time")
        try:
            loop.call_later(0, record, 1, "two")
            loop.call_at(loop.time(), record, 3, context=context)
            loop.call_later(0, record, context=context)
        finally:
            label.reset(label_token)
        run_once(loop)
        return trace

    assert loops.compare(scenario) == [
        ((1, "two"), "at schedule time"), ((3,), "given"), ((), "given"),
    ]


def test_none_delay_and_none_when_are_type_errors(loops):
    def scenario(loop):
        messages = []
        for attempt in (lambda: loop.call_later(None, noop), lambda: loop.call_at(None, noop)):
            with pytest.raises(TypeError) as info:
                attempt()
            messages.append(str(info.value))
        return messages + [len(loop._scheduled)]

    assert loops.compare(scenario) == ["delay must not be None", "when cannot be None", 0]


def test_timers_on_a_closed_loop_raise(loops):
    def scenario(loop):
        loop.close()
        messages = []
        for attempt in (lambda: loop.call_later(1, noop), lambda: loop.call_at(1, noop)):
            with pytest.raises(RuntimeError) as info:
                attempt()
            messages.append(str(info.value))
        return messages

    assert loops.compare(scenario) == ["Event loop is closed"] * 2


def test_call_at_refuses_a_non_callable(el, loop):
    with pytest.raises(TypeError, match=r"^a callable object was expected by call_at\(\), got 'noop'$"):
        loop.call_at(1, "noop")
    with pytest.raises(TypeError, match=r"call_at\(\)"):  # call_later goes through call_at, as asyncio's
        loop.call_later(1, 42)
    assert loop._scheduled == []


async def _coroutine_function():
    pass


def test_debug_checks_on_timers_like_asyncio(loops):
    def scenario(loop):
        loop.set_debug(True)
        trace = []
        for callback in (_coroutine_function, "noop"):
            with pytest.raises(TypeError) as info:
                loop.call_later(1, callback)
            trace.append(str(info.value))

        def from_thread():
            try:
                loop.call_later(0, trace.append, "must not be scheduled")
            except RuntimeError as error:
                trace.append(str(error))

        def in_loop():
            thread = threading.Thread(target=from_thread)
            thread.start()
            thread.join()
            loop.stop()

        loop.call_soon(in_loop)
        loop.run_forever()
        return trace + [len(loop._scheduled)]

    assert loops.compare(scenario) == [
        "coroutines cannot be used with call_at()",
        "a callable object was expected by call_at(), got 'noop'",
        "Non-thread-safe operation invoked on an event loop other than the current one",
        0,
    ]


def _fail():
    raise ValueError("in a timer")


def test_a_raising_timer_goes_to_the_exception_handler(loops):
    def scenario(loop):
        trace = []
        loop.set_exception_handler(lambda loop, context: trace.append(
            (context["message"], repr(context["exception"]), context["handle"] is timer)
        ))
        timer = loop.call_later(0.01, _fail)
        loop.call_later(0.02, lambda: (trace.append("the loop goes on"), loop.stop()))
        loop.run_forever()
        return trace

    line = _fail.__code__.co_firstlineno
    assert loops.compare(scenario) == [
        (f"Exception in callback _fail() at {__file__}:{line}", "ValueError('in a timer')", True),
        "the loop goes on",
    ]


# ---------------------------------------------------------------- TimerHandle


REPR_CASES = {
    "builtin": (12.5, print, ("x",)),
    "function": (0.0, noop, (1, 2)),
    "partial": (123456.789, functools.partial(noop, 1, k=2), (3,)),
    "negative-when": (-1.5, other, ()),
    "integer-when": (7, noop, ()),
}


@pytest.mark.parametrize("case", list(REPR_CASES))
def test_timer_handle_repr_equals_asyncios(el, new_loop, case):
    when, callback, args = REPR_CASES[case]
    reference_loop = new_loop(asyncio.new_event_loop)
    ours = el.TimerHandle(when, callback, args, new_loop())
    theirs = events.TimerHandle(when, callback, args, reference_loop)
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith(f"<TimerHandle when={when} ")
    ours.cancel(), theirs.cancel()
    assert repr(ours) == repr(theirs) == f"<TimerHandle cancelled when={when}>"


def test_timer_repr_from_call_at_equals_asyncios(loops):
    def scenario(loop):
        timer = loop.call_at(99.25, noop, "arg")
        return repr(timer)

    arguments = "('arg')" if sys.version_info < (3, 13) else "()"  # 3.13: only in debug mode
    assert loops.compare(scenario).startswith(f"<TimerHandle when=99.25 noop{arguments} at ")


def _pairs(loop, TimerHandle):
    """Pairs of timers that exercise every branch of the comparisons."""
    a = TimerHandle(1.0, noop, (1,), loop)
    return [
        (a, a),
        (a, TimerHandle(1.0, noop, (1,), loop)),  # equal, distinct objects
        (a, TimerHandle(1.0, other, (1,), loop)),  # same when, other callback
        (a, TimerHandle(1.0, noop, (2,), loop)),  # same when, other args
        (a, TimerHandle(2.0, noop, (1,), loop)),  # later
        (TimerHandle(3.0, noop, (1,), loop), a),  # earlier
    ]


def _comparisons(loop, TimerHandle, op):
    return [op(x, y) for x, y in _pairs(loop, TimerHandle)] + [op(y, x) for x, y in _pairs(loop, TimerHandle)]


@pytest.mark.parametrize("op", [pytest.param(getattr(operator, name), id=name) for name in ("lt", "le", "eq", "ne", "gt", "ge")])
def test_timer_comparisons_equal_asyncios(el, new_loop, op):
    ours = _comparisons(new_loop(), el.TimerHandle, op)
    theirs = _comparisons(new_loop(asyncio.new_event_loop), events.TimerHandle, op)
    assert ours == theirs


def test_timers_sort_by_when_and_hash_by_when(el, loop):
    rng = random.Random(3)
    timers = [el.TimerHandle(rng.uniform(0, 10), noop, (i,), loop) for i in range(50)]
    assert [t.when() for t in sorted(timers)] == sorted(t.when() for t in timers)
    assert {hash(t) for t in timers} == {hash(t.when()) for t in timers}
    a, b = el.TimerHandle(1.0, noop, (), loop), el.TimerHandle(1.0, noop, (), loop)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    b.cancel()
    assert a != b  # a cancelled timer differs from a live one


def test_timers_do_not_compare_with_other_objects(loops):
    def scenario(loop):
        timer = loop.call_at(1.0, noop)
        handle = loop.call_soon(noop)
        outcome = [timer == 1.0, timer != 1.0, timer == handle]
        for attempt in (lambda: timer < 1.0, lambda: timer < handle, lambda: timer >= "x"):
            try:
                attempt()
                outcome.append("no error")
            except TypeError:
                outcome.append("TypeError")
        return outcome

    assert loops.compare(scenario) == [False, True, False, "TypeError", "TypeError", "TypeError"]


# ---------------------------------------------------------------- mixes, two loops


def test_the_chapters_two_loop_scenario(virtual_loops):
    """The chapter's "same scenario, two loops", on virtual clocks: in real time only a stall of
    30 ms could swap the last two entries, and a test must not depend on the machine's speed."""

    def scenario(loop):
        trace = []
        loop.call_later(0.06, trace.append, "60 ms")
        loop.call_later(0.02, trace.append, "20 ms")
        loop.call_later(0.04, trace.append, "40 ms, cancelled").cancel()
        loop.call_soon(trace.append, "soon")
        loop.call_at(loop.time() + 0.03, lambda: loop.call_later(0.0, trace.append, "scheduled at 30 ms"))
        loop.call_later(0.1, loop.stop)
        loop.run_forever()
        return trace

    assert virtual_loops.compare(scenario) == ["soon", "20 ms", "scheduled at 30 ms", "60 ms"]


def test_stop_leaves_pending_timers_for_the_next_run(virtual_loops):
    def scenario(loop):
        trace = []
        loop.call_at(1, lambda: (trace.append(("stops", loop.time())), loop.stop()))
        loop.call_at(4, lambda: trace.append(("after the stop", loop.time())))
        loop.run_forever()
        trace.append(("returned", loop.time(), len(loop._scheduled)))
        loop.call_at(6, loop.stop)
        loop.run_forever()
        return trace

    assert virtual_loops.compare(scenario) == [("stops", 1), ("returned", 1, 1), ("after the stop", 4)]


def test_stop_in_a_batch_with_due_timers(loops):
    def scenario(loop):
        trace = []
        base = loop.time()
        # Due by the first pass: ready callbacks, then the due timers, all in one batch.
        loop.call_at(base - 2, trace.append, "overdue 2 s")
        loop.call_at(base - 1, lambda: (trace.append("overdue 1 s: stop"), loop.stop(),
                                        loop.call_soon(trace.append, "next run")))
        loop.call_at(base - 0.5, trace.append, "overdue 0.5 s")
        loop.call_soon(trace.append, "soon")
        loop.run_forever()
        trace.append("-- returned --")
        run_once(loop)
        return trace

    assert loops.compare(scenario) == [
        "soon", "overdue 2 s", "overdue 1 s: stop", "overdue 0.5 s", "-- returned --", "next run",
    ]


def test_a_mix_of_soon_later_cancel_and_stop(virtual_loops):
    def scenario(loop):
        trace = []
        handles = {}

        def tick(n):
            trace.append((f"tick {n}", loop.time()))
            if n == 2:
                handles["t5"].cancel()
                loop.call_soon(lambda: trace.append(("soon from tick 2", loop.time())))
            if n < 4:
                loop.call_later(2, tick, n + 1)

        loop.call_soon(tick, 0)
        handles["t5"] = loop.call_at(5, trace.append, "never: cancelled by tick 2")
        loop.call_at(7, lambda: trace.append(("at 7", loop.time())))
        loop.call_soon(trace.append, "never: cancelled at once").cancel()
        loop.call_at(3.5, lambda: (trace.append(("stop", loop.time())), loop.stop()))
        loop.call_at(6, lambda: loop.call_later(0, lambda: trace.append(("later(0) at 6", loop.time()))))
        loop.run_forever()
        trace.append("-- returned --")
        loop.call_at(10, loop.stop)
        loop.run_forever()
        return trace

    assert virtual_loops.compare(scenario) == [
        ("tick 0", 0), ("tick 1", 2), ("stop", 3.5), "-- returned --",
        ("tick 2", 4), ("soon from tick 2", 4), ("tick 3", 6), ("later(0) at 6", 6), ("at 7", 7),
        ("tick 4", 8),
    ]


def test_a_timer_cancelled_by_an_earlier_timer_of_the_same_batch(virtual_loops):
    def scenario(loop):
        trace = []
        victim = loop.call_at(1.5, trace.append, "never")
        loop.call_at(1.0, victim.cancel)
        loop.call_at(1.2, trace.append, "between")

        def slow_callback():  # on a virtual clock, a callback that takes 2 s
            loop.now += 2.0

        loop.call_soon(slow_callback)
        loop.call_at(3, loop.stop)
        loop.run_forever()
        return trace, loop.waits

    # The three timers are due in one batch, in `when` order: the victim is skipped.
    assert virtual_loops.compare(scenario) == (["between"], [1.0])
