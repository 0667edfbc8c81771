"""Checks for chapter 3's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 3`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

An exception raised inside a done callback does not reach the check: the loop
hands it to its exception handler and carries on. So every check here records
what reaches the handler (`errors`) and requires it to be empty.
"""
import asyncio
import gc
import inspect
import traceback

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


# ── 3. Answer: `await` without a generator ──────────────────────────────────

def step(coro, returned):
    """The chapter's eight-line driver; the coroutine's return value goes into `returned`."""
    try:
        waiting_for = coro.send(None)
    except StopIteration as stop:
        returned.append(stop.value)
    else:
        waiting_for._asyncio_future_blocking = False
        waiting_for.add_done_callback(lambda f: step(coro, returned))


def generators_inside(obj, depth=3, seen=None):
    """The generators reachable from `obj` in `depth` steps, not looking inside futures."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    if inspect.isgenerator(obj) or inspect.iscoroutine(obj):
        return [obj]
    if isinstance(obj, (asyncio.Future, eventloop.Future, type)) or inspect.ismodule(obj):
        return []
    return [g for ref in gc.get_referents(obj) for g in generators_inside(ref, depth - 1, seen)]


def test_answer_is_awaited_without_a_generator(challenges, loop, errors):
    answer = challenges.Answer(loop=loop)
    iterator = answer.__await__()
    assert not inspect.isgenerator(iterator) and not inspect.iscoroutine(iterator), (
        f"Answer.__await__() returned {iterator!r}, a generator: the challenge is to write, "
        "by hand, the iterator that a generator would be (a class with __next__, send, throw, close)"
    )
    assert not generators_inside(iterator), (
        f"your iterator holds a generator ({generators_inside(iterator)[0]!r}) and passes the "
        "calls on to it: write the states yourself instead"
    )
    assert iter(iterator) is iterator, "__iter__ returns the iterator itself, as a generator's does"
    answer.cancel()


def test_answer_with_the_chapters_driver(challenges, loop, errors):
    answer = challenges.Answer(loop=loop)

    async def main():
        value = await answer
        ready = challenges.Answer(loop=loop)
        ready.set_result(" and done already")
        return value + await ready  # a done future: no suspension

    returned = []
    step(main(), returned)
    loop.call_soon(answer.set_result, "pending at first")
    passes(loop, 3)
    assert returned == ["pending at first and done already"], (
        f"driven by the chapter's step(), the coroutine returned {returned!r}: a pending "
        "Answer's iterator hands out the future itself (the driver waits for it), and the "
        "StopIteration that ends it carries future.result(), the value of `await answer`"
    )
    assert not errors, no_errors(errors)


def test_answer_with_asyncios_task(challenges, loop, errors):
    for factory in (None, eventloop.task_factory):  # asyncio's Task, then the course's
        loop.set_task_factory(factory)
        answer = challenges.Answer(loop=loop)

        async def main():
            return await answer * 2

        loop.call_later(0.001, answer.set_result, 21)
        try:
            assert settle(loop, loop.create_task(main())) == 42
        finally:
            loop.set_task_factory(None)
    assert not errors, (
        f"{no_errors(errors)}. (A task that gets the future without its _asyncio_future_blocking "
        "flag set says 'yield was used instead of yield from'.)"
    )


def test_answer_raises_its_exception_at_the_await(challenges, loop, errors):
    def produce():
        raise KeyError("from the producer")

    answer = challenges.Answer(loop=loop)

    async def consume():
        try:
            await answer
        except KeyError as raised:
            return raised, traceback.extract_tb(raised.__traceback__)

    def fail_the_answer():
        try:
            produce()
        except KeyError as error:
            answer.set_exception(error)

    loop.call_soon(fail_the_answer)
    raised, frames = settle(loop, loop.create_task(consume()))
    assert raised is answer.exception(), "the await raises the future's exception object"
    names = [frame.name for frame in frames]
    assert names[0] == "consume" and frames[0].line == "await answer", (
        f"the traceback starts at the `await` in the coroutine: {names!r}"
    )
    assert names[-1] == "produce", (
        f"the traceback ends where the error was raised, in produce(): {names!r}. "
        "future.result() re-raises with the saved traceback"
    )
    assert not errors, no_errors(errors)


def test_answer_cancelled_raises_at_the_await(challenges, loop, errors):
    trace = []
    cancelled_answer = challenges.Answer(loop=loop)
    waited_for = challenges.Answer(loop=loop)

    async def waits(answer, name):
        try:
            await answer
        except asyncio.CancelledError:
            trace.append(f"{name}: CancelledError at the await")
            raise

    loop.call_soon(cancelled_answer.cancel)
    with pytest.raises(asyncio.CancelledError):
        settle(loop, loop.create_task(waits(cancelled_answer, "answer cancelled")))
    task = loop.create_task(waits(waited_for, "task cancelled"))
    loop.call_later(0.001, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        settle(loop, task)
    assert trace == ["answer cancelled: CancelledError at the await",
                     "task cancelled: CancelledError at the await"]
    assert waited_for.cancelled(), "cancelling the task cancels the future it awaits"
    assert not errors, no_errors(errors)


# The same calls on Future.__await__'s generator and on your iterator: the answers must match.

def answers_to(calls, make_iterator, loop):
    """[what each call did] for `calls` on a new future's iterator."""
    future = make_iterator.future_class(loop=loop)
    iterator = make_iterator(future)
    answers = []
    for call, *args in calls:
        try:
            if call == "settle":
                getattr(future, args[0])(*args[1:])
                continue
            value = getattr(iterator, call)(*args)
        except StopIteration as stop:
            answers.append((call, "StopIteration", stop.value))
        except BaseException as error:  # noqa: B036 - the answer under comparison
            answers.append((call, type(error).__name__, str(error)))
        else:
            if value is future:
                value = ("the future", "blocking" if future._asyncio_future_blocking else "not blocking")
            answers.append((call, "returned", value))
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()  # retrieved: no "exception was never retrieved" log
    return answers


def compare_with_the_generator(challenges, loop, cases):
    def generator(future):
        return eventloop.Future.__await__(future)

    def yours(future):
        return future.__await__()

    generator.future_class, yours.future_class = eventloop.Future, challenges.Answer
    for calls in cases:
        expected = answers_to(calls, generator, loop)
        got = answers_to(calls, yours, loop)
        assert got == expected, (
            f"after the calls {calls!r}\nyour iterator answered\n  {got!r}\n"
            f"where Future.__await__'s generator answers\n  {expected!r}"
        )


def test_answer_steps_like_the_generator(challenges, loop):
    compare_with_the_generator(challenges, loop, [
        [("__next__",), ("settle", "set_result", 42), ("__next__",), ("__next__",)],
        [("settle", "set_result", (1, 2)), ("__next__",), ("send", None)],
        [("__next__",), ("__next__",), ("__next__",)],  # resumed before it is done
        [("__next__",), ("settle", "set_result", "ok"), ("send", "ignored")],
        [("__next__",), ("settle", "set_exception", KeyError("k")), ("__next__",), ("__next__",)],
        [("settle", "cancel", "stop"), ("__next__",), ("__next__",)],
    ])


def test_answer_refuses_a_value_before_it_starts(challenges, loop):
    compare_with_the_generator(challenges, loop, [
        [("send", "too early"), ("__next__",), ("settle", "set_result", 1), ("__next__",)],
        [("settle", "set_result", 1), ("send", "too early"), ("send", None)],
    ])


def test_answer_throws_like_the_generator(challenges, loop):
    compare_with_the_generator(challenges, loop, [
        [("throw", KeyError("before it starts")), ("__next__",)],
        [("__next__",), ("throw", KeyError("while suspended")), ("__next__",)],
        [("__next__",), ("throw", ValueError), ("send", None)],  # a class: instantiated
        [("__next__",), ("throw", GeneratorExit()), ("__next__",)],
        [("settle", "set_result", 1), ("__next__",), ("throw", KeyError("when finished"))],
    ])


def test_answer_closes_like_the_generator(challenges, loop):
    compare_with_the_generator(challenges, loop, [
        [("close",), ("__next__",)],
        [("__next__",), ("close",), ("__next__",), ("close",)],
        [("settle", "set_result", 1), ("__next__",), ("close",), ("send", None)],
    ])
