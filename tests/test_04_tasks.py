"""Chapter 4: tasks, and the loop's side of them (create_task, task factories,
run_until_complete).

On a chapter-4 snapshot the loop's tasks are always the course's `Task`; on the
final package they are asyncio's unless `pure_python=True` (chapter 5), so the
tests that care say which class they expect.
"""
import asyncio
import contextlib
import contextvars
import sys

import pytest

CHAPTER = 4


def run(loop, coro):
    return loop.run_until_complete(coro)


def expected_task_class(el):
    """The class `create_task` makes on a loop of `el` with no options."""
    return el.Task if el.__name__ == "eventloop_ch04" else asyncio.Task


def test_create_task_makes_the_loops_task_class(el, monkeypatch, loop):
    monkeypatch.delenv("EVENTLOOP_PURE_PYTHON", raising=False)
    async def main():
        return "ran"

    task = loop.create_task(main(), name="named")
    assert type(task) is expected_task_class(el)
    assert task.get_name() == "named"
    assert run(loop, task) == "ran"


def test_our_task_runs_on_the_loop_and_reports_its_steps(el, loop):
    steps = []

    async def three_steps():
        for n in range(3):
            steps.append(n)
            await asyncio.sleep(0)
        return "done"

    task = el.Task(three_steps(), loop=loop, name="three")
    assert run(loop, task) == "done"
    assert steps == [0, 1, 2]
    assert repr(task).startswith("<Task finished name='three' coro=<")
    assert "three_steps() done, defined at " in repr(task) and repr(task).endswith(" result='done'>")


def test_create_task_refuses_on_a_closed_loop(loop):
    loop.close()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.create_task(coro)
    coro.close()


def test_task_factory_errors_and_getter(el, new_loop):
    loop = new_loop(el.new_event_loop)
    with pytest.raises(TypeError):
        loop.set_task_factory(42)
    assert loop.get_task_factory() is None
    loop.set_task_factory(el.task_factory)
    assert loop.get_task_factory() is el.task_factory
    loop.set_task_factory(None)
    assert loop.get_task_factory() is None


def test_task_factory_receives_loop_coro_and_context(el, new_loop):
    loop = new_loop(el.new_event_loop)
    calls = []

    def factory(loop, coro, **kwargs):
        calls.append(sorted(kwargs))
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)

    async def main():
        await loop.create_task(asyncio.sleep(0), name="named")
        await loop.create_task(asyncio.sleep(0), context=contextvars.copy_context())

    run(loop, main())
    assert calls == [[], [], ["context"]]  # main() itself, then the two


def test_run_until_complete_result_future_and_exception(loop):

    async def boom():
        raise KeyError("inside")

    assert run(loop, asyncio.sleep(0, "value")) == "value"
    fut = loop.create_future()
    loop.call_soon(fut.set_result, 7)
    assert loop.run_until_complete(fut) == 7
    with pytest.raises(KeyError):
        run(loop, boom())
    assert not loop.is_running()
    assert run(loop, asyncio.sleep(0, "again")) == "again", "the loop is reusable after a failure"


def test_run_until_complete_stops_when_the_future_fails(loop):
    trace = []

    async def boom():
        await asyncio.sleep(0)
        raise ValueError

    loop.call_later(0.05, trace.append, "a later timer")
    with pytest.raises(ValueError):
        run(loop, boom())
    assert trace == [], "the loop must stop as soon as the future is done, not run on"


def test_run_until_complete_stopped_early(loop):

    async def stopper():
        asyncio.get_running_loop().stop()
        await asyncio.sleep(10)

    with pytest.raises(RuntimeError, match="Event loop stopped before Future completed."):
        run(loop, stopper())


def test_run_until_complete_refuses_when_closed_or_running(loop):

    async def nested():
        coro = asyncio.sleep(0)
        try:
            loop.run_until_complete(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match="already running"):
        run(loop, nested())
    loop.close()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="closed"):
        loop.run_until_complete(coro)
    coro.close()




def test_uncancel_to_zero_follows_the_running_python(el, loop):
    """3.13's uncancel() forgets a cancellation requested before the task ran; 3.11/3.12 don't."""
    results = []
    for task_class in (asyncio.tasks._PyTask, el.Task):
        async def quick():
            return "finished"

        task = task_class(quick(), loop=loop)
        task.cancel()
        task.uncancel()
        try:
            results.append(("result", run(loop, task)))
        except asyncio.CancelledError:
            results.append(("cancelled", task.cancelled()))
    assert results[1] == results[0]


class NamelessTask:
    """What a careless task factory returns: a future-like task without set_name()."""

    def __init__(self, loop, coro):
        self.task = asyncio.Task(coro, loop=loop)


def test_a_task_factory_without_set_name_follows_the_running_python(el, loop):
    """create_task(name=...) on a nameless task: 3.11/3.12 warn and go on, 3.13 raises."""
    results = []
    for make_loop in (asyncio.new_event_loop, lambda: loop):
        this_loop = make_loop()
        made = []
        this_loop.set_task_factory(lambda loop, coro: made.append(NamelessTask(loop, coro)) or made[-1])
        try:
            warns = pytest.warns(DeprecationWarning, match="set_name") if sys.version_info < (3, 13) else contextlib.nullcontext()
            with warns:
                result = outcome(lambda: type(this_loop.create_task(asyncio.sleep(0), name="x")).__name__)
            results.append(result)
            this_loop.run_until_complete(made[0].task)  # made either way: let it finish
        finally:
            if this_loop is not loop:
                this_loop.close()
    assert results[1] == results[0]
    assert results[0][0] == ("ok" if sys.version_info < (3, 13) else "AttributeError")


def outcome(action):
    try:
        return "ok", action()
    except Exception as error:
        return type(error).__name__, str(error)
