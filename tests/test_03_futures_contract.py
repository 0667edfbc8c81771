"""Chapter 3's contract for futures, scenario by scenario against asyncio's.

Every scenario runs three times: on asyncio's loop with its C `Future`, on
asyncio's loop with its pure-Python `futures._PyFuture`, and on our loop with
our `Future`. The traces must be equal. Where the C and the Python futures
disagree with each other (only the wording of some errors), ours follows the
Python one, and the trace keeps the exception's type only.

Only what chapter 3 teaches is used here: `Future`, `loop.create_future()`,
and chapters 1-2 (call_soon, stop, run_forever, the exception handler).
"""
import asyncio
import contextvars
import gc
import re
import traceback
from asyncio import futures

import pytest

CHAPTER = 3


class Futures:
    """Run `scenario(loop, new_future)` with asyncio's C and Python futures, then ours."""

    def __init__(self, el, new_loop):
        self.sides = {
            "asyncio C Future": (asyncio.new_event_loop, asyncio.Future),
            "asyncio _PyFuture": (asyncio.new_event_loop, futures._PyFuture),
            "ours": (el.EventLoop, el.Future),
        }
        self._new_loop = new_loop

    def run(self, scenario):
        traces = {}
        for side, (loop_factory, future_class) in self.sides.items():
            loop = self._new_loop(loop_factory)
            try:
                traces[side] = scenario(loop, lambda: future_class(loop=loop))
            finally:
                loop.close()
        return traces

    def compare(self, scenario, *, with_c=True):
        """Our trace must equal _PyFuture's and (unless with_c=False) the C Future's."""
        traces = self.run(scenario)
        references = ["asyncio _PyFuture"] + (["asyncio C Future"] if with_c else [])
        for side in references:
            assert traces["ours"] == traces[side], f"\n{side}: {traces[side]!r}\nours: {traces['ours']!r}"
        return traces["ours"]


@pytest.fixture
def sides(el, new_loop):
    return Futures(el, new_loop)


def outcome(function, *args, **kwargs):
    """("ok", value) or (exception type name,): comparable across C and Python classes."""
    try:
        return ("ok", function(*args, **kwargs))
    except BaseException as error:  # noqa: BLE001 - the trace records whatever it was
        return (type(error).__name__,)


def one_pass(loop):
    """Run exactly one pass of the loop: the callbacks that are ready now."""
    loop.stop()
    loop.run_forever()


# ---------------------------------------------------------------- settling twice


def test_cancel_on_a_done_future_returns_false_and_changes_nothing(sides):
    def scenario(loop, new_future):
        trace = []
        finished = new_future()
        finished.add_done_callback(lambda f: trace.append("finished callback"))
        finished.set_result("value")
        trace += [finished.cancel(), finished.cancel("late"), finished.cancelled(), finished.result()]
        failed = new_future()
        failed.set_exception(KeyError("k"))
        trace += [failed.cancel(), failed.cancelled(), repr(failed.exception())]
        cancelled = new_future()
        cancelled.add_done_callback(lambda f: trace.append("cancelled callback"))
        trace += [cancelled.cancel("first"), cancelled.cancel("second"), cancelled.cancelled()]
        try:
            cancelled.result()
        except asyncio.CancelledError as error:
            trace.append(error.args)
        one_pass(loop)
        one_pass(loop)
        return trace

    assert sides.compare(scenario) == [
        False, False, False, "value",
        False, False, "KeyError('k')",
        True, False, True, ("first",),
        "finished callback", "cancelled callback",  # once each, not once per cancel()
    ]


@pytest.mark.parametrize("state", ["finished", "failed", "cancelled"])
def test_set_result_and_set_exception_on_a_done_future_raise_invalid_state(sides, state):
    def scenario(loop, new_future):
        fut = new_future()
        if state == "finished":
            fut.set_result(1)
        elif state == "failed":
            fut.set_exception(ValueError("first"))
        else:
            fut.cancel()
        trace = [
            outcome(fut.set_result, 2),
            outcome(fut.set_exception, KeyError("second")),
            outcome(fut.set_exception, KeyError),
            fut.cancelled(),
            outcome(fut.result),
        ]
        if state == "failed":
            trace.append(repr(fut.exception()))
        return trace

    trace = sides.compare(scenario)
    assert trace[:3] == [("InvalidStateError",)] * 3


def test_invalid_state_messages_are_the_pure_python_futures(sides):
    """The C Future says "invalid state"; ours, like _PyFuture, names the state and the future."""
    def scenario(loop, new_future):
        messages = []
        pending = new_future()
        for method in (pending.result, pending.exception):
            try:
                method()
            except asyncio.InvalidStateError as error:
                messages.append(str(error))
        finished, cancelled = new_future(), new_future()
        finished.set_result([1, 2])
        cancelled.cancel()
        for fut in (finished, cancelled):
            for method, argument in ((fut.set_result, 3), (fut.set_exception, ValueError())):
                try:
                    method(argument)
                except asyncio.InvalidStateError as error:
                    messages.append(str(error))
        pending.cancel()
        return messages

    assert sides.compare(scenario, with_c=False) == [
        "Result is not ready.",
        "Exception is not set.",
        "FINISHED: <Future finished result=[1, 2]>",
        "FINISHED: <Future finished result=[1, 2]>",
        "CANCELLED: <Future cancelled>",
        "CANCELLED: <Future cancelled>",
    ]


# ---------------------------------------------------------------- callbacks


@pytest.mark.parametrize("state", ["finished", "failed", "cancelled"])
def test_a_callback_added_when_done_runs_soon_with_the_future(sides, state):
    def scenario(loop, new_future):
        trace = []
        fut = new_future()
        if state == "finished":
            fut.set_result("r")
        elif state == "failed":
            fut.set_exception(ValueError("e"))
        else:
            fut.cancel()
        loop.call_soon(trace.append, "scheduled before")
        fut.add_done_callback(lambda f: trace.append(("callback", f is fut, f.cancelled())))
        loop.call_soon(trace.append, "scheduled after")
        trace.append("add_done_callback returned")  # it must not have run the callback itself
        one_pass(loop)
        if state == "failed":
            fut.exception()
        return trace

    assert sides.compare(scenario) == [
        "add_done_callback returned",
        "scheduled before",
        ("callback", True, state == "cancelled"),
        "scheduled after",
    ]


def test_callbacks_run_in_order_in_their_contexts(sides):
    def scenario(loop, new_future):
        var = contextvars.ContextVar("var", default="unset")
        given = contextvars.copy_context()
        given.run(var.set, "given context")
        trace = []

        def report(label):
            return lambda fut: trace.append((label, var.get()))

        fut = new_future()
        var.set("when the first was added")
        fut.add_done_callback(report("first"))
        fut.add_done_callback(report("second"), context=given)
        var.set("when the third was added")
        fut.add_done_callback(report("third"))
        var.set("when the result was set")
        loop.call_soon(trace.append, "scheduled before set_result")
        fut.set_result(None)
        fut.add_done_callback(report("after done"), context=given)
        fut.add_done_callback(report("after done, implicit"))
        one_pass(loop)
        return trace

    assert sides.compare(scenario) == [
        "scheduled before set_result",
        ("first", "when the first was added"),
        ("second", "given context"),
        ("third", "when the third was added"),
        ("after done", "given context"),
        ("after done, implicit", "when the result was set"),
    ]


def test_remove_done_callback_counts_every_registration(sides):
    def scenario(loop, new_future):
        trace = []
        fut = new_future()

        def noted(f):
            trace.append("noted")

        def kept(f):
            trace.append("kept")

        fut.add_done_callback(noted)
        fut.add_done_callback(kept)
        fut.add_done_callback(noted)
        fut.add_done_callback(noted, context=contextvars.copy_context())
        trace.append(("removed", fut.remove_done_callback(noted)))
        trace.append(("removed again", fut.remove_done_callback(noted)))
        trace.append(("never added", fut.remove_done_callback(print)))
        fut.set_result(None)
        fut.add_done_callback(noted)  # scheduled already: no longer removable
        trace.append(("removed when done", fut.remove_done_callback(noted)))
        one_pass(loop)
        return trace

    assert sides.compare(scenario) == [
        ("removed", 3), ("removed again", 0), ("never added", 0), ("removed when done", 0),
        "kept", "noted",
    ]


# ---------------------------------------------------------------- never retrieved


@pytest.mark.parametrize("looked", ["nobody", "result()", "exception()", "cancel()", "_log_traceback = False"])
def test_exception_never_retrieved_is_reported_only_when_nobody_looked(sides, looked):
    def scenario(loop, new_future):
        seen = []
        loop.set_exception_handler(lambda loop, context: seen.append(context))
        fut = new_future()
        fut.set_exception(ValueError("lost?"))
        if looked == "result()":
            outcome(fut.result)
        elif looked == "exception()":
            fut.exception()
        elif looked == "cancel()":
            fut.cancel()  # returns False, but it counts as having dealt with the future
        elif looked == "_log_traceback = False":
            fut._log_traceback = False
        del fut
        gc.collect()
        return [
            (context["message"], repr(context["exception"]), sorted(context), type(context["future"]).__name__)
            for context in seen
        ]

    trace = sides.compare(scenario)
    if looked == "nobody":
        assert trace == [("Future exception was never retrieved", "ValueError('lost?')",
                          ["exception", "future", "message"], "Future")]
    else:
        assert trace == []


def test_log_traceback_can_only_be_cleared(sides):
    def scenario(loop, new_future):
        fut = new_future()
        fut.set_exception(KeyError())
        refused = outcome(setattr, fut, "_log_traceback", True)
        still_logging = fut._log_traceback
        fut._log_traceback = False
        return refused, still_logging, fut._log_traceback

    assert sides.compare(scenario) == (("ValueError",), True, False)


# ---------------------------------------------------------------- odd values


def test_cancel_messages_of_any_type_reach_the_cancelled_error(sides):
    def scenario(loop, new_future):
        trace = []
        for message in (None, "text", 42, b"bytes", ("a", "tuple"), ValueError("an exception")):
            fut = new_future()
            trace.append(fut.cancel(message))
            try:
                fut.result()
            except asyncio.CancelledError as error:
                trace.append(repr(error.args))
            try:
                fut.exception()
            except asyncio.CancelledError as error:
                trace.append(repr(error.args))
        keyword = new_future()
        trace.append(keyword.cancel(msg="by keyword"))
        trace.append(outcome(new_future().cancel, "one", "two"))
        return trace

    trace = sides.compare(scenario)
    assert trace[:3] == [True, "()", "()"]
    assert trace[-2:] == [True, ("TypeError",)]


def test_set_exception_instantiates_a_class_and_keeps_the_traceback(sides):
    def scenario(loop, new_future):
        fut = new_future()
        fut.set_exception(LookupError)
        made = repr(fut.exception())
        try:
            raise KeyError("raised")
        except KeyError as error:
            raised = error
        other = new_future()
        other.set_exception(raised)
        try:
            other.result()
        except KeyError as error:
            # result() re-raises with the saved traceback: it still shows where the error began.
            frames = traceback.extract_tb(error.__traceback__)
            same = error is raised and any(frame.line == 'raise KeyError("raised")' for frame in frames)
        return made, same

    assert sides.compare(scenario) == ("LookupError()", True)


# ---------------------------------------------------------------- reprs and the await protocol


def test_future_reprs_in_each_state(sides):
    def scenario(loop, new_future):
        def first(f):
            pass

        def second(f):
            pass

        def third(f):
            pass

        reprs = []
        fut = new_future()
        reprs.append(repr(fut))
        fut.add_done_callback(first)
        reprs.append(repr(fut))
        fut.add_done_callback(second)
        reprs.append(repr(fut))
        fut.add_done_callback(third)
        reprs.append(repr(fut))
        fut.add_done_callback(first)
        reprs.append(repr(fut))
        fut.set_result("x" * 100)
        reprs.append(repr(fut))
        failed = new_future()
        failed.set_exception(KeyError("why"))
        reprs.append(repr(failed))
        failed.exception()
        cancelled = new_future()
        cancelled.cancel("with a message")
        reprs.append(repr(cancelled))
        one_pass(loop)
        # "first() at /path/test.py:12" -> "first()": the same on every side, and shorter.
        return [re.sub(r"(\w+\.<locals>\.)+|( at \S+:\d+)", "", r) for r in reprs]

    assert sides.compare(scenario) == [
        "<Future pending>",
        "<Future pending cb=[first()]>",
        "<Future pending cb=[first(), second()]>",
        "<Future pending cb=[first(), <1 more>, third()]>",
        "<Future pending cb=[first(), <2 more>, first()]>",
        "<Future finished result='xxxxxxxxxxxx...xxxxxxxxxxxxx'>",
        "<Future finished exception=KeyError('why')>",
        "<Future cancelled>",
    ]


def test_await_protocol(sides):
    def scenario(loop, new_future):
        trace = []
        pending = new_future()
        steps = pending.__await__()
        trace.append(next(steps) is pending)  # "suspend me until this future is done"
        trace.append(pending._asyncio_future_blocking)
        trace.append(outcome(next, steps))  # resumed while still pending
        done = new_future()
        done.set_result(5)
        try:
            next(iter(done))
        except StopIteration as stop:
            trace.append(("returned", stop.value))
        cancelled = new_future()
        cancelled.cancel()
        trace.append(outcome(next, cancelled.__await__()))
        pending.cancel()
        trace.append(asyncio.isfuture(pending))
        return trace

    assert sides.compare(scenario) == [True, True, ("RuntimeError",), ("returned", 5), ("CancelledError",), True]


# ---------------------------------------------------------------- the loop's side


def test_create_future_binds_the_future_to_the_loop(el, new_loop):
    loop = new_loop(el.EventLoop)
    fut = loop.create_future()
    assert fut.get_loop() is loop
    assert asyncio.isfuture(fut) and not fut.done()
    fut.cancel()


def test_create_future_works_on_a_closed_loop_as_asyncio_does(loops):
    """asyncio checks nothing in create_future; the callbacks are what would fail."""
    def scenario(loop):
        loop.close()
        fut = loop.create_future()
        trace = [fut.done(), fut.get_loop() is loop]
        trace.append(outcome(fut.set_result, 1))
        waited = loop.create_future()
        waited.add_done_callback(print)
        trace.append(outcome(waited.set_result, 2))  # its callback cannot be scheduled
        trace.append(waited.done())
        return trace

    assert loops.compare(scenario) == [False, True, ("ok", None), ("RuntimeError",), True]
