"""Checks for chapter 4's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 4`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

The checks of gather_or_cancel run each scenario four times: with your
function and with `taskgroup_gather`, the same contract written with
`asyncio.TaskGroup`, each on asyncio's Task and on the course's
(`eventloop.task_factory`). Where the contract and TaskGroup agree, the four
traces must be equal, so the checks are held to the real thing.
"""
import asyncio
import gc
import inspect

import pytest

import eventloop


@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [(message, exception), ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(
        (context.get("message"), context.get("exception"))))
    return caught


# ── 1. counting_factory ─────────────────────────────────────────────────────

def test_counting_factory_counts_steps(challenges, loop):
    factory = challenges.counting_factory()
    loop.set_task_factory(factory)

    async def sleeps(n):
        for _ in range(n):
            await asyncio.sleep(0)
        return n

    async def main():
        return await asyncio.gather(
            loop.create_task(sleeps(0), name="none"),
            loop.create_task(sleeps(1), name="one"),
            loop.create_task(sleeps(3), name="three"),
        )

    assert loop.run_until_complete(loop.create_task(main(), name="main")) == [0, 1, 3]
    assert {k: v for k, v in factory.steps.items() if k != "main"} == {"none": 1, "one": 2, "three": 4}, (
        "a coroutine with n suspensions is resumed n + 1 times"
    )
    assert factory.steps["main"] == 2, "main runs once to start gather, once when it is done"


def test_counting_factory_counts_thrown_cancellation(challenges, loop):
    factory = challenges.counting_factory()
    loop.set_task_factory(factory)

    async def forever():
        await asyncio.sleep(10)

    task = loop.create_task(forever(), name="victim")
    loop.call_later(0.01, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(task)
    assert factory.steps["victim"] == 2, "cancellation is a step too: CancelledError is thrown in"


# ── 2. gather_or_cancel ─────────────────────────────────────────────────────

async def taskgroup_gather(loop, *coros):
    """The reference: gather_or_cancel's contract, written with asyncio.TaskGroup (chapter 5)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the first child to fail
    return [task.result() for task in tasks]


TASK_CLASSES = {"asyncio's Task": None, "the course's Task": eventloop.task_factory}


def run_scenario(loop, scenario, gather):
    """Run `scenario(gather, trace)` as the loop's main task; return its trace.

    A main task that has not finished after two seconds fails the check (a
    child nobody cancelled, or children awaited one after another); its tasks
    are cancelled and finished here, so that none is left pending.
    """
    trace, given = [], []

    def gather_and_remember(loop, *coros):
        given.extend(coros)
        return gather(loop, *coros)

    gather_and_remember.__name__ = gather.__name__
    main = loop.create_task(scenario(gather_and_remember, trace))
    guard = loop.call_later(2.0, loop.stop)
    try:
        loop.run_until_complete(asyncio.wait([main]))
    except RuntimeError as error:
        if "stopped before Future completed" not in str(error):
            raise
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.wait(left))
        pytest.fail(f"{gather.__name__}: the caller had still not finished after two seconds "
                    f"(trace so far: {trace!r}). Are the children running concurrently, and are "
                    "the others cancelled when one fails?", pytrace=False)
    finally:
        guard.cancel()
        for coro in given:  # never started (a gather that raised at once): no "never awaited" warning
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()
    if main.cancelled():
        trace.append(("main task", "cancelled", main.cancelling()))
    elif main.exception() is not None:
        raise main.exception()  # the scenario itself broke: show where
    return trace


def children_in_any_order(trace):
    """The trace with each run of children's entries (strings) sorted.

    TaskGroup keeps its tasks in a set: it cancels them in no particular order,
    so siblings' cleanups may interleave differently. The caller's entries
    (tuples) stay where they are.
    """
    normalized, run = [], []
    for entry in trace + [None]:
        if isinstance(entry, str):
            run.append(entry)
            continue
        normalized += sorted(run)
        run = []
        if entry is not None:
            normalized.append(entry)
    return normalized


def compare_with_taskgroup(challenges, loop, scenario):
    """The scenario's trace with your gather_or_cancel; it must equal TaskGroup's on both Tasks."""
    traces = {}
    for task_class, factory in TASK_CLASSES.items():
        loop.set_task_factory(factory)
        try:
            for gather in (taskgroup_gather, challenges.gather_or_cancel):
                traces[gather.__name__, task_class] = children_in_any_order(
                    run_scenario(loop, scenario, gather))
        finally:
            loop.set_task_factory(None)
    expected = traces["taskgroup_gather", "asyncio's Task"]
    for (who, task_class), trace in traces.items():
        assert trace == expected, (
            f"with {task_class}, {who} gave\n  {trace!r}\nwhere asyncio.TaskGroup gives\n  {expected!r}"
        )
    return traces["gather_or_cancel", "asyncio's Task"]


def outcome(error):
    """What a trace says of an exception: its type and message, not its identity."""
    return type(error).__name__, str(error)


def test_gather_or_cancel_returns_the_results_in_order(challenges, loop, errors):
    async def scenario(gather, trace):
        ready = loop.create_future()

        async def waits_for_the_other():
            await ready  # only a concurrent sibling can settle it
            return "first"

        async def sets_it():
            await asyncio.sleep(0.001)
            ready.set_result(None)
            return "second"

        async def at_once():
            return "third"

        trace.append(await gather(loop, waits_for_the_other(), sets_it(), at_once()))
        trace.append(await gather(loop))

    assert compare_with_taskgroup(challenges, loop, scenario) == [["first", "second", "third"], []], (
        "the results, in the order the coroutines were given"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_gather_or_cancel_cancels_the_others_and_waits_for_them(challenges, loop, errors):
    async def scenario(gather, trace):
        error = KeyError("the first to fail")

        async def fails():
            await asyncio.sleep(0.001)
            raise error

        async def cleans_up_slowly(name):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                trace.append(f"{name} cancelled")
                raise
            finally:
                await asyncio.sleep(0.001)  # a cleanup that awaits: the error must wait for it
                trace.append(f"{name} cleaned up")

        try:
            await gather(loop, cleans_up_slowly("a"), fails(), cleans_up_slowly("b"))
        except KeyError as raised:
            trace.append(("caller caught", outcome(raised), raised is error))

    trace = compare_with_taskgroup(challenges, loop, scenario)
    assert trace[-1] == ("caller caught", outcome(KeyError("the first to fail")), True), (
        "raise the failed child's exception object itself"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_gather_or_cancel_leaves_the_callers_count_alone_after_a_failure(challenges, loop, errors):
    async def scenario(gather, trace):
        async def fails():
            await asyncio.sleep(0)
            raise KeyError("child")

        async def forever():
            await loop.create_future()

        try:
            await gather(loop, fails(), forever())
        except KeyError:
            trace.append(("caller's cancelling()", asyncio.current_task().cancelling()))

    assert run_scenario(loop, scenario, challenges.gather_or_cancel) == [("caller's cancelling()", 0)], (
        "after a child's failure the caller's cancelling() must be 0: nobody cancelled the "
        "caller. (asyncio.TaskGroup on Python 3.11.7 and 3.12.1 leaves 1 here when the child "
        "fails while __aexit__ waits; 3.13.0 takes it back.)"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_gather_or_cancel_retrieves_every_failure(challenges, loop, errors):
    async def scenario(gather, trace):
        async def fails(error):
            await asyncio.sleep(0)
            raise error

        async def fails_in_cleanup():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                raise ValueError("cleanup failed") from None

        for children in [(fails(KeyError("first")), fails(ValueError("same pass"))),
                         (fails(KeyError("first")), fails_in_cleanup())]:
            try:
                await gather(loop, *children)
            except Exception as raised:
                trace.append(("caller caught", outcome(raised)))

    trace = compare_with_taskgroup(challenges, loop, scenario)
    assert trace == [("caller caught", outcome(KeyError("first")))] * 2
    gc.collect()  # the failed tasks are garbage now: unretrieved exceptions are reported here
    assert not errors, (
        f"the loop's exception handler got {errors!r}: a child failed after the first "
        "failure, and nobody retrieved its exception. Call exception() on every child that "
        "failed, even those you will not raise"
    )


def test_gather_or_cancel_passes_on_the_callers_cancellation(challenges, loop, errors):
    async def scenario(gather, trace):
        async def refuses(name):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(0.001)
                trace.append(f"{name} refused")
                return name  # caught the cancellation, and returned

        try:
            async with asyncio.timeout(0.01):
                trace.append(await gather(loop, refuses("a"), refuses("b")))
        except TimeoutError:
            trace.append(("caller", "timed out"))
        trace.append(("caller's cancelling()", asyncio.current_task().cancelling()))
        loop.call_soon(asyncio.current_task().cancel)  # no timeout now: the caller is cancelled
        trace.append(await gather(loop, refuses("c")))

    trace = compare_with_taskgroup(challenges, loop, scenario)
    assert trace == [
        "a refused", "b refused", ("caller", "timed out"), ("caller's cancelling()", 0),
        "c refused", ("main task", "cancelled", 1),
    ], (
        "the caller's cancellation must reach the caller, after the children finished, even "
        "when every child caught its CancelledError and returned: asyncio.timeout() turns it "
        "into TimeoutError only if it arrives"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_gather_or_cancel_waits_for_the_children_when_cancelled_twice(challenges, loop, errors):
    async def scenario(gather, trace):
        main = asyncio.current_task()

        async def slow_cleanup(name):
            try:
                await asyncio.sleep(10)
            finally:
                if name == "a":
                    main.cancel()  # again, while the children clean up
                await asyncio.sleep(0.001)
                trace.append(f"{name} cleaned up")

        loop.call_soon(main.cancel)
        try:
            await gather(loop, slow_cleanup("a"), slow_cleanup("b"))
        finally:
            trace.append(("caller", "returned"))

    trace = compare_with_taskgroup(challenges, loop, scenario)
    assert trace == ["a cleaned up", "b cleaned up", ("caller", "returned"), ("main task", "cancelled", 2)], (
        "cancelled twice, the caller still waits for its children, and both cancellations "
        "count (cancelling() == 2)"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_gather_or_cancel_fails_when_a_child_is_cancelled_by_someone_else(challenges, loop, errors):
    async def scenario(gather, trace):
        async def gives_up():
            await asyncio.sleep(0)
            raise asyncio.CancelledError("gave up")

        async def forever():
            try:
                await loop.create_future()
            finally:
                trace.append("sibling finished")

        try:
            await gather(loop, forever(), gives_up())
        except asyncio.CancelledError as raised:
            trace.append(("caller caught", outcome(raised)))

    trace = run_scenario(loop, scenario, challenges.gather_or_cancel)
    assert trace == ["sibling finished", ("caller caught", ("CancelledError", "gave up"))], (
        "a child that ends cancelled although you did not cancel it is a failure, as in "
        "asyncio.gather: cancel the others, wait, and raise its CancelledError "
        "(TaskGroup differs here: it ignores the cancelled child)"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"
