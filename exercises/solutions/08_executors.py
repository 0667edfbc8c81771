"""Chapter 8 — Executors: reference solutions.

Spoilers. Try the challenges in `exercises/08-executors/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/08-executors/test_challenges.py`.
"""

import asyncio
import concurrent.futures
import multiprocessing
import weakref


# ── 1. Blocking functions in threads, a few at a time ─────────────────────

async def gather_in_threads(loop, functions, limit):
    slots = asyncio.Semaphore(limit)

    async def run(function):
        async with slots:  # taken before the job is submitted: the pool never holds more
            return await loop.run_in_executor(None, function)

    # gather raises the first failure; the others still run to their end in their threads.
    return await asyncio.gather(*(run(function) for function in functions))


# ── 2. to_thread's twin for processes ─────────────────────────────────────

# A loop's pool dies with it: no global pool shared between loops, no reference kept alive.
_pools = weakref.WeakKeyDictionary()


def _pool_of(loop):
    pool = _pools.get(loop)
    if pool is None:
        # spawn, not fork: forking a process that has threads (the loop's executor has)
        # may deadlock the child, and Python 3.12 warns about it.
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        _pools[loop] = pool
    return pool


async def to_process(func, *args):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool_of(loop), func, *args)


async def shutdown_processes(loop):
    pool = _pools.pop(loop, None)
    if pool is not None:
        # shutdown(wait=True) blocks until the workers exit: in a thread, not on the loop.
        await loop.run_in_executor(None, pool.shutdown, True)


# ── 3. Hardcore: wrap_future ──────────────────────────────────────────────

def _copy_state(future, source):
    if future.cancelled():
        return  # cancelled on the loop's side while the job ran: nothing to deliver
    if source.cancelled():
        future.cancel()
    elif source.exception() is not None:
        future.set_exception(source.exception())
    else:
        future.set_result(source.result())


def wrap(concurrent_future, loop):
    future = loop.create_future()

    def on_future_done(future):
        if future.cancelled():
            concurrent_future.cancel()  # works only if the job has not started

    def on_concurrent_done(source):  # in the worker's thread, or here if already done
        if loop.is_closed():
            return  # nobody to deliver to; call_soon_threadsafe would raise
        loop.call_soon_threadsafe(_copy_state, future, source)

    future.add_done_callback(on_future_done)
    concurrent_future.add_done_callback(on_concurrent_done)
    return future
