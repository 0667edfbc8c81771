"""Chapter 4's contract for tasks and the loop's side, scenario by scenario against asyncio's.

Most scenarios run on two pairs of loops (`kind`):

* "asyncio-classes": asyncio's loop and ours, both making asyncio's C tasks;
* "our-classes": asyncio's loop with its pure-Python `tasks._PyTask` as task
  factory, and ours with the course's classes (`pure_python=True`; chapter 4's
  loop has no other kind).

The traces must be equal. Names are given to tasks so that reprs compare.
"""
import asyncio
import contextlib
import gc
import io
import re
import signal
import sys
import threading
import warnings
from asyncio import tasks

import pytest

CHAPTER = 4

#: For the scenarios that need chapter 5: asyncio.current_task(), async generators, run().
CHAPTER_5 = pytest.mark.chapter(5)


@pytest.fixture(params=["asyncio-classes", "our-classes"])
def kind(request):
    return request.param


@pytest.fixture
def pair(el, el_chapter, loops, new_loop, kind):
    """`pair.compare(scenario)`: asyncio's loop and ours, with the classes `kind` names."""
    def reference():
        loop = asyncio.new_event_loop()
        if kind == "our-classes":
            loop.set_task_factory(lambda loop, coro, **kwargs: tasks._PyTask(coro, loop=loop, **kwargs))
        return loop

    def ours():
        if el_chapter < 5:  # before chapter 5's switch: always the course's classes
            if kind == "asyncio-classes":
                pytest.skip("chapter 4's loop makes only the course's tasks")
            return el.EventLoop()
        return el.EventLoop(pure_python=kind == "our-classes")

    return type(loops)(new_loop, reference, ours)


def outcome(function, *args, **kwargs):
    """("ok", value) or (exception type name, message)."""
    try:
        return ("ok", function(*args, **kwargs))
    except BaseException as error:  # noqa: BLE001 - the trace records whatever it was
        return (type(error).__name__, str(error))


def without_addresses(text):
    """'<function f at 0x7f...>' -> '<function f>', 'Task-12' -> 'Task-N': the same on both loops."""
    return re.sub(r"Task-\d+", "Task-N", re.sub(r" at 0x[0-9a-f]+", "", text))


# ---------------------------------------------------------------- cancellation


def test_a_task_that_swallows_a_cancellation_at_a_bare_yield_runs_to_completion(pair):
    """The step that throws CancelledError clears `_must_cancel`: the request is spent.

    The task catches it and does not call uncancel(); every later bare yield
    (asyncio.sleep(0)) must resume it normally.
    """
    def scenario(loop):
        trace = []

        async def stubborn():
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as error:
                trace.append(("caught", error.args))
            for n in range(3):
                await asyncio.sleep(0)
                trace.append(f"yield {n} survived")
            return "finished"

        async def main():
            task = loop.create_task(stubborn(), name="stubborn")
            await asyncio.sleep(0)  # the task is now parked at its first bare yield
            assert task.cancel("stop")
            result = await task
            return result, task.cancelled(), task.cancelling()

        return loop.run_until_complete(main()), trace

    assert pair.compare(scenario) == (
        ("finished", False, 1),
        [("caught", ("stop",)), "yield 0 survived", "yield 1 survived", "yield 2 survived"],
    )


def test_cancellation_requests_are_counted_and_carry_their_message(pair):
    def scenario(loop):
        trace = []

        async def stubborn():
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as error:
                trace.append(("caught at the bare yield", error.args))
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError as error:
                trace.append(("caught at the future", error.args))
            return "done"

        async def never_started():
            trace.append("never started ran")

        async def main():
            task = loop.create_task(stubborn(), name="stubborn")
            await asyncio.sleep(0)
            task.cancel("one")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            trace.append(("waiting", task.done(), task.cancelling()))
            task.cancel("two")
            trace.append(("result", await task, task.cancelling()))

            early = loop.create_task(never_started(), name="early")
            early.cancel("before the first step")
            try:
                await early
            except asyncio.CancelledError as error:
                trace.append(("early", error.args, early.cancelled()))

            twice = loop.create_task(asyncio.sleep(3600), name="twice")
            await asyncio.sleep(0)
            trace.append(("twice", twice.cancel("first"), twice.cancel("second"), twice.cancelling()))
            try:
                await twice
            except asyncio.CancelledError as error:
                trace.append(("twice", error.args))
            trace.append(("cancel when done", twice.cancel(), task.cancel(), twice.cancelling()))
            return trace

        return loop.run_until_complete(main())

    assert pair.compare(scenario) == [
        ("caught at the bare yield", ("one",)),
        ("waiting", False, 1),
        ("caught at the future", ("two",)),
        ("result", "done", 2),
        ("early", ("before the first step",), True),
        ("twice", True, True, 2),
        ("twice", ("first",)),
        ("cancel when done", False, False, 2),
    ]


@CHAPTER_5
def test_a_task_that_cancels_itself(pair):
    """cancel() during the task's own step: thrown at the next await, or at the return."""
    def scenario(loop):
        trace = []

        async def then_awaits():
            asyncio.current_task().cancel("self, then await")
            try:
                await loop.create_future()  # the step cancels this future at once
            except asyncio.CancelledError as error:
                trace.append(("at the await", error.args))
                raise

        async def then_returns():
            asyncio.current_task().cancel("self, then return")
            return "a result nobody sees"

        async def main():
            for body in (then_awaits, then_returns):
                task = loop.create_task(body(), name=body.__name__)
                try:
                    await task
                except asyncio.CancelledError as error:
                    trace.append((body.__name__, error.args, task.cancelled()))
            return trace

        return loop.run_until_complete(main())

    assert pair.compare(scenario) == [
        ("at the await", ("self, then await",)),
        ("then_awaits", ("self, then await",), True),
        ("then_returns", ("self, then return",), True),
    ]


def test_uncancel_before_the_step_takes_the_request_back(pair, kind):
    """uncancel() down to 0 before the task ran: 3.13 forgets the request, 3.11/3.12 throw anyway.

    Python 3.13's Task.uncancel clears `_must_cancel` at 0 (tasks.py); 3.11's and
    3.12's C and Python tasks still throw the CancelledError. Ours follows the
    Python it runs on (chapter 4).
    """
    def scenario(loop):
        trace = []

        async def body():
            try:
                await asyncio.sleep(0)
                trace.append("ran on")
            except asyncio.CancelledError:
                trace.append("cancelled anyway")

        async def main():
            task = loop.create_task(body(), name="body")
            await asyncio.sleep(0)
            task.cancel()
            trace.append(task.uncancel())
            await task
            return trace

        return loop.run_until_complete(main())

    asyncio_trace, our_trace = pair.run(scenario)
    taken_back = sys.version_info >= (3, 13)
    assert asyncio_trace == [0, "ran on" if taken_back else "cancelled anyway"]
    assert our_trace == asyncio_trace


# ---------------------------------------------------------------- bad arguments, wrong states


def test_non_coroutines_are_refused(pair):
    def scenario(loop):
        def generator():
            yield

        async def coroutine_function():
            pass

        trace = []
        for thing in (42, None, coroutine_function, lambda: None, generator):
            trace.append(without_addresses(repr(outcome(loop.create_task, thing))))
        return trace

    assert pair.compare(scenario) == [
        "('TypeError', 'a coroutine was expected, got 42')",
        "('TypeError', 'a coroutine was expected, got None')",
        "('TypeError', 'a coroutine was expected, got "
        "<function test_non_coroutines_are_refused.<locals>.scenario.<locals>.coroutine_function>')",
        "('TypeError', 'a coroutine was expected, got "
        "<function test_non_coroutines_are_refused.<locals>.scenario.<locals>.<lambda>>')",
        "('TypeError', 'a coroutine was expected, got "
        "<function test_non_coroutines_are_refused.<locals>.scenario.<locals>.generator>')",
    ]


def test_task_constructor_refuses_a_non_coroutine(el, new_loop):
    loop = new_loop(el.EventLoop)
    with pytest.raises(TypeError, match="a coroutine was expected, got 42"):
        el.Task(42, loop=loop)
    assert not loop._ready, "a refused task schedules nothing"


@pytest.mark.parametrize("name", [None, "given", 42, ("a", "tuple")], ids=["None", "str", "int", "tuple"])
def test_task_names_are_strings(el, new_loop, name):
    loop = new_loop(el.EventLoop)
    names = []
    for task_class in (asyncio.Task, tasks._PyTask, el.Task):
        task = task_class(asyncio.sleep(0), loop=loop, name=name)
        task.cancel()
        names.append(task.get_name())
    loop.run_until_complete(asyncio.sleep(0))
    if name is None:  # each class counts on its own: Task-7, Task-8...
        names = [re.sub(r"^Task-\d+$", "Task-N", n) for n in names]
    assert names[2] == names[1] == names[0] == ("Task-N" if name is None else str(name))


def test_a_task_whose_constructor_fails_reports_nothing_when_collected(el, new_loop):
    """asyncio's C Task raises the TypeError and nothing else; so must ours.

    Today our Task's __del__ runs on the half-made object (the `_loop` class
    default is None) and "Exception ignored in: Task.__del__" reaches
    sys.unraisablehook. (asyncio's own pure-Python _PyTask has the same flaw.)
    """
    loop = new_loop(el.EventLoop)
    unraisable = []
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        coro = asyncio.sleep(0)
        with pytest.raises(TypeError):
            el.Task(coro, loop=loop, eager_start=True)  # Python 3.12's keyword, which we leave out
        coro.close()
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert [repr(u.exc_value) for u in unraisable] == []


def test_closed_loop_refuses_tasks_and_runs(pair):
    def scenario(loop):
        loop.close()
        trace = []
        for attempt in (loop.create_task, loop.run_until_complete):
            coro = asyncio.sleep(0)
            trace.append(outcome(attempt, coro))
            coro.close()
        return trace

    assert pair.compare(scenario) == [("RuntimeError", "Event loop is closed")] * 2


def test_run_until_complete_bad_arguments_and_states(pair):
    def scenario(loop):
        trace = []
        other = asyncio.new_event_loop()
        try:
            foreign = other.create_future()
            trace.append(outcome(loop.run_until_complete, foreign))
            foreign.cancel()
        finally:
            other.close()
        trace.append(outcome(loop.run_until_complete, 42))

        class Awaitable:
            def __await__(self):
                return (yield from asyncio.sleep(0, "from an awaitable").__await__())

        trace.append(outcome(loop.run_until_complete, Awaitable()))
        done = loop.create_future()
        done.set_result("already done")
        trace.append(outcome(loop.run_until_complete, done))
        cancelled = loop.create_future()
        cancelled.cancel("never mind")
        trace.append(outcome(loop.run_until_complete, cancelled))

        async def nested():
            coro = asyncio.sleep(0)
            try:
                return outcome(loop.run_until_complete, coro)
            finally:
                coro.close()

        trace.append(loop.run_until_complete(nested()))

        async def from_another_thread():
            results = []

            def attempt():
                coro = asyncio.sleep(0)
                results.append(outcome(loop.run_until_complete, coro))
                coro.close()

            thread = threading.Thread(target=attempt)
            thread.start()
            thread.join()
            return results[0]

        trace.append(loop.run_until_complete(from_another_thread()))

        async def stops_the_loop():
            loop.stop()
            await asyncio.sleep(3600)

        stopper = stops_the_loop()
        trace.append(outcome(loop.run_until_complete, stopper))
        stopper.close()
        return trace

    assert pair.compare(scenario) == [
        ("ValueError", "The future belongs to a different loop than the one specified as the loop argument"),
        ("TypeError", "An asyncio.Future, a coroutine or an awaitable is required"),
        ("ok", "from an awaitable"),
        ("ok", "already done"),
        ("CancelledError", "never mind"),
        ("RuntimeError", "This event loop is already running"),
        ("RuntimeError", "This event loop is already running"),
        ("RuntimeError", "Event loop stopped before Future completed."),
    ]


@CHAPTER_5
def test_tasks_refuse_bad_yields(pair):
    def scenario(loop):
        other = asyncio.new_event_loop()
        foreign = other.create_future()

        class Yields:
            """An awaitable that yields `value` to the task, as a broken library might."""

            def __init__(self, value):
                self.value = value

            def __await__(self):
                return (yield self.value)

        unblocked = loop.create_future()
        unblocked._asyncio_future_blocking = False  # a future yielded without `await`

        async def awaits(value):
            await Yields(value)

        async def awaits_itself():
            await asyncio.current_task()

        async def main():
            trace = []
            for name, coro in [("int", awaits(42)), ("str", awaits("s")),
                               ("generator", awaits(n for n in [])), ("foreign future", awaits(foreign)),
                               ("plain yield of a future", awaits(unblocked)), ("itself", awaits_itself())]:
                task = loop.create_task(coro, name=name)
                try:
                    await task
                except RuntimeError as error:
                    trace.append((name, without_addresses(str(error))))
            return trace

        try:
            return loop.run_until_complete(main())
        finally:
            foreign.cancel()
            unblocked.cancel()
            other.close()

    trace = pair.compare(scenario)
    assert [name for name, _ in trace] == [
        "int", "str", "generator", "foreign future", "plain yield of a future", "itself"]
    assert trace[0][1] == "Task got bad yield: 42"


@CHAPTER_5
def test_set_result_and_set_exception_are_refused(pair):
    def scenario(loop):
        async def main():
            task = asyncio.current_task()
            return [outcome(task.set_result, 1), outcome(task.set_exception, ValueError())]

        return loop.run_until_complete(main())

    assert pair.compare(scenario) == [
        ("RuntimeError", "Task does not support set_result operation"),
        ("RuntimeError", "Task does not support set_exception operation"),
    ]


# ---------------------------------------------------------------- names, reprs, stacks


def test_task_reprs_in_each_state(pair):
    def scenario(loop):
        reprs = []

        async def waits():
            await loop.create_future()

        async def fails():
            raise ValueError("failed")

        async def returns():
            return "value"

        async def main():
            task = loop.create_task(waits(), name="waits")
            reprs.append(repr(task))  # before its first step
            await asyncio.sleep(0)
            reprs.append(repr(task))  # waiting for a future
            task.cancel()
            reprs.append(repr(task))  # cancelling
            await asyncio.gather(task, return_exceptions=True)
            reprs.append(repr(task))
            for body in (fails, returns):
                done = loop.create_task(body(), name=42)  # names are str()-ed
                await asyncio.gather(done, return_exceptions=True)
                reprs.append(repr(done))
            done.set_name(("a", "tuple"))
            reprs.append(done.get_name())
            return reprs

        return [re.sub(r"\S+/test_04_tasks_contract\.py:\d+", "FILE:LINE", r.replace(
            "test_task_reprs_in_each_state.<locals>.scenario.<locals>.", "")) for r in loop.run_until_complete(main())]

    trace = pair.compare(scenario)
    assert trace[0] == "<Task pending name='waits' coro=<waits() running at FILE:LINE>>"
    assert trace[2].startswith("<Task cancelling name='waits' coro=<waits() running at FILE:LINE> wait_for=<Future cancelled")
    assert trace[3] == "<Task cancelled name='waits' coro=<waits() done, defined at FILE:LINE>>"
    assert trace[4] == "<Task finished name='42' coro=<fails() done, defined at FILE:LINE> exception=ValueError('failed')>"
    assert trace[5] == "<Task finished name='42' coro=<returns() done, defined at FILE:LINE> result='value'>"
    assert trace[6] == "('a', 'tuple')"


def test_get_stack_and_print_stack(pair, kind):
    if kind == "our-classes":
        pytest.skip("the course's Task gets get_stack()/print_stack() with the errors-and-debug chapter")

    def scenario(loop):
        trace = []

        async def inner():
            await asyncio.sleep(3600)

        async def fails():
            raise ValueError("from fails")

        def printed(task, **kwargs):
            out = io.StringIO()
            task.print_stack(file=out, **kwargs)
            lines = out.getvalue().splitlines()
            return lines[0].split(" <")[0], lines[-1]

        async def main():
            waiting = loop.create_task(inner(), name="inner")
            await asyncio.sleep(0)
            trace.append([frame.f_code.co_name for frame in waiting.get_stack()])
            trace.append(len(waiting.get_stack(limit=0)))
            trace.append(printed(waiting)[0])
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            trace.append(waiting.get_stack())
            trace.append(printed(waiting)[0])
            failed = loop.create_task(fails(), name="fails")
            await asyncio.gather(failed, return_exceptions=True)
            trace.append(failed.get_stack()[-1].f_code.co_name)  # the innermost frame of the traceback
            trace.append(printed(failed))
            return trace

        return loop.run_until_complete(main())

    assert pair.compare(scenario) == [
        ["inner"], 0, "Stack for", [], "No stack for", "fails", ("Traceback for", "ValueError: from fails"),
    ]


def test_debug_mode_says_where_a_task_was_created(el, el_chapter, loops, new_loop, kind):
    """`created at` names create_task's caller, not create_task itself.

    asyncio's create_task drops its own frame from the task's
    _source_traceback (base_events.py, create_task, 3.11-3.13), when it makes
    the task itself; with a task factory the last frame is the factory's.
    Compared with asyncio's loop making its own tasks, whichever class ours makes.
    """
    if el_chapter < 5 and kind == "asyncio-classes":
        pytest.skip("chapter 4's loop makes only the course's tasks")
    ours = el.EventLoop if el_chapter < 5 else (lambda: el.EventLoop(pure_python=kind == "our-classes"))
    pair = type(loops)(new_loop, asyncio.new_event_loop, ours)

    def scenario(loop):
        loop.set_debug(True)

        async def nothing():
            pass

        async def main():
            created = [loop.create_task(nothing(), name="direct"), asyncio.ensure_future(nothing())]
            await asyncio.gather(*created)
            # A factory's frame has its own name on each side ("<lambda>", "task_factory").
            factory = loop.get_task_factory()
            return ["the factory" if factory and frame.name == factory.__name__ else frame.name
                    for frame in (task._source_traceback[-1] for task in created)]

        return loop.run_until_complete(main())

    trace = pair.compare(scenario)
    assert trace[0] == "main" and trace[1].endswith("ensure_future")  # 3.13 renamed _ensure_future


# ---------------------------------------------------------------- task factories


def test_set_task_factory_refuses_non_callables(pair):
    def scenario(loop):
        trace = [outcome(loop.set_task_factory, 42), outcome(loop.set_task_factory, "factory")]

        def failing(loop, coro):
            coro.close()
            raise LookupError("the factory failed")

        loop.set_task_factory(failing)
        trace.append(outcome(loop.create_task, asyncio.sleep(0)))
        return trace

    assert pair.compare(scenario) == [
        ("TypeError", "task factory must be a callable or None"),
        ("TypeError", "task factory must be a callable or None"),
        ("LookupError", "the factory failed"),
    ]


def _factory_without_set_name(loop, coro, **kwargs):
    """A factory returning a future, not a task: it has no set_name()."""
    coro.close()
    fut = asyncio.Future(loop=loop)  # the same class on both loops, so that messages compare
    fut.set_result("made by the factory")
    return fut


def test_a_task_factory_result_without_set_name(loops):
    """create_task(name=...) when the factory's result has no set_name().

    Python 3.11 and 3.12 warn (DeprecationWarning, attributed to create_task's
    caller) and return the result (tasks._set_task_name, called by
    base_events.create_task); 3.13 calls task.set_name(name) and lets the
    AttributeError through.
    """
    def scenario(loop):
        loop.set_task_factory(_factory_without_set_name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            made = outcome(loop.create_task, asyncio.sleep(0), name="named")
        made = made if made[0] != "ok" else ("ok", made[1].result())
        return made, [(w.category.__name__, str(w.message), w.filename) for w in caught
                      if issubclass(w.category, DeprecationWarning)]  # not a stray GC warning

    trace = loops.compare(scenario)
    if sys.version_info < (3, 13):
        assert trace == (("ok", "made by the factory"), [(
            "DeprecationWarning",
            "Task.set_name() was added in Python 3.8, the method support will be mandatory "
            "for third-party task implementations since 3.13.",
            __file__,
        )])
    else:
        assert trace == (("AttributeError", "'_asyncio.Future' object has no attribute 'set_name'"), [])


@pytest.mark.skipif(sys.version_info < (3, 13), reason="3.11 and 3.12 only set a name that was given")
def test_a_task_factory_without_a_name_keeps_its_tasks_names(el, loops):
    """Deliberate, on Python 3.13.0: create_task() without a name does not call set_name(None).

    3.13.0's base_events.create_task calls `task.set_name(name)` unconditionally,
    so every task a factory makes is renamed "None" and a result without
    set_name() raises AttributeError (CPython issue gh-130033 calls it a bug).
    Ours sets a name only when one is given, as 3.11 and 3.12 do; chapter 4
    says so.
    """
    def scenario(loop):
        loop.set_task_factory(lambda loop, coro, **kwargs: asyncio.Task(coro, loop=loop, **kwargs))

        async def main():
            task = loop.create_task(asyncio.sleep(0))
            await task
            loop.set_task_factory(_factory_without_set_name)
            return re.sub(r"\d+", "N", task.get_name()), outcome(loop.create_task, asyncio.sleep(0))[0]

        return loop.run_until_complete(main())

    asyncio_trace, our_trace = loops.run(scenario)
    if sys.version_info[:3] == (3, 13, 0):
        assert asyncio_trace == ("None", "AttributeError")
    assert our_trace == ("Task-N", "ok")


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are new in Python 3.12")
def test_asyncio_eager_task_factory_works_on_our_loop(loops):
    def scenario(loop):
        loop.set_task_factory(asyncio.eager_task_factory)
        trace = []

        async def child(n):
            trace.append(("starts", n))
            if n:
                await asyncio.sleep(0)
            trace.append(("ends", n))
            return n

        async def main():
            first = loop.create_task(child(0), name="c0")
            trace.append(("created", 0, first.done()))
            second = loop.create_task(child(1), name="c1")
            trace.append(("created", 1, second.done()))
            return await asyncio.gather(first, second), trace

        return loop.run_until_complete(main())

    assert loops.compare(scenario) == ([0, 1], [
        ("starts", 0), ("ends", 0), ("created", 0, True), ("starts", 1), ("created", 1, False), ("ends", 1)])


# ---------------------------------------------------------------- async generators


@CHAPTER_5
def test_an_async_generator_started_after_shutdown_asyncgens_warns(pair):
    def scenario(loop):
        async def ticker():
            yield 1

        async def late():
            agen = ticker()
            await agen.__anext__()
            await agen.aclose()

        loop.run_until_complete(loop.shutdown_asyncgens())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loop.run_until_complete(late())
        loop.run_until_complete(loop.shutdown_asyncgens())  # a second call is harmless
        return [(w.category.__name__, re.sub(r" at 0x[0-9a-f]+", "", str(w.message))) for w in caught]

    assert pair.compare(scenario) == [(
        "ResourceWarning",
        "asynchronous generator <async_generator object "
        "test_an_async_generator_started_after_shutdown_asyncgens_warns.<locals>.scenario.<locals>.ticker>"
        " was scheduled after loop.shutdown_asyncgens() call",
    )]


# ---------------------------------------------------------------- entry points


@CHAPTER_5
@pytest.mark.parametrize("main", [42, None, "lambda", "future"], ids=["int", "None", "function", "future"])
def test_run_refuses_what_asyncio_run_refuses(el, main):
    def attempt(runner):
        other = asyncio.new_event_loop()
        try:
            argument = {"lambda": lambda: None, "future": other.create_future()}.get(main, main)
            return without_addresses(repr(outcome(runner, argument)))
        finally:
            other.close()

    assert attempt(el.run) == attempt(asyncio.run)
    assert asyncio._get_running_loop() is None


@CHAPTER_5
def test_run_inside_a_running_loop_is_refused(el):
    """As asyncio.run(); deliberate: the message names eventloop.run()."""
    async def nested():
        coro = asyncio.sleep(0)
        try:
            return outcome(el.run, coro)
        finally:
            coro.close()

    assert el.run(nested()) == ("RuntimeError", "eventloop.run() cannot be called from a running event loop")


@CHAPTER_5
def test_policy_makes_our_loops_and_refuses_other_threads_as_asyncio(el):
    policy = el.EventLoopPolicy()
    loop = policy.new_event_loop()
    try:
        assert type(loop) is el.EventLoop
    finally:
        loop.close()
    results = []

    def in_a_thread():
        results.append(outcome(policy.get_event_loop)[0])
        results.append(outcome(asyncio.DefaultEventLoopPolicy().get_event_loop)[0])

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert results == ["RuntimeError", "RuntimeError"]


# ---------------------------------------------------------------- odd timeouts, end to end


class TooSlow(Exception):
    """The scenario did not finish within its few seconds."""


@contextlib.contextmanager
def fails_after(seconds):
    """Turn a hang (or a busy loop) into TooSlow, raised again every 0.1 s until it escapes.

    Shorter than conftest's hang_guard, whose timer is restored afterwards.
    """
    def on_alarm(signum, frame):
        raise TooSlow(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    remaining, interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


def _ends(runner, make_main):
    with fails_after(3):
        result = outcome(runner, make_main())
    return result if result[0] == "ok" else (result[0],)


async def _sleep_nan():
    return await asyncio.sleep(float("nan"), "slept")


def _wait_for(inner, timeout):
    async def main():
        return await asyncio.wait_for(inner(), timeout=timeout)
    return main


async def _quick():
    return await asyncio.sleep(0, "quick")


async def _slow():
    return await asyncio.sleep(3600, "slow")


@CHAPTER_5
@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -float("inf"), -1, 0, 1e300],
                         ids=["nan", "inf", "-inf", "-1", "0", "1e300"])
def test_wait_for_with_odd_timeouts_ends_as_under_asyncio_run(el, timeout):
    inners = [_quick]
    if not timeout > 1:  # a slow inner coroutine only where the timeout must cut it short
        inners.append(_slow)
    for inner in inners:
        main = _wait_for(inner, timeout)
        expected, actual = _ends(asyncio.run, main), _ends(el.run, main)
        if sys.version_info >= (3, 13) and timeout != timeout and inner is _slow:
            # Once only the NaN timer is left, 3.13's loop hands NaN to its
            # selector, whose select() raises ValueError (selectors.py,
            # math.ceil); 3.11/3.12 fire the timer at once: TimeoutError.
            assert expected == ("ValueError",)
            assert actual in (expected, ("TimeoutError",)), actual
        else:
            assert actual == expected


@CHAPTER_5
def test_sleep_nan_ends_as_under_asyncio_run(el):
    """3.11/3.12: the NaN timer fires at once; 3.13's asyncio.sleep raises ValueError."""
    assert _ends(el.run, _sleep_nan) == _ends(asyncio.run, _sleep_nan)
