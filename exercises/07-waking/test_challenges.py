"""Checks for chapter 7's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 7`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real threads and real signals, on the course's real loop. The loop runs in the
main thread (signal handlers need it); the other threads are daemons, so that
one stuck in a wrong answer cannot keep the test run from ending. Where a check
waits for something, a backstop timer stops the loop after BACKSTOP seconds:
what takes milliseconds when right fails the check instead of hanging it.

Signals: SIGUSR1 and SIGUSR2, which nothing else in a test run uses. Their
default action kills the process, so during each check a Python handler of
the checks' own catches a stray one (a signal your code did not take over)
and fails the check instead; and a check never sends a signal whose
disposition is the default.

BatchingLoop's checks make the races certain instead of rare, as the chapter
does with its `time.sleep`, but with events instead of sleeps: they hold the
loop just after it looked at `_ready`, or a thread just after it appended or
just after it wrote, until the other side has done its step.
"""
import asyncio
import collections
import contextlib
import gc
import os
import random
import signal
import threading
import time
import traceback

import pytest

import eventloop

BACKSTOP = 2.0  # seconds; everything here takes milliseconds
WAKE = eventloop.EventLoop.call_soon_threadsafe  # the chapter's own, for the checks' plumbing


# ── helpers ────────────────────────────────────────────────────────────────

@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [(message, exception), ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(
        (context.get("message"), context.get("exception"))))
    return caught


@pytest.fixture(autouse=True)
def no_collection_before_the_report():
    """Collect the check's garbage after it, not while pytest reports its failure.

    A wrong answer leaves futures whose exception nobody retrieved. When the
    garbage collector frees one, asyncio logs it with a traceback, and Python
    3.11's traceback module parses source with `ast` to place its carets. If
    that happens while pytest itself parses source to report a failure, 3.11's
    `ast` raises SystemError ("AST constructor recursion depth mismatch") and
    the whole run stops. So: no collection during the check and its report;
    after it, one collection of the young generations, which hold everything
    the check made (nothing was collected, so nothing grew old).
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


@pytest.fixture(autouse=True)
def strays():
    """The SIGUSR1/SIGUSR2 that reached the checks' own handler rather than the loop's."""
    caught = []

    def stray(signum, frame):
        caught.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stray) for sig in (signal.SIGUSR1, signal.SIGUSR2)}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(wakeup_fd)  # whatever a wrong answer left there


def send(sig, trace):
    """Send `sig` to this process — unless nobody handles it, which would kill the test run."""
    if signal.getsignal(sig) == signal.SIG_DFL:
        trace.append(f"{sig.name} not sent: nobody handles it any more")
    else:
        os.kill(os.getpid(), sig)


def count_sleeps(loop):
    """Wrap the loop's selector: loop.sleeps counts the select() calls that may block.

    A thread waits for `loop.sleeps` to grow to know that the loop has looked
    at `_ready` for the last time before sleeping: from then on only a byte on
    the self-pipe wakes it. `loop.after_sleep`, if set, runs in the loop's
    thread when such a select() returns (before the loop lowers _may_sleep).
    """
    loop.sleeps = 0
    loop.slept = threading.Condition()
    loop.after_sleep = None
    real_select = loop._selector.select

    def select(timeout=None):
        if timeout is not None and timeout <= 0:
            return real_select(timeout)
        with loop.slept:
            loop.sleeps += 1
            loop.slept.notify_all()
        events = real_select(timeout)
        if loop.after_sleep is not None:
            loop.after_sleep()
        return events

    loop._selector.select = select


def wait_for_sleep(loop, after):
    """In a thread: wait until the loop's sleep number `after` + 1 has begun."""
    with loop.slept:
        if not loop.slept.wait_for(lambda: loop.sleeps > after, BACKSTOP):
            raise AssertionError(f"the loop did not go to sleep within {BACKSTOP:g} s")


def run_with_threads(loop, *works, stop_when_done=True):
    """Run the loop while each `work()` runs in a thread of its own.

    With stop_when_done, the loop stops once every work() has returned;
    without, only when a callback of the scenario stops it — so that nothing
    but the calls under test can wake it. Returns whether the backstop had to
    stop the loop. A thread's exception is raised here; a thread still running
    after the backstop fails the check.
    """
    fired, failures, left = [], [], [len(works)]
    lock = threading.Lock()

    def target(work):
        try:
            work()
        except BaseException as error:
            failures.append(error)
        finally:
            with lock:
                left[0] -= 1
                if not left[0] and stop_when_done:
                    WAKE(loop, loop.stop)

    def stop_on_backstop():
        fired.append(True)
        loop.stop()

    threads = [threading.Thread(target=target, args=(work,), daemon=True) for work in works]
    backstop = loop.call_later(BACKSTOP, stop_on_backstop)
    for thread in threads:
        loop.call_soon(thread.start)
    loop.run_forever()
    backstop.cancel()
    deadline = time.monotonic() + 1.0  # the loop has stopped: a thread still busy is stuck
    for thread in threads:
        thread.join(max(0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        pytest.fail("the loop had stopped" + (" (the backstop stopped it)" if fired else "")
                    + ", and a thread was still blocked in your code: did the loop ever wake up "
                    "to run what the thread was waiting for?", pytrace=False)
    if failures:
        raise failures[0]
    return bool(fired)


# ── 1. call_from_thread ─────────────────────────────────────────────────────

def test_call_from_thread_runs_fn_on_the_loop_and_returns_its_result(challenges, loop, errors):
    count_sleeps(loop)
    loop_thread = threading.get_ident()
    results = []

    def multiply(a, b):
        return threading.get_ident(), a * b

    def work():
        wait_for_sleep(loop, 0)
        results.append(challenges.call_from_thread(loop, multiply, 6, 7))
        results.append(challenges.call_from_thread(loop, lambda: None))

    backstop_fired = run_with_threads(loop, work)
    assert results == [(loop_thread, 42), None], (
        "fn must run in the loop's thread (the one inside run_forever), and its result come "
        f"back to the caller; got {results!r}"
    )
    assert not backstop_fired, (
        "the loop slept until the backstop: schedule fn with call_soon_threadsafe, which wakes "
        "a sleeping loop; call_soon does not"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_call_from_thread_raises_fns_exception_in_the_calling_thread(challenges, loop, errors):
    count_sleeps(loop)
    error = KeyError("from the loop")
    caught = []

    def fails():
        raise error

    def work():
        wait_for_sleep(loop, 0)
        try:
            challenges.call_from_thread(loop, fails)
        except BaseException as raised:
            caught.append(raised)

    backstop_fired = run_with_threads(loop, work)
    assert caught, "call_from_thread returned, although fn raised"
    assert caught[0] is error, f"the caller must get fn's own exception, not {caught[0]!r}"
    assert "fails" in [frame.name for frame in traceback.extract_tb(error.__traceback__)], (
        "the exception's traceback must show where fn raised it"
    )
    assert not errors, (
        f"the loop's exception handler got {errors!r}: the exception is the caller's, not the loop's"
    )
    assert not backstop_fired


def test_call_from_thread_in_the_loops_own_thread_refuses(challenges, loop):
    class Deadlock(Exception):
        pass

    def alarm(signum, frame):
        raise Deadlock

    outcome, ran = [], []

    def in_the_loop():
        try:
            outcome.append(challenges.call_from_thread(loop, ran.append, "fn ran"))
        except Deadlock:
            outcome.append("deadlock")
        except Exception as error:
            outcome.append(error)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            loop.stop()

    # Wrong answers wait here for ever; the checks' own alarm gets them out.
    previous_handler = signal.signal(signal.SIGALRM, alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        loop.call_soon(in_the_loop)
        loop.run_forever()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        signal.setitimer(signal.ITIMER_REAL, *previous_timer)
    assert outcome != ["deadlock"], (
        "called in the loop's own thread, call_from_thread waited for a callback that only "
        "that thread could run: a deadlock. Raise RuntimeError instead"
    )
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError) \
        and not isinstance(outcome[0], NotImplementedError), f"expected RuntimeError, got {outcome!r}"
    assert not ran, "fn must not run when the call is refused"


def test_call_from_thread_from_eight_threads(challenges, loop, errors):
    results = collections.defaultdict(list)

    def work(n):
        for k in range(50):
            results[n].append(challenges.call_from_thread(loop, pow, n, k % 3))

    backstop_fired = run_with_threads(loop, *[lambda n=n: work(n) for n in range(8)])
    assert not backstop_fired
    for n in range(8):
        assert results[n] == [n ** (k % 3) for k in range(50)], (
            f"thread {n} got results that were not its own"
        )
    assert not errors, f"the loop's exception handler got {errors!r}"


# ── 2. graceful ─────────────────────────────────────────────────────────────

@pytest.fixture
def no_task_left(loop):
    """After the check, finish the tasks a wrong answer left running (no "destroyed but pending")."""
    yield
    for _ in range(3):
        tasks = asyncio.all_tasks(loop)
        if not tasks:
            return
        for task in tasks:
            task.cancel()
        try:
            loop.run_until_complete(asyncio.wait(tasks, timeout=BACKSTOP))
        except RuntimeError:
            pass  # a stop() from the answer under test ended the run early: try again


def run_until_stopped(loop):
    """Run the loop until it stops; True if only the backstop stopped it."""
    fired = []
    backstop = loop.call_later(BACKSTOP, lambda: (fired.append(True), loop.stop()))
    loop.run_forever()
    backstop.cancel()
    return bool(fired)


def test_graceful_cancels_every_task_and_stops_once_they_have_finished(
        challenges, loop, strays, errors, no_task_left):
    trace = []

    async def cleans_up(name, passes):
        try:
            await asyncio.sleep(BACKSTOP * 10)
        finally:
            for _ in range(passes):  # a cleanup that takes a while: closing files, saying goodbye
                await asyncio.sleep(0)
            trace.append(f"{name} cleaned up")

    async def refuses():
        try:
            await asyncio.sleep(BACKSTOP * 10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)
            trace.append("refuser returned")
            return "refused"

    tasks = [loop.create_task(cleans_up("quick", 0)), loop.create_task(cleans_up("slow", 20)),
             loop.create_task(refuses())]
    challenges.graceful(loop, signal.SIGUSR1, signal.SIGUSR2)
    loop.call_later(0.01, send, signal.SIGUSR1, trace)
    backstop_fired = run_until_stopped(loop)
    trace.append("the loop stopped")
    assert not backstop_fired, f"the signal did not stop the loop (trace: {trace})"
    assert not strays, f"{strays} reached Python's own handler: graceful must handle the signals it is given"
    assert sorted(trace[:3]) == ["quick cleaned up", "refuser returned", "slow cleaned up"] \
        and trace[3:] == ["the loop stopped"], (
        f"every task must have finished — its cleanup done — before the loop stops: {trace}"
    )
    assert all(task.done() for task in tasks)
    assert [task.cancelled() for task in tasks] == [True, True, False] and tasks[2].result() == "refused"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_graceful_waits_for_a_cleanup_that_fails(challenges, loop, strays, no_task_left):
    trace = []

    async def fails_at_once():
        try:
            await asyncio.sleep(BACKSTOP * 10)
        finally:
            raise ValueError("a cleanup that fails")

    async def cleans_up_slowly():
        try:
            await asyncio.sleep(BACKSTOP * 10)
        finally:
            await asyncio.sleep(0.02)
            trace.append("slow cleaned up")

    failing, slow = loop.create_task(fails_at_once()), loop.create_task(cleans_up_slowly())
    challenges.graceful(loop, signal.SIGUSR1)
    loop.call_later(0.01, send, signal.SIGUSR1, trace)
    backstop_fired = run_until_stopped(loop)
    trace.append("the loop stopped")
    assert not backstop_fired and not strays
    assert isinstance(failing.exception(), ValueError)
    assert trace == ["slow cleaned up", "the loop stopped"], (
        f"one task's cleanup failed; the loop must still wait for the others: {trace}"
    )


def test_graceful_without_tasks_stops_at_once(challenges, loop, strays, errors):
    trace = []
    challenges.graceful(loop, signal.SIGUSR1, signal.SIGUSR2)
    loop.call_later(0.01, send, signal.SIGUSR2, trace)
    backstop_fired = run_until_stopped(loop)
    assert not backstop_fired and not trace and not strays, (
        "with no task to wait for, the first signal stops the loop at once"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def second_signal_scenario(challenges, loop, first, second):
    """A task that refuses to finish sends the second signal when it is cancelled."""
    trace = []
    release = loop.create_future()

    async def stubborn():
        try:
            await asyncio.sleep(BACKSTOP * 10)
        except asyncio.CancelledError:
            trace.append("cancelled, not finishing")
            send(second, trace)
        while not release.done():
            try:
                await asyncio.shield(release)
            except asyncio.CancelledError:
                trace.append("cancelled again")
        trace.append("finished")

    task = loop.create_task(stubborn())
    challenges.graceful(loop, signal.SIGUSR1, signal.SIGUSR2)
    loop.call_later(0.01, send, first, trace)
    backstop_fired = run_until_stopped(loop)
    trace.append("the loop stopped")
    still_pending = not task.done()
    release.set_result(None)  # let it finish, so that no task is left pending
    loop.run_until_complete(task)
    return backstop_fired, still_pending, trace


def test_a_second_signal_stops_at_once(challenges, loop, strays, no_task_left):
    backstop_fired, still_pending, trace = second_signal_scenario(
        challenges, loop, signal.SIGUSR1, signal.SIGUSR2)
    assert not strays, f"{strays} reached Python's own handler: graceful must handle every signal it is given"
    assert not backstop_fired and still_pending, (
        f"the second signal must stop the loop at once, although a task has not finished: {trace}"
    )
    assert trace[:2] == ["cancelled, not finishing", "the loop stopped"], trace


def test_the_same_signal_twice_stops_at_once(challenges, loop, strays, no_task_left):
    backstop_fired, still_pending, trace = second_signal_scenario(
        challenges, loop, signal.SIGUSR2, signal.SIGUSR2)
    assert not strays and not backstop_fired and still_pending, (
        f"the second signal, even the same one again, must stop the loop at once: {trace}"
    )
    assert trace[:2] == ["cancelled, not finishing", "the loop stopped"], trace


def test_graceful_takes_the_signals_through_the_loop(challenges, loop):
    before = signal.getsignal(signal.SIGUSR2)
    challenges.graceful(loop, signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR2) is before, "graceful must leave the other signals alone"
    assert loop.remove_signal_handler(signal.SIGUSR1) is True, (
        "install the handlers with loop.add_signal_handler: then the signal is an ordinary "
        "callback of the loop — not a Python handler run between two bytecodes of whatever "
        "callback is running — and closing the loop gives the signal back"
    )


# ── 3. Hardcore: BatchingLoop ───────────────────────────────────────────────

class WatchedReady(collections.deque):
    """The loop's _ready, which can hold the loop or a thread at the moments of the race.

    `on_look(n)` runs in the loop's thread when the loop looks at `_ready`
    while `_may_sleep` is up: that is `_wait`'s look, just before it sleeps.
    `on_append()` runs in any other thread just after it appended a handle.
    """

    def __init__(self, loop):
        super().__init__()
        self.loop = loop
        self.on_look = None
        self.on_append = None

    def __len__(self):
        n = super().__len__()
        hook = self.on_look
        if hook is not None and self.loop._may_sleep and threading.get_ident() == self.loop._thread_id:
            hook(n)
        return n

    def append(self, handle):
        super().append(handle)
        hook = self.on_append
        if hook is not None and threading.get_ident() != self.loop._thread_id:
            hook()


@contextlib.contextmanager
def watched_batching_loop(challenges):
    """Your BatchingLoop, counting its writes (loop.writes) and its sleeps (loop.sleeps).

    `loop.after_write`, if set, runs in the writing thread after each real
    write to the self-pipe.
    """

    class Watched(challenges.BatchingLoop):
        def _write_to_self(self):
            self.writes += 1
            super()._write_to_self()
            if self.after_write is not None:
                self.after_write()

    loop = Watched.__new__(Watched)
    loop.writes, loop.after_write = 0, None
    try:
        loop.__init__()
    except BaseException:
        loop._closed = True  # half-built: nothing to close, and its __del__ must not warn
        raise
    try:
        assert isinstance(loop, eventloop.EventLoop), "BatchingLoop must be a subclass of eventloop.EventLoop"
        loop._ready = WatchedReady(loop)
        count_sleeps(loop)
        yield loop
    finally:
        loop.close()


def test_batching_loop_is_woken_for_each_sleep(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:

        def arrived(n, done):
            ran.append((n, loop.sleeps))  # the loop's next sleep will be number sleeps + 1
            done.set()
            if n == 4:
                loop.stop()

        def work():
            for n in range(5):
                wait_for_sleep(loop, ran[-1][1] if ran else 0)
                done = threading.Event()
                loop.call_soon_threadsafe(arrived, n, done)
                if not done.wait(BACKSTOP):
                    raise AssertionError(f"wake-up {n}: the loop slept on, its callback in _ready")

        backstop_fired = run_with_threads(loop, work, stop_when_done=False)
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4] and not backstop_fired, (
        "each time the loop sleeps, a call from a thread must wake it: whatever says 'a byte is "
        "on its way' must be cleared once the loop has drained the self-pipe"
    )


def test_batching_loop_writes_one_byte_for_many_calls_while_it_sleeps(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:
        calls_made = threading.Event()

        def hold_the_loop_asleep():
            # The first byte woke the selector; hold the loop there, _may_sleep still up,
            # while the thread makes its other calls.
            loop.after_sleep = None
            calls_made.wait(BACKSTOP)

        def work():
            wait_for_sleep(loop, 0)
            loop.after_sleep = hold_the_loop_asleep
            before = loop.writes
            for n in range(100):
                loop.call_soon_threadsafe(ran.append, n)
            work.writes = loop.writes - before
            calls_made.set()

        backstop_fired = run_with_threads(loop, work)
    assert ran == list(range(100)) and not backstop_fired
    assert work.writes == 1, (
        f"100 calls while the loop slept wrote {work.writes} bytes to the self-pipe: one wakes "
        "it, the others are system calls for nothing"
    )


def test_batching_loop_writes_nothing_while_it_is_awake(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:
        calls_made = threading.Event()
        # A callback that holds the loop awake, in the pass after the thread started.
        loop.call_soon(loop.call_soon, calls_made.wait, BACKSTOP)

        def work():
            before = loop.writes
            for n in range(100):
                loop.call_soon_threadsafe(ran.append, n)
            work.writes = loop.writes - before
            calls_made.set()

        backstop_fired = run_with_threads(loop, work)
    assert ran == list(range(100)) and not backstop_fired
    assert work.writes == 0, (
        f"100 calls while the loop ran a callback wrote {work.writes} bytes: an awake loop looks "
        "at _ready before it sleeps, so it needs none (keep the chapter's _may_sleep)"
    )


def test_batching_loop_loses_no_wake_up_just_after_the_look(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:
        go, called = threading.Event(), threading.Event()

        def look(n):
            if n == 0:  # the loop found _ready empty, and will sleep: the thread calls now
                loop._ready.on_look = None
                go.set()
                called.wait(BACKSTOP)

        def first():
            ran.append("first")
            loop._ready.on_look = look  # the next look, once this wake-up is over

        def last(what):
            ran.append(what)
            loop.stop()

        def work():
            wait_for_sleep(loop, 0)
            loop.call_soon_threadsafe(first)  # one ordinary wake-up, to begin with
            if not go.wait(BACKSTOP):
                raise AssertionError("the loop never looked at _ready again with _may_sleep up")
            loop.call_soon_threadsafe(last, "second")
            called.set()

        backstop_fired = run_with_threads(loop, work, stop_when_done=False)
    assert ran == ["first", "second"] and not backstop_fired, (
        "a thread called just after the loop looked at _ready, and the loop slept until the "
        "backstop: the thread must have believed a byte was still on its way. Clear that "
        "belief before the loop raises _may_sleep and looks, not after"
    )


def test_batching_loop_loses_no_wake_up_just_after_a_write(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:

        def until_the_loop_sleeps_again():
            loop.after_write = None
            wait_for_sleep(loop, 1)  # the loop woke, drained the pipe, and sleeps again

        def work():
            wait_for_sleep(loop, 0)
            loop.after_write = until_the_loop_sleeps_again
            loop.call_soon_threadsafe(ran.append, "first")
            loop.call_soon_threadsafe(last, "second")

        def last(what):
            ran.append(what)
            loop.stop()

        backstop_fired = run_with_threads(loop, work, stop_when_done=False)
    assert ran == ["first", "second"] and not backstop_fired, (
        "the loop drained the self-pipe while a thread was between its write and what it did "
        "after, and the next call did not wake the loop: say 'a byte is on its way' before "
        "writing it, never after"
    )


def test_batching_loop_loses_no_wake_up_when_two_threads_call_at_once(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:
        go, called = threading.Event(), threading.Event()

        def after_first_append():
            loop._ready.on_append = None
            go.set()
            called.wait(BACKSTOP)  # the other thread makes its whole call now

        def arrived(what):
            ran.append(what)
            if len(ran) == 2:
                loop.stop()

        def first():
            wait_for_sleep(loop, 0)
            loop._ready.on_append = after_first_append
            loop.call_soon_threadsafe(arrived, "first")

        def second():
            if not go.wait(BACKSTOP):
                raise AssertionError("the first thread never appended")
            loop.call_soon_threadsafe(arrived, "second")
            called.set()

        backstop_fired = run_with_threads(loop, first, second, stop_when_done=False)
    assert sorted(ran) == ["first", "second"] and not backstop_fired, (
        "two threads appended while the loop slept, each between the other's steps, and "
        "neither woke it: each must decide from a flag it can trust, not from what it "
        "sees in _ready"
    )


def test_batching_loop_under_eight_threads(challenges):
    threads, calls = 8, 300
    ran = []
    with watched_batching_loop(challenges) as loop:

        def arrived(seed):
            ran.append(seed)
            if len(ran) == threads * calls:
                loop.stop()

        def work(seed):
            pause = random.Random(seed)
            for n in range(calls):
                loop.call_soon_threadsafe(arrived, seed)
                if n % 50 == 0:
                    time.sleep(pause.random() * 0.002)  # let the loop run dry and go to sleep

        backstop_fired = run_with_threads(loop, *[lambda seed=seed: work(seed) for seed in range(threads)],
                                          stop_when_done=False)
    assert len(ran) == threads * calls and not backstop_fired, (
        f"{len(ran)} of {threads * calls} callbacks ran before the backstop: a wake-up was lost"
    )


def test_batching_loop_still_hears_signals(challenges, strays):
    got = []
    with watched_batching_loop(challenges) as loop:
        loop.add_signal_handler(signal.SIGUSR1, lambda: (got.append("SIGUSR1"), loop.stop()))
        loop.call_later(0.01, send, signal.SIGUSR1, got)
        backstop_fired = run_until_stopped(loop)
    assert got == ["SIGUSR1"] and not backstop_fired and not strays, (
        "a signal's byte reaches the self-pipe too (signal.set_wakeup_fd): whatever you read "
        "from it must still go to _process_self_data"
    )


def test_batching_loop_keeps_the_contract_of_call_soon_threadsafe(challenges):
    ran = []
    with watched_batching_loop(challenges) as loop:
        loop.call_soon_threadsafe(ran.append, "cancelled").cancel()
        handle = loop.call_soon_threadsafe(ran.append, "ran")
        assert isinstance(handle, eventloop.Handle)
        loop.call_soon_threadsafe(loop.stop)
        loop.run_forever()
    assert ran == ["ran"]
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon_threadsafe(print)
