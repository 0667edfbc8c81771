"""Chapter 8: executors and DNS — run_in_executor, the default executor, its shutdown, the resolver.

Real threads, real thread and process pools. Where behaviour must equal asyncio's,
the same scenario runs on asyncio's loop and on ours (`loops.compare`). Jobs that
must still be running at some moment block on a `threading.Event` the test sets,
never on a sleep, so no assertion depends on timing.
"""
import asyncio
import concurrent.futures
import contextvars
import multiprocessing
import os
import socket
import sys
import threading
import warnings

import pytest

CHAPTER = 8

#: Long enough never to expire on a slow machine; a job blocked this long means a bug.
PATIENCE = 10


def square(n):
    """A top-level function: a spawned process can import it by name."""
    return n * n


def outcome(function, *args):
    try:
        function(*args)
        return "accepted"
    except Exception as error:
        return type(error).__name__, str(error)


def threads_now():
    return set(threading.enumerate())


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def shut_down(loop):
    loop.run_until_complete(loop.shutdown_default_executor())


# ---------------------------------------------------------------- run_in_executor


def test_results_and_exceptions_come_back(loops):
    def fails():
        raise ValueError("in the worker")

    async def main():
        loop = asyncio.get_running_loop()
        trace = [await loop.run_in_executor(None, pow, 2, 10)]
        try:
            await loop.run_in_executor(None, fails)
        except ValueError as error:
            trace.append(("ValueError", str(error)))
        return trace

    def scenario(loop):
        try:
            return loop.run_until_complete(main())
        finally:
            shut_down(loop)

    assert loops.compare(scenario) == [1024, ("ValueError", "in the worker")]


def test_it_returns_a_pending_asyncio_future_at_once(loops):
    def scenario(loop):
        release = threading.Event()
        future = loop.run_in_executor(None, release.wait, PATIENCE)
        trace = [asyncio.isfuture(future), future.done(), future.get_loop() is loop]
        release.set()
        trace.append(loop.run_until_complete(future))
        shut_down(loop)
        return trace

    assert loops.compare(scenario) == [True, False, True, True]


def test_the_default_executor_is_one_thread_pool_made_on_first_use(loops):
    def scenario(loop):
        trace = [loop._default_executor]
        names = [loop.run_until_complete(loop.run_in_executor(None, lambda: threading.current_thread().name))]
        pool = loop._default_executor
        names.append(loop.run_until_complete(loop.run_in_executor(None, lambda: threading.current_thread().name)))
        trace += [type(pool).__name__, loop._default_executor is pool, names[0]]
        shut_down(loop)
        return trace

    assert loops.compare(scenario) == [None, "ThreadPoolExecutor", True, "asyncio_0"]


def test_a_sleeping_loop_wakes_up_for_the_result(el, loop):
    """The worker settles the future through call_soon_threadsafe: no timer has to wake the loop."""
    backstop = loop.call_later(PATIENCE, loop.stop)
    release = threading.Event()
    future = loop.run_in_executor(None, release.wait, PATIENCE)
    threading.Timer(0.05, release.set).start()
    assert loop.run_until_complete(future) is True
    assert not backstop.cancelled() and loop.time() < backstop.when(), "the result waited for the backstop"
    shut_down(loop)


def test_cancelling_cancels_a_job_that_has_not_started(loops):
    """One worker: the first job runs, the second waits in the pool's queue; both are cancelled."""

    def scenario(loop):
        ran = []
        started, release = threading.Event(), threading.Event()

        def job(name):
            started.set()
            release.wait(PATIENCE)
            ran.append(name)

        async def main():
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as one_worker:
                running = loop.run_in_executor(one_worker, job, "running")
                queued = loop.run_in_executor(one_worker, job, "queued")
                await loop.run_in_executor(None, started.wait, PATIENCE)
                running.cancel()
                queued.cancel()
                await asyncio.sleep(0)  # the done-callbacks pass the cancellation on
                release.set()
            return running.cancelled(), queued.cancelled(), ran

        try:
            return loop.run_until_complete(main())
        finally:
            shut_down(loop)

    assert loops.compare(scenario) == (True, True, ["running"])


def test_a_result_that_arrives_after_cancel_is_dropped_quietly(loops):
    def scenario(loop):
        errors = []
        loop.set_exception_handler(lambda loop, context: errors.append(context["message"]))
        release = threading.Event()
        future = loop.run_in_executor(None, release.wait, PATIENCE)
        future.cancel()
        release.set()
        shut_down(loop)  # the worker has finished; its result reached the loop
        loop.run_until_complete(asyncio.sleep(0))
        return future.cancelled(), errors

    assert loops.compare(scenario) == (True, [])


def test_refusals_are_asyncios(loops):
    async def coroutine_function():
        pass

    def scenario(loop):
        loop.set_debug(True)  # asyncio checks func only in debug mode
        trace = [outcome(loop.run_in_executor, None, coroutine_function),
                 outcome(loop.run_in_executor, None, "not callable")]
        loop.close()
        trace.append(outcome(loop.run_in_executor, None, print))
        trace.append(outcome(loop.run_in_executor, concurrent.futures.ThreadPoolExecutor(), print))
        return trace

    assert loops.compare(scenario) == [
        ("TypeError", "coroutines cannot be used with run_in_executor()"),
        ("TypeError", "a callable object was expected by run_in_executor(), got 'not callable'"),
        ("RuntimeError", "Event loop is closed"),
        ("RuntimeError", "Event loop is closed"),
    ]


def test_outside_debug_mode_func_is_not_checked(loops):
    async def coroutine_function():
        pass

    def scenario(loop):
        coroutine = loop.run_until_complete(loop.run_in_executor(None, coroutine_function))
        kind = type(coroutine).__name__
        coroutine.close()  # nobody runs it: the worker only called the function
        try:
            loop.run_until_complete(loop.run_in_executor(None, "not callable"))
        except TypeError as error:
            raised = str(error)
        shut_down(loop)
        return kind, raised

    assert loops.compare(scenario) == ("coroutine", "'str' object is not callable")


def test_a_process_pool_runs_a_top_level_function(loops):
    spawn = multiprocessing.get_context("spawn")

    def scenario(loop):
        async def main():
            with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as processes:
                results = await asyncio.gather(*[loop.run_in_executor(processes, square, n) for n in range(4)])
                pid = await loop.run_in_executor(processes, os.getpid)
            return results, pid != os.getpid()

        return loop.run_until_complete(main())

    assert loops.compare(scenario) == ([0, 1, 4, 9], True)


# ---------------------------------------------------------------- set_default_executor


def test_set_default_executor_takes_only_a_thread_pool(loops):
    def scenario(loop):
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as processes:
            trace = [outcome(loop.set_default_executor, processes),
                     outcome(loop.set_default_executor, None),
                     outcome(loop.set_default_executor, object())]
        with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="mine") as mine:
            loop.set_default_executor(mine)
            trace.append(loop.run_until_complete(loop.run_in_executor(None, lambda: threading.current_thread().name)))
            trace.append(loop._default_executor is mine)
        return trace

    refused = ("TypeError", "executor must be ThreadPoolExecutor instance")
    assert loops.compare(scenario) == [refused, refused, refused, "mine_0", True]


# ---------------------------------------------------------------- shutdown_default_executor


def test_shutdown_joins_every_thread_of_the_pool(loops):
    def scenario(loop):
        before = threads_now()
        release = threading.Event()
        futures = [loop.run_in_executor(None, release.wait, PATIENCE) for _ in range(3)]
        started = len(threads_now() - before)
        release.set()
        loop.run_until_complete(asyncio.gather(*futures))
        shut_down(loop)
        return started, sorted(t.name for t in threads_now() - before)

    assert loops.compare(scenario) == (3, [])


def test_after_shutdown_only_the_default_executor_is_refused(loops):
    def scenario(loop):
        trace = [loop.run_until_complete(loop.run_in_executor(None, pow, 3, 2))]
        shut_down(loop)
        trace.append(outcome(loop.run_in_executor, None, print))
        with concurrent.futures.ThreadPoolExecutor() as own:
            trace.append(loop.run_until_complete(loop.run_in_executor(own, pow, 2, 3)))
        trace.append(loop.run_until_complete(loop.shutdown_default_executor()))  # again: nothing to do
        return trace

    assert loops.compare(scenario) == [9, ("RuntimeError", "Executor shutdown has been called"), 8, None]


def test_shutdown_without_a_pool_refuses_one_later(loops):
    def scenario(loop):
        shut_down(loop)
        return loop._default_executor, outcome(loop.run_in_executor, None, print)

    assert loops.compare(scenario) == (None, ("RuntimeError", "Executor shutdown has been called"))


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio's shutdown_default_executor takes a timeout from 3.12")
def test_a_timeout_that_expires_warns_as_asyncio_does_on_this_version(loops):
    """3.12.0-3.12.2 wait for the job, then find the thread joined; 3.12.3+ and 3.13 stop waiting and warn."""

    def scenario(loop):
        release = threading.Event()
        job = loop.run_in_executor(None, release.wait, 2)  # ends by itself on versions that wait for it
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loop.run_until_complete(loop.shutdown_default_executor(timeout=0.01))
        release.set()
        return job.done(), [(w.category.__name__, str(w.message)) for w in caught]

    joined, warned = loops.compare(scenario)
    if sys.version_info >= (3, 12, 3):
        assert (joined, warned) == (False, [("RuntimeWarning", "The executor did not finishing joining "
                                                               "its threads within 0.01 seconds.")])
    else:
        assert (joined, warned) == (True, [])


def test_the_timeout_is_accepted_on_every_version(el, loop):
    """A deliberate difference on 3.11, whose asyncio takes no timeout: 3.12's signature everywhere."""
    loop.run_until_complete(loop.run_in_executor(None, pow, 2, 2))
    assert loop.run_until_complete(loop.shutdown_default_executor(timeout=PATIENCE)) is None
    assert loop._default_executor is not None and loop._default_executor._shutdown


def test_a_cancelled_shutdown_logs_nothing(el, loop):
    """asyncio 3.11 and 3.12.0-3.12.2 log an InvalidStateError here; ours, as 3.12.3+, does not."""
    errors = []
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    before = threads_now()
    release = threading.Event()
    loop.run_in_executor(None, release.wait, PATIENCE)

    async def main():
        shutdown = asyncio.ensure_future(loop.shutdown_default_executor())
        await asyncio.sleep(0)
        shutdown.cancel()
        release.set()
        try:
            await shutdown
        except asyncio.CancelledError:
            return "cancelled"

    assert loop.run_until_complete(main()) == "cancelled"
    for thread in threads_now() - before:
        thread.join(PATIENCE)  # the pool's worker, and the shutdown thread: it has called back
    loop.run_until_complete(asyncio.sleep(0))
    assert errors == []


# ---------------------------------------------------------------- close


def test_close_shuts_the_pool_down_without_waiting(loops):
    def scenario(loop):
        release = threading.Event()
        pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="pool")
        loop.set_default_executor(pool)
        pending = loop.run_in_executor(None, release.wait, PATIENCE)
        loop.close()  # returns although the job is still blocked
        trace = [loop._default_executor, outcome(pool.submit, print)]
        release.set()
        pool.shutdown(wait=True)
        trace.append(pending.done())  # the worker's result is not delivered to a closed loop
        return trace

    assert loops.compare(scenario) == [
        None, ("RuntimeError", "cannot schedule new futures after shutdown"), False]


def test_no_thread_and_no_descriptor_left_behind(el):
    before_threads, before_fds = threads_now(), open_fds()

    async def main():
        loop = asyncio.get_running_loop()
        await loop.getaddrinfo("127.0.0.1", 80)
        return await asyncio.gather(*[asyncio.to_thread(pow, n, 2) for n in range(5)])

    for _ in range(3):
        assert el.run(main()) == [0, 1, 4, 9, 16]
    assert sorted(t.name for t in threads_now() - before_threads) == []
    assert open_fds() == before_fds


def test_closing_after_use_leaves_no_thread_once_the_jobs_end(el):
    before = threads_now()
    loops = [el.new_event_loop() for _ in range(3)]
    for loop in loops:
        loop.run_until_complete(loop.run_in_executor(None, pow, 2, 2))
        loop.close()
    for thread in threads_now() - before:
        thread.join(PATIENCE)  # idle workers told to exit by close() do so by themselves
    assert sorted(t.name for t in threads_now() - before) == []


# ---------------------------------------------------------------- names and addresses


def test_getaddrinfo_and_getnameinfo_answer_as_asyncio(loops):
    async def main():
        loop = asyncio.get_running_loop()
        return [
            sorted(await loop.getaddrinfo("localhost", 80)),
            await loop.getaddrinfo("127.0.0.1", "http", family=socket.AF_INET, type=socket.SOCK_STREAM),
            await loop.getaddrinfo(None, 0, flags=socket.AI_PASSIVE, proto=socket.IPPROTO_TCP),
            await loop.getnameinfo(("127.0.0.1", 80)),
            await loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV),
        ]

    def scenario(loop):
        try:
            return loop.run_until_complete(main())
        finally:
            shut_down(loop)

    assert loops.compare(scenario)[4] == ("127.0.0.1", "80")


def test_resolver_errors_come_back_as_asyncios(loops):
    async def main():
        loop = asyncio.get_running_loop()
        trace = []
        for call in (lambda: loop.getaddrinfo("127.0.0.1", "no-such-service"),
                     lambda: loop.getnameinfo(("127.0.0.1",))):
            try:
                await call()
            except Exception as error:
                trace.append((type(error).__name__, error.args))
        return trace

    def scenario(loop):
        try:
            return loop.run_until_complete(main())
        finally:
            shut_down(loop)

    assert [kind for kind, _ in loops.compare(scenario)] == ["gaierror", "TypeError"]


def test_the_lookups_use_the_default_executor(el, loop):
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="resolver") as resolver:
        loop.set_default_executor(resolver)
        loop.run_until_complete(loop.getaddrinfo("127.0.0.1", 80))
        assert [t.name for t in resolver._threads] == ["resolver_0"]


def test_they_are_coroutine_functions(el, loop):
    assert asyncio.iscoroutinefunction(loop.getaddrinfo)
    assert asyncio.iscoroutinefunction(loop.getnameinfo)
    assert asyncio.iscoroutinefunction(loop.shutdown_default_executor)
    assert not asyncio.iscoroutinefunction(loop.run_in_executor)


# ---------------------------------------------------------------- to_thread


def test_to_thread_runs_in_the_tasks_context_and_run_in_executor_does_not(loops):
    request = contextvars.ContextVar("request", default="(none)")

    async def handle(n):
        request.set(n)
        loop = asyncio.get_running_loop()
        return (await loop.run_in_executor(None, request.get),
                await asyncio.to_thread(request.get),
                await asyncio.to_thread(lambda *args, **kwargs: (args, kwargs), 1, key=n))

    async def two_requests():
        return await asyncio.gather(handle(1), handle(2))

    def scenario(loop):
        try:
            return loop.run_until_complete(two_requests())
        finally:
            shut_down(loop)

    assert loops.compare(scenario) == [("(none)", 1, ((1,), {"key": 1})), ("(none)", 2, ((1,), {"key": 2}))]


def test_asyncio_runner_shuts_the_pool_down(el):
    """asyncio.Runner calls shutdown_default_executor (with a timeout from 3.12) before it closes the loop."""
    before = threads_now()
    with asyncio.Runner(loop_factory=el.new_event_loop) as runner:
        assert runner.run(asyncio.to_thread(pow, 2, 5)) == 32
        loop = runner.get_loop()
    assert loop.is_closed() and loop._executor_shutdown_called
    assert sorted(t.name for t in threads_now() - before) == []
