"""Checks for chapter 3's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 3`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.
"""
import asyncio

import pytest


# ── 1. first_completed ──────────────────────────────────────────────────────

def test_first_completed_takes_the_first_result(challenges, loop):
    futures = [loop.create_future() for _ in range(3)]
    winner = challenges.first_completed(loop, *futures)
    loop.call_later(0.01, futures[1].set_result, "second future")
    loop.call_later(0.02, lambda: futures[0].done() or futures[0].set_result("first future"))
    assert loop.run_until_complete(winner) == "second future", "the earliest future to be done wins"
    assert futures[0].cancelled() and futures[2].cancelled(), "the losers must be cancelled"


def test_first_completed_passes_exceptions_and_cancellation(challenges, loop):
    a, b = loop.create_future(), loop.create_future()
    winner = challenges.first_completed(loop, a, b)
    loop.call_soon(a.set_exception, KeyError("first"))
    with pytest.raises(KeyError):
        loop.run_until_complete(winner)
    assert b.cancelled()

    c, d = loop.create_future(), loop.create_future()
    winner = challenges.first_completed(loop, c, d)
    loop.call_soon(d.cancel)
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(winner)
    assert winner.cancelled(), "a cancelled first future cancels the result"


def test_first_completed_works_with_tasks(challenges, loop):
    async def nap(delay, value):
        await asyncio.sleep(delay)
        return value

    slow = loop.create_task(nap(1, "slow"))
    fast = loop.create_task(nap(0.001, "fast"))
    assert loop.run_until_complete(challenges.first_completed(loop, slow, fast)) == "fast"
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(slow)


# ── 2. counting_factory ─────────────────────────────────────────────────────

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


# ── 3. start_eagerly ────────────────────────────────────────────────────────

def test_start_eagerly_runs_up_to_the_first_await(challenges, loop):
    trace = []

    async def job():
        trace.append("started")
        await asyncio.sleep(0.001)
        trace.append("resumed")
        return "result"

    async def main():
        task = challenges.start_eagerly(loop, job())
        assert trace == ["started"], "the coroutine must run before start_eagerly returns"
        return await task

    assert loop.run_until_complete(main()) == "result"
    assert trace == ["started", "resumed"]


def test_start_eagerly_finishes_without_a_task(challenges, loop):
    async def quick():
        return 42

    async def broken():
        raise ValueError("at once")

    async def main():
        done = challenges.start_eagerly(loop, quick())
        assert done.done() and done.result() == 42, "no suspension: already done"
        failed = challenges.start_eagerly(loop, broken())
        assert failed.done() and isinstance(failed.exception(), ValueError)
        return "ok"

    assert loop.run_until_complete(main()) == "ok"


def test_start_eagerly_delivers_exceptions_and_cancellation(challenges, loop):
    trace = []

    async def waits_for(future):
        try:
            await future
        except KeyError:
            trace.append("caught KeyError")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            trace.append("cancelled")
            raise

    async def main():
        future = loop.create_future()
        task = challenges.start_eagerly(loop, waits_for(future))
        loop.call_soon(future.set_exception, KeyError("inside"))
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return trace

    assert loop.run_until_complete(main()) == ["caught KeyError", "cancelled"]
