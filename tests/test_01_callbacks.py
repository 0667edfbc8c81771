"""Chapter 1: Handle, call_soon, run_forever, stop, close, the exception handler.

Every test runs against chapter 1's snapshot and against the final package
(`el`).  Where asyncio documents the behaviour, the scenario runs on asyncio's
loop too and the traces must be equal (`loops.compare`).
"""
import asyncio
import contextvars
import functools
import gc
import logging
import os
import subprocess
import sys
import threading
import warnings
import weakref
from asyncio import events

import pytest

CHAPTER = 1

request_id = contextvars.ContextVar("request_id", default="-")


# ---------------------------------------------------------------- helpers


def run_once(loop):
    """One pass: stop() before run_forever()."""
    loop.stop()
    loop.run_forever()


class Box:
    """An object that can be weakly referenced, to see when the loop drops it."""


class CallMe:
    """A callable instance: it has no __qualname__ of its own."""

    def __call__(self, *args):
        pass


def greet(*args, **kwargs):
    pass


def other(*args):
    pass


class Greeter:
    def hello(self, *args):
        pass


def _decorate(function):
    @functools.wraps(function)
    def wrapper(*args):
        return function(*args)

    return wrapper


@_decorate
def decorated(*args):
    pass


def _wrapper_of_partial(*args):
    pass


# A function whose __wrapped__ is a partial: asyncio unwraps it first, then the partial.
wrapper_of_partial = functools.wraps(functools.partial(greet, 1))(_wrapper_of_partial)

_callme = CallMe()
_greeter = Greeter()
_lambda = lambda *args: None  # noqa: E731

REPR_CASES = {
    "builtin": (print, ("hello",)),
    "builtin-no-args": (print, ()),
    "builtin-class": (dict, ()),
    "function": (greet, ("world", 42)),
    "lambda": (_lambda, (1,)),
    "bound-method": (_greeter.hello, ("x",)),
    "callable-instance": (_callme, ()),
    "wraps-decorated": (decorated, (1,)),
    "partial": (functools.partial(greet, 1, key="v"), (2,)),
    "partial-of-partial": (functools.partial(functools.partial(greet, 1), 2), (3,)),
    "partial-of-builtin": (functools.partial(print, "a", sep="-"), ("b",)),
    "long-args": (greet, ("x" * 200, list(range(100)), {"k": "v" * 100})),
    "partial-long-kwargs": (functools.partial(greet, key="y" * 200), ()),
    "wrapper-of-partial": (wrapper_of_partial, (2,)),
}


def _repr_param(name):
    return pytest.param(name, id=name)


# ---------------------------------------------------------------- call_soon


def test_callbacks_run_in_fifo_order(loops):
    def scenario(loop):
        trace = []
        for i in range(20):
            loop.call_soon(trace.append, i)
        loop.call_soon(loop.stop)
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == list(range(20))


def test_positional_arguments_are_passed_as_given(loops):
    def scenario(loop):
        trace = []
        marker = object()
        loop.call_soon(lambda *args: trace.append(args), 1, "two", None, marker)
        loop.call_soon(lambda: trace.append("no args"))
        run_once(loop)
        return [trace[0][:3], trace[0][3] is marker, trace[1]]

    assert loops.compare(scenario) == [(1, "two", None), True, "no args"]


def test_call_soon_takes_no_keyword_arguments_for_the_callback(loops):
    def scenario(loop):
        with pytest.raises(TypeError) as info:
            loop.call_soon(print, end="")
        return "end" in str(info.value)

    assert loops.compare(scenario) is True


def test_context_is_copied_when_the_call_is_scheduled(loops):
    def scenario(loop):
        trace = []

        def log(tag):
            trace.append((tag, request_id.get()))
            request_id.set("changed by " + tag)  # only inside this callback's copy

        token = request_id.set("a1")
        try:
            loop.call_soon(log, "first")
            request_id.set("b2")
            loop.call_soon(log, "second")
        finally:
            request_id.reset(token)
        loop.call_soon(log, "third")
        run_once(loop)
        trace.append(("outside", request_id.get()))
        return trace

    assert loops.compare(scenario) == [
        ("first", "a1"), ("second", "b2"), ("third", "-"), ("outside", "-"),
    ]


def test_context_argument_runs_the_callback_in_that_context(loops):
    def scenario(loop):
        context = contextvars.copy_context()
        context.run(request_id.set, "given")
        trace = []

        def log():
            trace.append(request_id.get())
            request_id.set("set inside")

        loop.call_soon(log, context=context)
        loop.call_soon(log, context=context)  # sees what the first call set
        run_once(loop)
        return [trace, context[request_id], request_id.get()]

    assert loops.compare(scenario) == [["given", "set inside"], "set inside", "-"]


def test_get_context_returns_the_given_context(loop):
    context = contextvars.copy_context()
    handle = loop.call_soon(print, context=context)
    assert handle.get_context() is context
    handle.cancel()
    assert handle.get_context() is context  # cancel() drops the callback, not the context


def test_get_context_without_context_is_a_copy_of_the_current_one(loop):
    token = request_id.set("current")
    try:
        handle = loop.call_soon(print)
        context = handle.get_context()
        assert isinstance(context, contextvars.Context)
        assert context[request_id] == "current"
        request_id.set("later")
        assert context[request_id] == "current"  # a copy, not the live context
    finally:
        request_id.reset(token)
        handle.cancel()


def test_call_soon_returns_a_handle_of_the_package(el, loop):
    handle = loop.call_soon(print)
    assert type(handle) is el.Handle
    assert not handle.cancelled()
    handle.cancel()


# ---------------------------------------------------------------- cancel


def test_cancelled_callbacks_do_not_run_and_cancel_is_idempotent(loops):
    def scenario(loop):
        trace = []
        loop.set_exception_handler(lambda loop, context: trace.append(context["message"]))
        loop.call_soon(trace.append, "a")
        doomed = loop.call_soon(trace.append, "never")
        loop.call_soon(trace.append, "b")
        doomed.cancel()
        doomed.cancel()
        states = [doomed.cancelled()]
        run_once(loop)
        doomed.cancel()  # after the pass too
        return trace + states + [doomed.cancelled()]

    assert loops.compare(scenario) == ["a", "b", True, True]


def test_a_callback_may_cancel_a_later_one_in_the_same_batch(loops):
    def scenario(loop):
        trace = []
        later = []
        loop.call_soon(lambda: (trace.append("first"), later[0].cancel()))
        later.append(loop.call_soon(trace.append, "cancelled by first"))
        loop.call_soon(trace.append, "third")
        run_once(loop)
        return trace

    assert loops.compare(scenario) == ["first", "third"]


def test_cancel_drops_the_callback_and_its_arguments(loops):
    def scenario(loop):
        argument, callback = Box(), CallMe()
        refs = [weakref.ref(argument), weakref.ref(callback)]
        handle = loop.call_soon(callback, argument)
        del argument, callback
        gc.collect()
        alive_before = [r() is not None for r in refs]
        handle.cancel()  # the handle is still queued: only cancel() can free them
        gc.collect()
        alive_after = [r() is not None for r in refs]
        return alive_before, alive_after

    assert loops.compare(scenario) == ([True, True], [False, False])


# ---------------------------------------------------------------- repr


@pytest.mark.parametrize("case", [_repr_param(name) for name in REPR_CASES])
def test_handle_repr_equals_asyncios(el, new_loop, case):
    callback, args = REPR_CASES[case]
    reference_loop = new_loop(asyncio.new_event_loop)
    reference_loop.set_debug(False)  # debug mode adds "created at", which we don't record yet
    ours = el.Handle(callback, args, new_loop())
    theirs = events.Handle(callback, args, reference_loop)
    assert repr(ours) == repr(theirs)
    ours.cancel(), theirs.cancel()
    assert repr(ours) == repr(theirs) == "<Handle cancelled>"


def _shown(arguments):
    """How a repr shows a call's arguments: from Python 3.13 on, only in debug mode."""
    return arguments if sys.version_info < (3, 13) else "()"


def test_handle_repr_names_the_function_and_where_it_was_defined(el, loop):
    text = repr(el.Handle(greet, ("world",), loop))
    line = greet.__code__.co_firstlineno
    world, one, two, hi = _shown("('world')"), _shown("(1)"), _shown("(2)"), _shown("('hi')")
    assert text == f"<Handle greet{world} at {__file__}:{line}>"
    assert repr(el.Handle(functools.partial(greet, 1), (2,), loop)) == (
        f"<Handle greet{one}{two} at {__file__}:{line}>"
    )
    assert repr(el.Handle(print, ("hi",), loop)) == f"<Handle print{hi}>"


def test_handle_repr_shows_arguments_in_debug_mode(el, loop):
    loop.set_debug(True)
    assert repr(el.Handle(print, ("hi",), loop)) == "<Handle print('hi')>"


def test_handle_repr_of_call_soon_equals_asyncios(loops):
    def scenario(loop):
        handle = loop.call_soon(greet, "x", 1)
        text = repr(handle)
        handle.cancel()
        return text, repr(handle)

    text, cancelled = loops.compare(scenario)
    assert " at " in text and cancelled == "<Handle cancelled>"


def test_cancel_in_debug_mode_keeps_the_description(loop):
    loop.set_debug(True)
    handle = loop.call_soon(greet, "kept")
    before = repr(handle)
    handle.cancel()
    assert repr(handle).startswith("<Handle cancelled greet('kept') at ")
    assert before.startswith("<Handle greet('kept') at ")


# ---------------------------------------------------------------- stop and batches


def test_stop_before_run_forever_makes_exactly_one_pass(loops):
    def scenario(loop):
        trace = []

        def first():
            trace.append("first")
            loop.call_soon(trace.append, "scheduled by first")

        loop.call_soon(first)
        loop.call_soon(trace.append, "second")
        loop.stop()
        loop.stop()  # twice is still one pass
        loop.run_forever()
        trace.append("-- returned --")
        run_once(loop)
        return trace

    assert loops.compare(scenario) == ["first", "second", "-- returned --", "scheduled by first"]


def test_stop_before_run_forever_with_nothing_ready_returns_at_once(loops):
    def scenario(loop):
        loop.stop()
        loop.run_forever()
        return [loop.is_running(), loop.is_closed()]

    assert loops.compare(scenario) == [False, False]


def test_stop_during_a_batch_finishes_the_batch_and_new_callbacks_wait(loops):
    def scenario(loop):
        trace = []

        def second():
            trace.append("second: stop")
            loop.stop()
            loop.call_soon(trace.append, "fourth, scheduled by second")

        loop.call_soon(trace.append, "first")
        loop.call_soon(second)
        loop.call_soon(trace.append, "third")
        loop.run_forever()
        trace.append("-- returned --")
        # The stop flag was consumed: this run needs a stop of its own.
        loop.call_soon(trace.append, "fifth")
        loop.call_soon(loop.stop)
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == [
        "first", "second: stop", "third", "-- returned --",
        "fourth, scheduled by second", "fifth",
    ]


def test_a_callback_that_reschedules_itself_does_not_starve_others(loops):
    def scenario(loop):
        trace = []

        def spin(n):
            trace.append(f"spin {n}")
            if n < 5:
                loop.call_soon(spin, n + 1)
            else:
                loop.stop()

        loop.call_soon(spin, 0)
        loop.call_soon(lambda: (trace.append("other"), loop.call_soon(trace.append, "other's child")))
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == [
        "spin 0", "other", "spin 1", "other's child", "spin 2", "spin 3", "spin 4", "spin 5",
    ]


def test_run_forever_twice(loops):
    def scenario(loop):
        trace = []
        for run in range(2):
            loop.call_soon(trace.append, f"run {run}")
            loop.call_soon(loop.stop)
            loop.run_forever()
            trace.append(loop.is_running())
        return trace

    assert loops.compare(scenario) == ["run 0", False, "run 1", False]


def test_is_running_inside_a_callback_and_not_after(loops):
    def scenario(loop):
        trace = [loop.is_running()]
        loop.call_soon(lambda: trace.append(loop.is_running()))
        run_once(loop)
        trace.append(loop.is_running())
        return trace

    assert loops.compare(scenario) == [False, True, False]


def test_get_running_loop_inside_a_callback_is_our_loop(loop):
    seen = []
    loop.call_soon(lambda: seen.append(asyncio.get_running_loop()))
    loop.call_soon(lambda: seen.append(asyncio._get_running_loop()))
    assert asyncio._get_running_loop() is None
    run_once(loop)
    assert seen == [loop, loop]
    assert asyncio._get_running_loop() is None
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_running_loop_is_reset_when_run_forever_raises(loop):
    def boom():
        raise KeyboardInterrupt

    loop.call_soon(boom)
    with pytest.raises(KeyboardInterrupt):
        loop.run_forever()
    assert asyncio._get_running_loop() is None
    assert not loop.is_running()


# ---------------------------------------------------------------- one loop per thread


def test_cannot_run_inside_a_running_asyncio_loop(el, new_loop):
    ours = new_loop()
    outer = new_loop(asyncio.new_event_loop)
    errors = []

    def inside_asyncio():
        try:
            ours.run_forever()
        except RuntimeError as error:
            errors.append(str(error))
        errors.append(ours.is_running())
        outer.stop()

    outer.call_soon(inside_asyncio)
    outer.run_forever()
    assert errors == ["Cannot run the event loop while another loop is running", False]
    # Nothing of ours was left behind: our loop still runs normally afterwards.
    ours.call_soon(errors.append, "ran later")
    run_once(ours)
    assert errors[-1] == "ran later"


def test_asyncio_refuses_to_run_inside_our_loop(el, new_loop):
    """Proof that run_forever really tells asyncio a loop is running in this thread."""
    ours = new_loop()
    theirs = new_loop(asyncio.new_event_loop)
    another_of_ours = new_loop()
    errors = []

    def inside_ours():
        # Ours first: on Python 3.13.0 a refused asyncio run_forever() still runs
        # its clean-up, which clears the running loop (ours) for the thread.
        for other in (another_of_ours, theirs):
            try:
                other.run_forever()
            except RuntimeError as error:
                errors.append(str(error))

    ours.call_soon(inside_ours)
    run_once(ours)
    assert errors == ["Cannot run the event loop while another loop is running"] * 2


def test_run_forever_from_its_own_callback(loops, new_loop):
    def scenario(loop):
        trace = []

        def nested():
            try:
                loop.run_forever()
            except RuntimeError as error:
                trace.append(str(error))
            trace.append(loop.is_running())

        loop.call_soon(nested)
        run_once(loop)
        return trace

    expected = ["This event loop is already running", True]
    if sys.version_info[:2] == (3, 13):
        # asyncio 3.13 runs run_forever's clean-up even when its set-up refused,
        # so its loop then claims not to be running (from inside a callback).
        assert scenario(new_loop()) == expected
    else:
        assert loops.compare(scenario) == expected


# ---------------------------------------------------------------- close


def test_closed_loop_refuses_call_soon_and_run_forever(loops):
    def scenario(loop):
        loop.close()
        messages = [loop.is_closed()]
        for attempt in (lambda: loop.call_soon(print), loop.run_forever):
            with pytest.raises(RuntimeError) as info:
                attempt()
            messages.append(str(info.value))
        return messages

    assert loops.compare(scenario) == [True, "Event loop is closed", "Event loop is closed"]


def test_close_is_idempotent(loops):
    def scenario(loop):
        loop.close()
        loop.close()
        return [loop.is_closed(), loop.is_running()]

    assert loops.compare(scenario) == [True, False]


def test_close_while_running_raises(loops):
    def scenario(loop):
        trace = []

        def try_close():
            try:
                loop.close()
            except RuntimeError as error:
                trace.append(str(error))
            trace.append(loop.is_closed())

        loop.call_soon(try_close)
        run_once(loop)
        return trace

    assert loops.compare(scenario) == ["Cannot close a running event loop", False]


def test_close_drops_pending_callbacks(loops):
    def scenario(loop):
        argument = Box()
        ref = weakref.ref(argument)
        loop.call_soon(greet, argument)
        del argument
        gc.collect()
        queued = ref() is not None
        loop.close()
        gc.collect()
        return [queued, ref() is not None]

    assert loops.compare(scenario) == [True, False]


def test_unclosed_loop_warns_and_closes_itself_when_collected(el):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop = el.new_event_loop()
        argument = Box()
        ref = weakref.ref(argument)
        loop.call_soon(greet, argument)
        del loop, argument
        gc.collect()
    messages = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert len(messages) == 1 and messages[0].startswith("unclosed event loop <")
    assert ref() is None  # __del__ closed it, dropping its callbacks


def test_closed_loop_does_not_warn_when_collected(el):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop = el.new_event_loop()
        loop.close()
        del loop
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# ---------------------------------------------------------------- errors in callbacks


def _fail():
    raise ZeroDivisionError("in a callback")


def test_a_raising_callback_goes_to_the_handler_and_the_loop_goes_on(loops):
    def scenario(loop):
        trace = []

        def handler(handler_loop, context):
            trace.append((
                handler_loop is loop,
                sorted(context),
                context["message"],
                repr(context["exception"]),
                context["handle"] is handles[1],
            ))

        loop.set_exception_handler(handler)
        handles = [
            loop.call_soon(trace.append, "before"),
            loop.call_soon(_fail),
            loop.call_soon(trace.append, "after"),
        ]
        run_once(loop)
        return trace

    trace = loops.compare(scenario)
    line = _fail.__code__.co_firstlineno
    assert trace == [
        "before",
        (True, ["exception", "handle", "message"], f"Exception in callback _fail() at {__file__}:{line}",
         "ZeroDivisionError('in a callback')", True),
        "after",
    ]


def test_default_handler_logs_to_asyncio_at_error_with_exc_info(loops, caplog):
    def scenario(loop):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="asyncio"):
            loop.call_soon(_fail)
            loop.call_soon(loop.stop)
            loop.run_forever()
        records = [r for r in caplog.records if r.levelno >= logging.WARNING]
        return [
            (r.name, r.levelname, r.getMessage(), r.exc_info[0], str(r.exc_info[1])) for r in records
        ]

    (record,) = loops.compare(scenario)
    name, level, message, exc_type, exc_text = record
    assert (name, level, exc_type, exc_text) == ("asyncio", "ERROR", ZeroDivisionError, "in a callback")
    assert message.startswith("Exception in callback _fail() at ")
    assert "\nhandle: <Handle _fail() at " in message


def test_default_handler_message_equals_asyncios_for_any_context(loops, caplog):
    error = ValueError("boom")

    def scenario(loop):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            loop.default_exception_handler({"message": "custom", "exception": error, "zeta": 1, "alpha": [2]})
            loop.default_exception_handler({"message": "", "other": "x"})  # empty message: the default one
            loop.call_exception_handler({"message": "no exception here"})
        return [(r.getMessage(), r.exc_info[1] if r.exc_info else None) for r in caplog.records]

    assert loops.compare(scenario) == [
        ("custom\nalpha: [2]\nzeta: 1", error),
        ("Unhandled exception in event loop\nother: 'x'", None),
        ("no exception here", None),
    ]


class FalsyError(Exception):
    """An exception that is false in a boolean context (it defines __len__)."""

    def __len__(self):
        return 0


def test_default_handler_logs_a_falsy_exception_with_its_traceback(loops, caplog):
    error = FalsyError("empty")

    def scenario(loop):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            loop.default_exception_handler({"message": "falsy", "exception": error})
        return [bool(r.exc_info) and r.exc_info[1] is error for r in caplog.records]

    assert loops.compare(scenario) == [True]


def test_a_handler_that_raises_is_reported_by_the_default_handler(loops, caplog):
    def scenario(loop):
        caplog.clear()
        trace = []

        def bad_handler(handler_loop, context):
            trace.append("handler called")
            raise RuntimeError("handler is broken")

        loop.set_exception_handler(bad_handler)
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            loop.call_soon(_fail)
            loop.call_soon(trace.append, "the loop goes on")
            run_once(loop)
        trace += [(r.getMessage(), repr(r.exc_info[1])) for r in caplog.records]
        return trace

    trace = loops.compare(scenario)
    assert trace[:2] == ["handler called", "the loop goes on"]
    ((message, exception),) = trace[2:]
    assert message.startswith("Unhandled error in exception handler\ncontext: {'message': 'Exception in callback")
    assert exception == "RuntimeError('handler is broken')"


def test_a_default_handler_that_raises_is_logged(el, new_loop, caplog):
    class Loop(el.EventLoop):
        def default_exception_handler(self, context):
            raise RuntimeError("default handler is broken")

    loop = new_loop(Loop)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        loop.call_soon(_fail)
        run_once(loop)
    assert [(r.getMessage(), repr(r.exc_info[1])) for r in caplog.records] == [
        ("Exception in default exception handler", "RuntimeError('default handler is broken')")
    ]


def test_set_exception_handler_checks_and_get_returns_it(loops):
    def scenario(loop):
        trace = [loop.get_exception_handler()]
        with pytest.raises(TypeError) as info:
            loop.set_exception_handler("not callable")
        trace.append(str(info.value))

        def handler(loop, context):
            pass

        loop.set_exception_handler(handler)
        trace.append(loop.get_exception_handler() is handler)
        loop.set_exception_handler(None)
        trace.append(loop.get_exception_handler())
        return trace

    assert loops.compare(scenario) == [
        None, "A callable object or None is expected, got 'not callable'", True, None,
    ]


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_propagate(loops, exception):
    def scenario(loop):
        trace = []
        handled = []
        loop.set_exception_handler(lambda loop, context: handled.append(context))

        def interrupt():
            trace.append("raising")
            raise exception("stop the program")

        loop.call_soon(trace.append, "before")
        loop.call_soon(interrupt)
        loop.call_soon(trace.append, "rest of the batch")
        with pytest.raises(exception):
            loop.run_forever()
        trace += ["-- raised --", loop.is_running(), asyncio._get_running_loop(), handled]
        run_once(loop)  # the loop is usable, and the rest of the batch is still queued
        return trace

    assert loops.compare(scenario) == [
        "before", "raising", "-- raised --", False, None, [], "rest of the batch",
    ]


# ---------------------------------------------------------------- checks on call_soon


def test_call_soon_refuses_a_non_callable_even_without_debug(el, loop):
    assert not loop.get_debug()
    with pytest.raises(TypeError) as info:
        loop.call_soon("print")
    assert str(info.value) == "a callable object was expected by call_soon(), got 'print'"


async def _coroutine_function():
    pass


def test_call_soon_checks_in_debug_mode_like_asyncio(loops):
    def scenario(loop):
        loop.set_debug(True)
        messages = []
        coroutine = _coroutine_function()
        try:
            for callback in ("print", 42, _coroutine_function, coroutine):
                with pytest.raises(TypeError) as info:
                    loop.call_soon(callback)
                messages.append(str(info.value))
        finally:
            coroutine.close()
        return messages

    assert loops.compare(scenario) == [
        "a callable object was expected by call_soon(), got 'print'",
        "a callable object was expected by call_soon(), got 42",
        "coroutines cannot be used with call_soon()",
        "coroutines cannot be used with call_soon()",
    ]


def test_call_soon_refuses_a_coroutine_object_even_without_debug(el, loop):
    coroutine = _coroutine_function()
    try:
        with pytest.raises(TypeError, match=r"^coroutines cannot be used with call_soon\(\)$"):
            loop.call_soon(coroutine)
    finally:
        coroutine.close()


def test_coroutine_functions_are_only_checked_in_debug_mode(loops):
    """Like asyncio: the check costs too much for every call_soon."""

    def scenario(loop):
        handle = loop.call_soon(_coroutine_function)
        handle.cancel()  # never run it: it would only make an un-awaited coroutine
        run_once(loop)
        return handle.cancelled()

    assert loops.compare(scenario) is True


def test_debug_mode_refuses_call_soon_from_another_thread(loops):
    def scenario(loop):
        loop.set_debug(True)
        trace = []

        def from_thread():
            try:
                loop.call_soon(trace.append, "must not be queued")
            except RuntimeError as error:
                trace.append(str(error))

        def in_loop():
            thread = threading.Thread(target=from_thread)
            thread.start()
            thread.join()

        loop.call_soon(in_loop)
        loop.call_soon(loop.stop)
        loop.run_forever()
        # Not running: another thread may schedule (it's how a loop is prepared).
        thread = threading.Thread(target=lambda: loop.call_soon(trace.append, "queued while stopped"))
        thread.start()
        thread.join()
        run_once(loop)
        return trace

    assert loops.compare(scenario) == [
        "Non-thread-safe operation invoked on an event loop other than the current one",
        "queued while stopped",
    ]


# ---------------------------------------------------------------- asyncio knows us


DEBUG_PROBE = (
    "import asyncio, eventloop\n"
    "for loop in (asyncio.new_event_loop(), eventloop.new_event_loop()):\n"
    "    print(loop.get_debug(), end=' ')\n"
    "    loop.close()\n"
)


@pytest.mark.parametrize(
    "options, environment, expected",
    [
        ([], {}, "False False"),
        ([], {"PYTHONASYNCIODEBUG": "1"}, "True True"),
        (["-X", "dev"], {}, "True True"),
        (["-E"], {"PYTHONASYNCIODEBUG": "1"}, "False False"),  # -E: the environment is ignored
    ],
    ids=["default", "PYTHONASYNCIODEBUG", "dev-mode", "ignore-environment"],
)
def test_debug_mode_default_follows_asyncio(options, environment, expected):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"} | environment
    result = subprocess.run(
        [sys.executable, *options, "-W", "ignore", "-c", DEBUG_PROBE],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )
    assert result.stdout.split() == expected.split()


def test_is_an_abstract_event_loop(el, loop):
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert isinstance(loop, el.EventLoop)
    assert repr(loop) == f"<{type(loop).__name__} running=False closed=False debug=False>"
    assert type(loop) is el.EventLoop, "new_event_loop() makes the most capable layer so far"


def test_asyncio_set_event_loop_accepts_it(loop):
    """In a thread of its own, so that the main thread's policy state is untouched."""
    outcome = {}

    def in_thread():
        try:
            asyncio.set_event_loop(loop)
            try:
                outcome["current"] = asyncio.get_event_loop()
            finally:
                asyncio.set_event_loop(None)
        except BaseException as error:  # reported below, in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["current"] is loop
