"""Checks for chapter 3's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 3`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

An exception raised inside a done callback does not reach the check: the loop
hands it to its exception handler and carries on. So every check here records
what reaches the handler (`errors`) and requires it to be empty.
"""
import asyncio

import pytest

import eventloop


@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [(message, exception), ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(
        (context.get("message"), context.get("exception"))))
    return caught


def one_pass(loop):
    loop.stop()
    loop.run_forever()


def passes(loop, n):
    for _ in range(n):
        one_pass(loop)


def settle(loop, future):
    """loop.run_until_complete(future), but a future that never settles fails instead of hanging."""
    guard = loop.call_later(1.0, loop.stop)
    try:
        return loop.run_until_complete(future)
    except RuntimeError as error:
        if "stopped before Future completed" not in str(error):
            raise
        pytest.fail(f"after a second, this future had still not settled: {future!r}",
                    pytrace=False)
    finally:
        guard.cancel()


def no_errors(errors):
    return (
        f"a done callback raised, and the loop's exception handler got {errors!r}: nothing "
        "reaches the caller, the error is only logged. Settling a future that is already "
        "done raises InvalidStateError; check done() first"
    )


class Watched(eventloop.Future):
    """A future that knows which callbacks are waiting on it (those not yet scheduled)."""

    def __init__(self, *, loop):
        super().__init__(loop=loop)
        self.waiting = []

    def add_done_callback(self, fn, *, context=None):
        if not self.done():
            self.waiting.append(fn)
        super().add_done_callback(fn, context=context)

    def remove_done_callback(self, fn):
        self.waiting = [f for f in self.waiting if f != fn]
        return super().remove_done_callback(fn)


# ── 1. first_completed ──────────────────────────────────────────────────────

def test_first_completed_takes_the_first_result_and_leaves_the_losers_alone(challenges, loop, errors):
    futures = [loop.create_future() for _ in range(3)]
    winner = challenges.first_completed(loop, *futures)
    assert winner not in futures and not winner.done(), "return a new, pending future"
    loop.call_later(0.01, futures[1].set_result, "second future")
    assert settle(loop, winner) == "second future", "the earliest input to be done wins"
    assert not futures[0].done() and not futures[2].done(), (
        "the losers are left alone (not cancelled), as asyncio.wait(FIRST_COMPLETED) leaves "
        "its pending futures: the caller decides what to do with them"
    )
    futures[0].set_result("late")
    futures[2].set_exception(KeyError("late"))
    futures[2].exception()  # retrieved: no "exception was never retrieved" log
    passes(loop, 2)
    assert winner.result() == "second future" and not errors, no_errors(errors)


def test_first_completed_settles_in_the_pass_after_the_input(challenges, loop, errors):
    a, b = loop.create_future(), loop.create_future()
    winner = challenges.first_completed(loop, a, b)
    assert not isinstance(winner, asyncio.Task), "done callbacks only: no task"
    loop.call_soon(a.set_result, "a")
    passes(loop, 2)  # one pass sets a's result, the next runs a's done callbacks
    assert winner.done(), (
        "a done callback on the input settles the returned future in the very next pass; "
        "a coroutine or a task (asyncio.wait) needs more passes: done callbacks only"
    )
    assert winner.result() == "a" and not errors, no_errors(errors)


def test_first_completed_two_inputs_done_in_the_same_pass(challenges, loop, errors):
    a, b, c = (loop.create_future() for _ in range(3))
    winner = challenges.first_completed(loop, a, b, c)

    def both():
        b.set_result("b")
        a.set_result("a")  # same callback, so same pass: both done callbacks are already queued

    loop.call_soon(both)
    passes(loop, 3)
    assert not errors, no_errors(errors) + (
        " — here the second input's callback ran after the first had settled the result: "
        "removing it from the inputs is too late, it was already scheduled"
    )
    assert winner.result() == "b", "b finished first (in the same pass as a, but before it)"


def test_first_completed_with_inputs_already_done(challenges, loop, errors):
    pending, second, third = (loop.create_future() for _ in range(3))
    second.set_result("second")
    third.set_result("third")
    winner = challenges.first_completed(loop, pending, second, third)
    passes(loop, 2)
    assert winner.done(), "inputs already done: the returned future settles in the next pass"
    assert winner.result() == "second", "of the inputs already done, the first in argument order wins"
    assert not errors, no_errors(errors)
    assert not pending.done()
    pending.cancel()


def test_first_completed_passes_on_exceptions_and_cancellation(challenges, loop, errors):
    a, b = loop.create_future(), loop.create_future()
    winner = challenges.first_completed(loop, a, b)
    error = KeyError("first")
    loop.call_soon(a.set_exception, error)
    with pytest.raises(KeyError) as raised:
        settle(loop, winner)
    assert raised.value is error, "the returned future fails with the input's exception object"
    assert not b.done(), "the loser is left alone"

    c, d = loop.create_future(), loop.create_future()
    winner = challenges.first_completed(loop, c, d)
    loop.call_soon(d.cancel)
    with pytest.raises(asyncio.CancelledError):
        settle(loop, winner)
    assert winner.cancelled(), (
        "the first input was cancelled: the returned future is cancelled too (cancel() it; "
        "set_exception(CancelledError()) makes a future that failed, not a cancelled one)"
    )
    assert not errors, no_errors(errors)
    b.cancel(), c.cancel()


def test_first_completed_leaves_no_callbacks_on_the_losers(challenges, loop, errors):
    shutdown = Watched(loop=loop)  # a future that outlives many races
    for n in range(3):
        request = loop.create_future()
        winner = challenges.first_completed(loop, shutdown, request)
        loop.call_soon(request.set_result, n)
        assert settle(loop, winner) == n
    assert shutdown.waiting == [], (
        f"after three races won by other inputs, the `shutdown` future still holds "
        f"{len(shutdown.waiting)} of your callbacks: remove them (remove_done_callback) once "
        "the returned future is done, or every race leaves one behind"
    )
    assert not errors, no_errors(errors)


def test_cancelling_the_result_leaves_the_inputs_alone(challenges, loop, errors):
    a, b = Watched(loop=loop), Watched(loop=loop)
    winner = challenges.first_completed(loop, a, b)
    winner.cancel()
    passes(loop, 2)
    assert not a.cancelled() and not b.cancelled(), (
        "cancelling the returned future must not cancel the inputs: the caller stopped "
        "waiting, the inputs are not theirs to stop (as with asyncio.wait)"
    )
    assert a.waiting == [] and b.waiting == [], (
        "the returned future was cancelled: take your callbacks back from the inputs "
        "(a callback on the returned future itself can do it)"
    )
    a.set_result("after")
    passes(loop, 2)
    assert not errors, no_errors(errors)
    b.cancel()


def test_first_completed_needs_an_input(challenges, loop):
    with pytest.raises(ValueError):
        challenges.first_completed(loop)  # else a future that no input can ever settle


def test_first_completed_works_with_tasks(challenges, loop, errors):
    async def nap(delay, value):
        await asyncio.sleep(delay)
        return value

    slow = loop.create_task(nap(1, "slow"))
    fast = loop.create_task(nap(0.001, "fast"))
    try:
        assert settle(loop, challenges.first_completed(loop, slow, fast)) == "fast"
        assert not slow.done(), "the slow task is left running"
    finally:  # pass or fail, the tasks end here, not in a closed loop
        slow.cancel()
        settle(loop, asyncio.gather(slow, fast, return_exceptions=True))
    assert slow.cancelled()
    assert not errors, no_errors(errors)


# ── 2. then ─────────────────────────────────────────────────────────────────

def test_then_maps_the_result(challenges, loop, errors):
    answer = loop.create_future()
    doubled = challenges.then(answer, lambda x: 2 * x)
    assert doubled is not answer and not doubled.done(), "return a new, pending future"
    assert doubled.get_loop() is loop, "the new future belongs to the input's loop"
    described = challenges.then(doubled, lambda x: f"the answer is {x}")  # then() chains
    loop.call_soon(answer.set_result, 21)
    assert settle(loop, described) == "the answer is 42"
    assert doubled.result() == 42 and not errors, no_errors(errors)


def test_then_puts_fns_exception_in_the_future(challenges, loop, errors):
    answer = loop.create_future()
    failed = challenges.then(answer, lambda x: 1 / x)
    loop.call_soon(answer.set_result, 0)
    with pytest.raises(ZeroDivisionError):
        settle(loop, failed)
    assert not errors, (
        f"fn's exception must land in the returned future, not in the loop's exception "
        f"handler, which got {errors!r}"
    )


def test_then_passes_failure_and_cancellation_through(challenges, loop, errors):
    called = []
    failing, cancelled = loop.create_future(), loop.create_future()
    after_failure = challenges.then(failing, called.append)
    after_cancel = challenges.then(cancelled, called.append)
    error = KeyError("source")
    loop.call_soon(failing.set_exception, error)
    loop.call_soon(cancelled.cancel)
    with pytest.raises(KeyError) as raised:
        settle(loop, after_failure)
    assert raised.value is error, "a failed input: the new future fails with its exception object"
    with pytest.raises(asyncio.CancelledError):
        settle(loop, after_cancel)
    assert after_cancel.cancelled(), (
        "a cancelled input: the new future is cancelled (cancel() it, don't set_exception)"
    )
    assert called == [], "fn is only called with a result"
    assert not errors, no_errors(errors)


def test_cancelling_the_new_future_cancels_the_input(challenges, loop, errors):
    called = []
    source = loop.create_future()
    derived = challenges.then(source, called.append)
    derived.cancel()
    passes(loop, 2)
    assert source.cancelled(), "cancelling the new future cancels its input, as asyncio's chaining does"

    source = loop.create_future()
    derived = challenges.then(source, called.append)

    def race():
        derived.cancel()
        source.set_result("too late")  # same pass: both futures' callbacks are queued

    loop.call_soon(race)
    passes(loop, 3)
    assert derived.cancelled(), "cancelled is final"
    assert called == [] and not errors, (
        "the new future was cancelled in the same pass as its input got a result: "
        "don't call fn for nobody, and don't set a result on a cancelled future. "
        + no_errors(errors) + f"; fn was called with {called!r}"
    )
