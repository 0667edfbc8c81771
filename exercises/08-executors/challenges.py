"""Chapter 8 — Executors: the challenges.

Write your answers in this file, then check them from the repository's root:

    python3 tools/dev.py exercises 8

(That runs `python -m pytest -q exercises --chapter 8`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/08_executors.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package. What
chapter 8 built, and these challenges may use:

* `loop.run_in_executor(executor, func, *args)` submits `func(*args)` to a
  `concurrent.futures` executor (None: the loop's default thread pool, made on
  first use) and returns an asyncio future for it, `asyncio.wrap_future(...)`.
* `loop.call_soon_threadsafe(callback, *args)`: the one loop method another
  thread may call; it wakes the loop's selector. It raises RuntimeError once
  the loop is closed.
* A `concurrent.futures.Future` runs its done callbacks in the thread that
  finishes it (the worker's), or at once in `add_done_callback` if it is done
  already. `cancel()` succeeds only while the job waits in the queue.
* `loop.set_default_executor(pool)` and `await loop.shutdown_default_executor()`.
"""

import asyncio
import concurrent.futures
import multiprocessing


# ── 1. Blocking functions in threads, a few at a time ─────────────────────

async def gather_in_threads(loop, functions, limit):
    """Run each of `functions` (blocking, no arguments) in the loop's default executor.

    At most `limit` of them run at once, and as many as that do (not one after
    the other). Return their results as a list in the order of `functions`,
    whatever order they finish in. If one raises, raise its exception. No
    functions: `[]`.

    Use `loop.run_in_executor(None, f)`: the loop's default executor, not a
    pool of your own (the checks count the jobs it receives).

    Hint: an `asyncio.Semaphore(limit)`, taken before a job is submitted.
    """
    raise NotImplementedError("challenge 1: write gather_in_threads(loop, functions, limit)")


# ── 2. to_thread's twin for processes ─────────────────────────────────────

async def to_process(func, *args):
    """Run `func(*args)` in a child process; return its result (`asyncio.to_thread` for processes).

    The running loop has a pool of its own,
    `concurrent.futures.ProcessPoolExecutor(max_workers=2,
    mp_context=multiprocessing.get_context("spawn"))`, made on the first call
    and used by every later call on that loop; another loop has another pool.
    (Spawn, not fork: forking a process that has threads may deadlock the
    child, and Python 3.12 warns about it.) `func` and `args` must pickle:
    module-level functions such as `pow` or `os.getpid`.

    Hint: where to keep a pool per loop without keeping the loop alive?
    `weakref.WeakKeyDictionary`.
    """
    raise NotImplementedError("challenge 2: write to_process(func, *args)")


async def shutdown_processes(loop):
    """Shut `loop`'s process pool down, if it has one, and wait for its workers to exit.

    Afterwards no child process is left (`multiprocessing.active_children()`
    is empty), and the next `to_process` on the loop makes a new pool. Don't
    block the loop while the workers exit: `pool.shutdown(wait=True)` blocks,
    so run it in a thread.
    """
    raise NotImplementedError("challenge 2: write shutdown_processes(loop)")


# ── 3. Hardcore: wrap_future ──────────────────────────────────────────────

def wrap(concurrent_future, loop):
    """Your own `asyncio.wrap_future(concurrent_future, loop=loop)`.

    Return a future of `loop` (`loop.create_future()`) that settles like
    `concurrent_future`: its result, its exception, or cancelled if it was
    cancelled.

    * The concurrent future finishes in a worker's thread: its done callback
      runs there, so it may touch the loop only through
      `loop.call_soon_threadsafe`; the asyncio future is settled in the loop's
      thread, where its own callbacks run.
    * Cancelling the returned future cancels `concurrent_future` (a job that
      has not started never runs). A job already running goes on; when it
      ends, the cancelled future must stay cancelled: setting a result on it
      would raise InvalidStateError in a loop callback.
    * If the loop is closed when the job ends, deliver nothing (and raise
      nothing in the worker's thread, where concurrent.futures would log it).

    The checks run each scenario with `asyncio.wrap_future` too and compare.
    """
    raise NotImplementedError("challenge 3: write wrap(concurrent_future, loop)")
