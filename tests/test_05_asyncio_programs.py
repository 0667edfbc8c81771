"""Chapter 5: asyncio programs on our loop — the current task, the choice of
Future/Task classes (`pure_python`), async generators, shutdown, and the entry
points (run, Runner, policies).

Most tests run twice per package: on a loop with asyncio's C `Future`/`Task`
(the package's default) and on one with the course's (`pure_python=True`).
"""
import asyncio
import contextvars
import gc
import os
import sys
import threading
from pathlib import Path

import pytest

CHAPTER = 5


@pytest.fixture(params=["asyncio-classes", "our-classes"])
def kind(request):
    return request.param


@pytest.fixture
def make_loop(el, new_loop, kind):
    """make_loop() -> a loop of `el` using the classes `kind` names; closed after the test."""
    def make():
        return new_loop(lambda: el.EventLoop(pure_python=kind == "our-classes"))
    return make


@pytest.fixture
def classes(el, kind):
    """(Future class, Task class) that the loop under test should produce."""
    if kind == "our-classes":
        return el.Future, el.Task
    return asyncio.Future, asyncio.Task


def run(loop, coro):
    return loop.run_until_complete(coro)


def collect_context(loop):
    """Route the loop's exception handler into a list of contexts."""
    seen = []
    loop.set_exception_handler(lambda loop, context: seen.append(context))
    return seen


# ---------------------------------------------------------------- which classes


def test_create_future_and_task_make_the_chosen_classes(make_loop, classes):
    loop = make_loop()
    future_class, task_class = classes

    async def main():
        assert type(asyncio.current_task()) is task_class
        fut = loop.create_future()
        assert type(fut) is future_class
        loop.call_soon(fut.set_result, "ok")
        return await fut

    assert run(loop, main()) == "ok"


def test_default_loop_uses_asyncio_c_classes(el, new_loop, monkeypatch):
    monkeypatch.delenv("EVENTLOOP_PURE_PYTHON", raising=False)
    loop = new_loop(el.new_event_loop)
    assert type(loop.create_future()) is asyncio.Future
    assert loop.get_task_factory() is None
    loop.create_future().cancel()


@pytest.mark.parametrize("value, pure", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_environment_sets_the_default(el, new_loop, monkeypatch, value, pure):
    monkeypatch.setenv("EVENTLOOP_PURE_PYTHON", value)
    loop = new_loop(el.new_event_loop)
    assert type(loop.create_future()) is (el.Future if pure else asyncio.Future)
    assert type(new_loop(lambda: el.EventLoop(pure_python=False)).create_future()) is asyncio.Future
    assert type(new_loop(lambda: el.EventLoop(pure_python=True)).create_future()) is el.Future


def test_python_dash_E_ignores_the_environment(el, tmp_path):
    import subprocess
    program = (
        "import asyncio, sys; sys.path[:0] = sys.argv[1:]; import %s as el; "
        "loop = el.new_event_loop(); print(type(loop.create_future()).__module__); loop.close()"
    ) % el.__name__
    where = str(Path(el.__file__).parent.parent)
    env = {**os.environ, "EVENTLOOP_PURE_PYTHON": "1"}
    plain = subprocess.run([sys.executable, "-c", program, where], env=env, capture_output=True, text=True, check=True)
    ignored = subprocess.run([sys.executable, "-E", "-c", program, where], env=env, capture_output=True, text=True, check=True)
    assert plain.stdout.strip() == f"{el.__name__}.futures"
    assert ignored.stdout.strip() == "_asyncio"


def test_run_with_pure_python(el, monkeypatch):
    monkeypatch.delenv("EVENTLOOP_PURE_PYTHON", raising=False)

    async def classes():
        await asyncio.sleep(0)
        return type(asyncio.current_task()), type(asyncio.get_running_loop().create_future())

    assert el.run(classes(), pure_python=True) == (el.Task, el.Future)
    assert el.run(classes()) == (asyncio.Task, asyncio.Future)


# ---------------------------------------------------------------- asyncio on our loop


def test_sleep_and_gather(make_loop):
    loop = make_loop()

    async def square(n):
        await asyncio.sleep(0.001 * n)
        return n * n

    async def main():
        return await asyncio.gather(*(square(n) for n in range(5)), asyncio.sleep(0, "x"))

    assert run(loop, main()) == [0, 1, 4, 9, 16, "x"]


def test_gather_propagates_and_return_exceptions(make_loop):
    loop = make_loop()

    async def boom():
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def main():
        results = await asyncio.gather(boom(), asyncio.sleep(0, 1), return_exceptions=True)
        assert isinstance(results[0], ValueError) and results[1] == 1
        with pytest.raises(ValueError):
            await asyncio.gather(boom())
        return "done"

    assert run(loop, main()) == "done"


def test_wait_first_completed(make_loop):
    loop = make_loop()

    async def main():
        fast = asyncio.ensure_future(asyncio.sleep(0.001, "fast"))
        slow = asyncio.ensure_future(asyncio.sleep(10, "slow"))
        done, pending = await asyncio.wait({fast, slow}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {fast} and pending == {slow}
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        assert slow.cancelled()
        return fast.result()

    assert run(loop, main()) == "fast"


def test_wait_for_times_out_and_cancels(make_loop):
    loop = make_loop()
    trace = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            trace.append("cancelled")
            raise

    async def main():
        assert await asyncio.wait_for(asyncio.sleep(0, "quick"), timeout=1) == "quick"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow(), timeout=0.01)
        return trace

    assert run(loop, main()) == ["cancelled"]


def test_timeout_context_manager(make_loop):
    loop = make_loop()

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        assert asyncio.current_task().cancelling() == 0, "timeout() must uncancel() what it cancelled"
        async with asyncio.timeout(1):
            await asyncio.sleep(0)
        return "survived"

    assert run(loop, main()) == "survived"


def test_timeout_does_not_swallow_outside_cancellation(make_loop):
    loop = make_loop()

    async def inner():
        async with asyncio.timeout(10):
            await asyncio.sleep(10)

    async def main():
        task = asyncio.ensure_future(inner())
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert run(loop, main()) is True


def test_taskgroup(make_loop):
    loop = make_loop()

    async def child(n):
        await asyncio.sleep(0.001 * n)
        return n

    async def failing():
        await asyncio.sleep(0.001)
        raise ValueError("child failed")

    async def main():
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(child(n), name=f"child-{n}") for n in range(3)]
        assert [t.result() for t in tasks] == [0, 1, 2]
        assert [t.get_name() for t in tasks] == ["child-0", "child-1", "child-2"]
        sibling = None
        with pytest.raises(ExceptionGroup) as caught:
            async with asyncio.TaskGroup() as group:
                sibling = group.create_task(asyncio.sleep(10))
                group.create_task(failing())
        assert sibling.cancelled()
        assert [type(e) for e in caught.value.exceptions] == [ValueError]
        return "ok"

    assert run(loop, main()) == "ok"


def test_shield(make_loop):
    loop = make_loop()

    async def main():
        inner = asyncio.ensure_future(asyncio.sleep(0.01, "inner result"))
        outer = asyncio.ensure_future(asyncio.shield(inner))
        await asyncio.sleep(0)
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        assert not inner.cancelled()
        return await inner

    assert run(loop, main()) == "inner result"


def test_queue_producer_consumer(make_loop):
    loop = make_loop()

    async def main():
        queue = asyncio.Queue(maxsize=2)
        received = []

        async def producer():
            for n in range(10):
                await queue.put(n)
            await queue.put(None)

        async def consumer():
            while (item := await queue.get()) is not None:
                received.append(item)
                queue.task_done()
            queue.task_done()

        await asyncio.gather(producer(), consumer())
        await queue.join()
        return received

    assert run(loop, main()) == list(range(10))


def test_lock_event_semaphore(make_loop):
    loop = make_loop()

    async def main():
        lock = asyncio.Lock()
        inside = 0
        most = 0
        semaphore = asyncio.Semaphore(2)
        event = asyncio.Event()

        async def locked():
            nonlocal inside, most
            await event.wait()
            async with lock:
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.001)
                inside -= 1

        async def limited():
            nonlocal inside, most
            async with semaphore:
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.001)
                inside -= 1

        waiters = [asyncio.ensure_future(locked()) for _ in range(4)]
        await asyncio.sleep(0.001)
        assert not any(w.done() for w in waiters), "nobody passes event.wait() before set()"
        event.set()
        await asyncio.gather(*waiters)
        lock_most, most = most, 0
        await asyncio.gather(*(limited() for _ in range(6)))
        return lock_most, most

    assert run(loop, main()) == (1, 2)


def test_condition_and_barrier(make_loop):
    loop = make_loop()

    async def main():
        condition = asyncio.Condition()
        items = []

        async def waiter():
            async with condition:
                await condition.wait_for(lambda: items)
                return items.pop()

        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        async with condition:
            items.append("item")
            condition.notify()
        got = await task

        barrier = asyncio.Barrier(3)
        order = []

        async def party(n):
            await asyncio.sleep(0.001 * n)
            order.append(f"arrive {n}")
            await barrier.wait()
            order.append("through")

        await asyncio.gather(*(party(n) for n in range(3)))
        return got, order

    got, order = run(loop, main())
    assert got == "item"
    assert order == ["arrive 0", "arrive 1", "arrive 2", "through", "through", "through"]


def test_contextvars_are_copied_per_task(make_loop):
    loop = make_loop()
    var = contextvars.ContextVar("var", default="unset")

    async def child(value):
        var.set(value)
        await asyncio.sleep(0)
        return var.get()

    async def main():
        var.set("parent")
        results = await asyncio.gather(child("a"), child("b"))
        return results, var.get()

    assert run(loop, main()) == (["a", "b"], "parent")


def test_create_task_with_context_and_name(make_loop):
    loop = make_loop()
    var = contextvars.ContextVar("var", default="unset")
    context = contextvars.copy_context()
    context.run(var.set, "from the given context")

    async def read():
        return var.get()

    async def main():
        task = loop.create_task(read(), name="reader", context=context)
        assert task.get_name() == "reader"
        return await task

    assert run(loop, main()) == "from the given context"


# ---------------------------------------------------------------- current_task / all_tasks


def test_current_task_and_all_tasks_see_our_tasks(make_loop, classes):
    loop = make_loop()
    _, task_class = classes

    async def sleeper():
        await asyncio.sleep(10)

    async def main():
        me = asyncio.current_task()
        assert isinstance(me, task_class)
        other = loop.create_task(sleeper())
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {me, other}
        other.cancel()
        await asyncio.gather(other, return_exceptions=True)
        assert asyncio.all_tasks() == {me}
        return me

    me = run(loop, main())
    assert asyncio.current_task(loop) is None, "no task is current once the step is over"
    assert me.done()


def test_task_repr_name_and_cancel_message(el, new_loop):
    loop = new_loop(lambda: el.EventLoop(pure_python=True))

    async def forever():
        await loop.create_future()

    async def main():
        task = loop.create_task(forever(), name="sleepy")
        await asyncio.sleep(0)
        assert repr(task).startswith("<Task pending name='sleepy' coro=<")
        assert "wait_for=<Future pending cb=[Task.__wakeup()]>" in repr(task)
        task.cancel("enough")
        assert task.cancelling() == 1
        assert repr(task).startswith("<Task cancelling name='sleepy'")
        try:
            await task
        except asyncio.CancelledError as error:
            return error.args, task.cancelled()

    assert run(loop, main()) == (("enough",), True)


def test_get_running_loop_is_set_and_restored(make_loop):
    loop = make_loop()

    async def main():
        return asyncio.get_running_loop()

    assert run(loop, main()) is loop
    assert asyncio._get_running_loop() is None
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_another_loop_running_in_the_thread(make_loop):
    outer, inner = make_loop(), make_loop()

    async def main():
        with pytest.raises(RuntimeError, match="another loop is running"):
            inner.run_forever()
        return "refused"

    assert run(outer, main()) == "refused"


def test_shutdown_default_executor_is_a_coroutine(make_loop):
    loop = make_loop()
    assert asyncio.iscoroutinefunction(loop.shutdown_default_executor)
    assert run(loop, loop.shutdown_default_executor()) is None
    assert run(loop, loop.shutdown_default_executor(timeout=1)) is None


# ---------------------------------------------------------------- async generators


def test_shutdown_asyncgens_finalizes(make_loop):
    loop = make_loop()
    trace = []

    async def ticker():
        try:
            for n in range(100):
                yield n
        finally:
            await asyncio.sleep(0)  # aclose() may await
            trace.append("finalized")

    async def take_one():
        agen = ticker()
        value = await agen.__anext__()
        return agen, value

    agen, value = run(loop, take_one())
    assert value == 0 and trace == []
    run(loop, loop.shutdown_asyncgens())
    assert trace == ["finalized"]


def test_asyncgen_finalizer_hook_closes_collected_generators(make_loop):
    loop = make_loop()
    trace = []

    async def ticker():
        try:
            for n in range(100):
                yield n
        finally:
            trace.append("finalized")

    async def main():
        agen = ticker()
        await agen.__anext__()
        del agen
        gc.collect()
        for _ in range(3):
            await asyncio.sleep(0)
        return trace

    assert run(loop, main()) == ["finalized"]


def test_asyncgen_hooks_installed_while_running_and_restored(make_loop):
    loop = make_loop()
    before = sys.get_asyncgen_hooks()

    async def main():
        return sys.get_asyncgen_hooks()

    during = run(loop, main())
    assert during.firstiter == loop._asyncgen_firstiter_hook
    assert during.finalizer == loop._asyncgen_finalizer_hook
    assert sys.get_asyncgen_hooks() == before


def test_asyncgen_error_on_close_goes_to_exception_handler(make_loop):
    loop = make_loop()
    seen = collect_context(loop)

    async def stubborn():
        try:
            yield 1
        finally:
            raise ValueError("cannot close")

    async def start():
        agen = stubborn()
        await agen.__anext__()
        return agen

    agen = run(loop, start())
    run(loop, loop.shutdown_asyncgens())
    assert len(seen) == 1
    assert seen[0]["asyncgen"] is agen and isinstance(seen[0]["exception"], ValueError)


# ---------------------------------------------------------------- warnings via the handler


def test_task_destroyed_pending_reaches_the_handler(make_loop):
    loop = make_loop()
    seen = collect_context(loop)

    async def forever():
        await asyncio.sleep(10)

    async def main():
        loop.create_task(forever())  # nobody keeps it
        await asyncio.sleep(0)

    run(loop, main())
    loop.close()
    gc.collect()
    messages = [c["message"] for c in seen]
    assert messages == ["Task was destroyed but it is pending!"]


def test_exception_never_retrieved_reaches_the_handler(make_loop):
    loop = make_loop()
    seen = collect_context(loop)

    async def boom():
        raise ValueError("lost")

    async def main():
        loop.create_task(boom())
        fut = loop.create_future()
        fut.set_exception(KeyError("also lost"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(loop, main())
    gc.collect()
    found = sorted((c["message"], type(c["exception"]).__name__) for c in seen)
    assert found == [
        ("Future exception was never retrieved", "KeyError"),
        ("Task exception was never retrieved", "ValueError"),
    ]


def test_retrieved_exceptions_are_not_reported(make_loop):
    loop = make_loop()
    seen = collect_context(loop)

    async def main():
        fut = loop.create_future()
        fut.set_exception(KeyError("seen"))
        assert isinstance(fut.exception(), KeyError)

    run(loop, main())
    gc.collect()
    assert seen == []


# ---------------------------------------------------------------- entry points


async def _which_loop():
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_run(el):
    assert el.run(_which_loop()) is el.EventLoop
    assert asyncio._get_running_loop() is None


def test_run_sets_the_current_event_loop_and_debug(el):
    async def main():
        policy_loop = asyncio.get_event_loop_policy().get_event_loop()
        return policy_loop is asyncio.get_running_loop(), asyncio.get_running_loop().get_debug()

    assert el.run(main(), debug=True) == (True, True)
    assert el.run(main(), debug=False) == (True, False)


def test_run_cancels_leftovers_and_closes(el):
    trace = []
    loops = []

    async def leftover():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            trace.append("leftover cancelled")
            raise

    async def main():
        loops.append(asyncio.get_running_loop())
        asyncio.get_running_loop().create_task(leftover())
        await asyncio.sleep(0)
        return "main done"

    assert el.run(main()) == "main done"
    assert trace == ["leftover cancelled"]
    assert loops[0].is_closed()


def test_run_propagates_and_refuses_nesting(el):
    async def boom():
        raise LookupError("from main")

    with pytest.raises(LookupError):
        el.run(boom())

    async def nested():
        coro = _which_loop()
        try:
            el.run(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
        asyncio.run(nested())


def test_asyncio_runner_with_our_loop_factory(el):
    with asyncio.Runner(loop_factory=el.new_event_loop) as runner:
        assert runner.run(_which_loop()) is el.EventLoop
        assert runner.run(asyncio.sleep(0, "second run")) == "second run"
        loop = runner.get_loop()
    assert loop.is_closed()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=...) is new in Python 3.12")
def test_asyncio_run_with_loop_factory(el):
    assert asyncio.run(_which_loop(), loop_factory=el.new_event_loop) is el.EventLoop


def test_install_sets_the_policy(el):
    old = asyncio.get_event_loop_policy()
    try:
        el.install()
        assert isinstance(asyncio.get_event_loop_policy(), el.EventLoopPolicy)
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, el.EventLoop)
        finally:
            loop.close()
        assert asyncio.run(_which_loop()) is el.EventLoop
    finally:
        asyncio.set_event_loop_policy(old)
    assert not isinstance(asyncio.get_event_loop_policy(), el.EventLoopPolicy)


def test_run_in_a_thread(el):
    """A loop per thread: run() works off the main thread (no SIGINT handler there)."""
    results = []
    thread = threading.Thread(target=lambda: results.append(el.run(_which_loop())))
    thread.start()
    thread.join(10)
    assert results == [el.EventLoop]


def test_exports(el):
    for name in ("EventLoop", "new_event_loop", "run", "EventLoopPolicy", "install", "Future", "Task", "task_factory"):
        assert name in el.__all__, name
