"""Checks for chapter 8's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 8`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real threads and real processes. No check measures time: threads meet at
barriers, and a barrier's timeout is only a bound on liveness (a check that
would wait forever fails instead). The checks of `wrap` run each scenario
with `asyncio.wrap_future` too and require the same trace.
"""
import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import threading

import pytest

LIVENESS = 10  # seconds: a bound on a wait that succeeds at once when the code is right


@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [message, ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(context.get("message")))
    return caught


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that counts the jobs submitted to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


@pytest.fixture
def pool(loop):
    """A default executor with room for 16 threads, shut down after the check."""
    executor = CountingExecutor(max_workers=16)
    loop.set_default_executor(executor)
    yield executor
    executor.shutdown(wait=True)


# ── 1. gather_in_threads ────────────────────────────────────────────────────

def test_gather_in_threads_runs_limit_at_once_in_the_default_executor(challenges, loop, pool):
    limit, count = 3, 9
    together = threading.Barrier(limit, timeout=LIVENESS)  # passes only when `limit` run at once
    lock, running, most = threading.Lock(), [0], [0]

    def job(n):
        def run():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                together.wait()
            finally:
                with lock:
                    running[0] -= 1
            return n * n
        return run

    try:
        results = loop.run_until_complete(
            challenges.gather_in_threads(loop, [job(n) for n in range(count)], limit))
    except threading.BrokenBarrierError:
        pytest.fail(f"{limit} functions never ran at the same time: run up to `limit` at once, "
                    "not one after the other")
    assert most[0] <= limit, f"{most[0]} functions ran at once, with limit={limit}"
    assert results == [n * n for n in range(count)]
    assert pool.submitted == count, (
        f"{pool.submitted} jobs reached the loop's default executor instead of {count}: "
        "use loop.run_in_executor(None, ...), not a pool of your own"
    )


def test_gather_in_threads_returns_the_results_in_order(challenges, loop, pool):
    # The last function finishes first: each waits for the one after it.
    done = [threading.Event() for _ in range(4)]

    def job(n):
        def run():
            if n + 1 < len(done):
                assert done[n + 1].wait(LIVENESS), "the functions must run concurrently"
            done[n].set()
            return f"result {n}"
        return run

    results = loop.run_until_complete(challenges.gather_in_threads(loop, [job(n) for n in range(4)], 4))
    assert results == [f"result {n}" for n in range(4)], "results in the order of `functions`"


def test_gather_in_threads_raises_a_failure(challenges, loop, pool):
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        loop.run_until_complete(challenges.gather_in_threads(loop, [lambda: 1, fails], 2))
    assert loop.run_until_complete(challenges.gather_in_threads(loop, [], 2)) == []


# ── 2. to_process ───────────────────────────────────────────────────────────

def children():
    return {child.pid for child in multiprocessing.active_children()}


def test_to_process_runs_in_a_pool_of_the_loops_own(challenges, loop):
    assert not children(), "a child process was already running before the check"

    async def main():
        assert await challenges.to_process(pow, 2, 10) == 1024
        return [await challenges.to_process(os.getpid) for _ in range(4)]

    try:
        pids = loop.run_until_complete(main())
        alive = children()
        assert os.getpid() not in pids, "the function ran in this process, not in a child"
        assert len(set(pids)) <= 2 and set(pids) <= alive, (
            f"four calls ran in {len(set(pids))} processes: one pool of 2 workers, made on the "
            "first call and kept, serves every call"
        )
    finally:
        loop.run_until_complete(challenges.shutdown_processes(loop))
    assert not children(), f"shutdown_processes left child processes running: {children()}"


def test_to_process_gives_each_loop_its_pool(challenges, loop):
    other = type(loop)()
    try:
        first = loop.run_until_complete(challenges.to_process(os.getpid))
        second = other.run_until_complete(challenges.to_process(os.getpid))
        assert first != second, "two loops shared a pool: each loop has its own"
        loop.run_until_complete(challenges.shutdown_processes(loop))
        assert other.run_until_complete(challenges.to_process(pow, 3, 2)) == 9, (
            "shutting one loop's pool down must leave the other loop's alone"
        )
        other.run_until_complete(challenges.shutdown_processes(other))
        assert not children(), f"child processes left running: {children()}"
        assert loop.run_until_complete(challenges.to_process(pow, 2, 3)) == 8, (
            "after shutdown_processes, the next call makes a new pool"
        )
    finally:
        try:
            loop.run_until_complete(challenges.shutdown_processes(loop))
            other.run_until_complete(challenges.shutdown_processes(other))
        finally:
            other.close()
    assert not children(), f"child processes left running: {children()}"


# ── 3. wrap ─────────────────────────────────────────────────────────────────

def both(scenario, challenges, make_loop):
    """Run scenario(wrap, loop) with asyncio.wrap_future and with yours; both traces."""
    traces = {}
    for name, wrap in [("asyncio.wrap_future", lambda cf, loop: asyncio.wrap_future(cf, loop=loop)),
                       ("yours", challenges.wrap)]:
        loop = make_loop()
        try:
            traces[name] = scenario(wrap, loop)
        finally:
            loop.close()
    return traces


def outcome(future):
    if future.cancelled():
        return "cancelled"
    if future.exception() is not None:
        return repr(future.exception())
    return f"result {future.result()!r}"


@pytest.fixture
def new_loop(loop):
    return type(loop)


RELEASES = []  # every release event of the check: set before its executor shuts down


def release_event():
    event = threading.Event()
    RELEASES.append(event)
    return event


@pytest.fixture
def executor():
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    yield executor
    for event in RELEASES:
        event.set()  # a check that failed half-way leaves no worker waiting
    RELEASES.clear()
    executor.shutdown(wait=True)


def test_wrap_delivers_results_and_exceptions_in_the_loops_thread(challenges, new_loop, executor):
    def scenario(wrap, loop):
        trace = []

        def fails():
            raise KeyError("lost")

        async def main():
            for job in (lambda: 42, fails):
                future = wrap(executor.submit(job), loop)
                future.add_done_callback(
                    lambda f: trace.append(("callback in the loop's thread",
                                            threading.current_thread() is threading.main_thread())))
                await asyncio.wait([future], timeout=LIVENESS)
                trace.append(outcome(future))
            done = executor.submit(lambda: "already")
            done.result()
            future = wrap(done, loop)
            trace.append(("done at once", future.done()))
            await asyncio.wait([future], timeout=LIVENESS)
            trace.append(outcome(future))
        loop.run_until_complete(main())
        return trace

    traces = both(scenario, challenges, new_loop)
    assert traces["yours"] == traces["asyncio.wrap_future"]


def test_wrap_cancels_a_job_that_has_not_started(challenges, new_loop, executor):
    def scenario(wrap, loop):
        trace, release, ran = [], release_event(), []
        busy = executor.submit(release.wait, LIVENESS)  # the only worker is busy
        waiting = executor.submit(ran.append, "the cancelled job ran")
        future = wrap(waiting, loop)
        future.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        trace.append(("job cancelled", waiting.cancelled()))
        release.set()
        busy.result()
        trace.append(("wrapper", outcome(future)))
        trace.extend(ran)
        return trace

    traces = both(scenario, challenges, new_loop)
    assert traces["yours"] == traces["asyncio.wrap_future"]


def test_wrap_follows_a_job_cancelled_in_its_executor(challenges, new_loop, executor):
    def scenario(wrap, loop):
        release = release_event()
        busy = executor.submit(release.wait, LIVENESS)
        waiting = executor.submit(lambda: "never")
        future = wrap(waiting, loop)
        waiting.cancel()  # from the executor's side
        loop.run_until_complete(asyncio.wait([future], timeout=LIVENESS))
        release.set()
        busy.result()
        return [outcome(future)]

    traces = both(scenario, challenges, new_loop)
    assert traces["yours"] == traces["asyncio.wrap_future"] == ["cancelled"]


def test_wrap_cancelled_while_the_job_runs(challenges, new_loop, executor):
    def scenario(wrap, loop):
        trace, errors = [], []
        loop.set_exception_handler(lambda loop, context: errors.append(context.get("message")))
        started, release = threading.Event(), release_event()

        def job():
            started.set()
            release.wait(LIVENESS)
            return "finished anyway"

        running = executor.submit(job)
        future = wrap(running, loop)
        assert started.wait(LIVENESS)
        future.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        trace.append(("job cancelled", running.cancelled()))
        release.set()
        trace.append(running.result())
        # Let the job's end reach the loop: a wrong answer fails there.
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(asyncio.sleep(0))
        trace.append(("wrapper", outcome(future)))
        trace.append(("errors", errors))
        return trace

    traces = both(scenario, challenges, new_loop)
    assert traces["yours"] == traces["asyncio.wrap_future"], (
        "a wrapper cancelled while its job runs stays cancelled, and the job's result, "
        "arriving later, must not be set on it (InvalidStateError in a callback)"
    )


def test_wrap_delivers_nothing_to_a_closed_loop(challenges, new_loop, executor, caplog):
    def scenario(wrap, loop):
        release = release_event()
        running = executor.submit(release.wait, LIVENESS)
        future = wrap(running, loop)
        loop.close()  # the job ends after its loop is gone
        release.set()
        running.result()
        executor.submit(lambda: None).result()  # the done callbacks of `running` have run
        return [("wrapper done", future.done())]

    with caplog.at_level(logging.ERROR, logger="concurrent.futures"):
        traces = both(scenario, challenges, new_loop)
    assert traces["yours"] == traces["asyncio.wrap_future"]
    assert not caplog.records, (
        "the job's done callback raised in the worker's thread (concurrent.futures logged it): "
        "a closed loop takes no call_soon_threadsafe; check loop.is_closed() first:\n"
        + "\n".join(record.getMessage() for record in caplog.records)
    )
