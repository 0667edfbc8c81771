"""Chapter 4: tasks, and the loop's side of them (create_task, task factories,
run_until_complete).

On a chapter-4 snapshot the loop's tasks are always the course's `Task`; on the
final package they are asyncio's unless `pure_python=True` (chapter 5), so the
tests that care say which class they expect.
"""
import asyncio
import contextvars

import pytest

CHAPTER = 4


def run(loop, coro):
    return loop.run_until_complete(coro)


def expected_task_class(el, el_chapter):
    """The class `create_task` makes on a loop of `el` with no options (chapter 5 made asyncio's the default)."""
    return el.Task if el_chapter < 5 else asyncio.Task


def test_create_task_makes_the_loops_task_class(el, el_chapter, monkeypatch, loop):
    monkeypatch.delenv("EVENTLOOP_PURE_PYTHON", raising=False)
    async def main():
        return "ran"

    task = loop.create_task(main(), name="named")
    assert type(task) is expected_task_class(el, el_chapter)
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
