"""Chapter 3 — Futures: the challenges.

Write your answers in this file, then check them from the repository's root:

    python3 tools/dev.py exercises 3

(That runs `python -m pytest -q exercises --chapter 3`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/03_futures.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package. What
chapter 3 built, and these challenges may use:

* `loop.create_future()`: a new pending future of `loop`; `future.get_loop()`.
* `future.set_result(x)`, `future.set_exception(e)`, `future.cancel()`. The
  first two raise `InvalidStateError` on a future that is already done;
  `cancel()` just returns False.
* `future.done()`, `future.cancelled()`, `future.exception()` (None if it
  succeeded; raises `CancelledError` if it was cancelled), `future.result()`.
* `future.add_done_callback(fn)`: `fn(future)` runs via `call_soon` once the
  future is done — in a later pass, never inside `set_result` — and at once
  (via `call_soon` too) if it is done already.
  `future.remove_done_callback(fn)` takes back a callback that has not been
  scheduled yet; it returns how many it removed.
* `await x` calls `x.__await__()`, which must return an iterator, and does
  `yield from` on it: every value it yields goes out to whoever drives the
  coroutine, `coro.send(v)` becomes the iterator's `send(v)` (`__next__()` for
  None), `coro.throw(e)` its `throw(e)`, `coro.close()` its `close()`, and
  the `StopIteration` that ends it carries the value of the `await`.
* `eventloop.Future.__await__` is a generator: it sets
  `_asyncio_future_blocking` and yields the future itself if it is not done,
  then returns `self.result()` (or raises `RuntimeError("await wasn't used
  with future")` if it was resumed too early).
"""

import eventloop


# ── 1. The first to finish ──────────────────────────────────────────────────

def first_completed(loop, *futures):
    """Return a new future of `loop` that settles like the first of `futures` to be done.

    * Its outcome is the first input's: the same result, the same exception
      object, or cancelled if that input was cancelled.
    * "First" is the order the inputs' done callbacks run in. If some inputs
      are done already when you are called, the first of them in argument
      order wins; if two inputs finish in the same pass, the one that finished
      first wins — and the other must not break anything.
    * The inputs are left alone, as `asyncio.wait(..., return_when=
      FIRST_COMPLETED)` leaves them: the losers are not cancelled, and
      cancelling the returned future cancels none of the inputs. Cancel the
      losers yourself if you want them stopped.
    * Once the returned future is done (settled, or cancelled by its owner),
      no callback of yours is left on any input: an input that outlives the
      race — a "shutdown" future raced against many others — must not collect
      one dead callback per call.
    * No inputs: raise `ValueError`, as `asyncio.wait` does.
    * Done callbacks only: no coroutine, no task, no `asyncio.wait`. The
      returned future settles in the pass after the winning input is done.

    Hints: one callback for the inputs and one for the returned future.
    Which line runs twice when two inputs finish in the same pass?
    """
    raise NotImplementedError("challenge 1: write first_completed(loop, *futures)")


# ── 2. Then ─────────────────────────────────────────────────────────────────

def then(future, fn):
    """Return a new future, of `future`'s loop, for `fn(future.result())`.

    * When `future` succeeds, call `fn` with its result: the new future gets
      what `fn` returns, or the exception `fn` raises (the exception does not
      reach the loop's exception handler).
    * When `future` fails or is cancelled, `fn` is not called and the new
      future fails with the same exception object, or is cancelled.
    * Cancelling the new future cancels `future` too, as asyncio's own
      chaining does (`asyncio.wrap_future` cancels its source): whoever waits
      for the result no longer wants it computed.

    Example::

        doubled = then(answer, lambda x: 2 * x)
        answer.set_result(21)   # after the next pass: doubled.result() == 42

    Hint: two callbacks again, one on each future. What if the new future is
    cancelled in the same pass as `future` gets its result?
    """
    raise NotImplementedError("challenge 2: write then(future, fn)")


# ── 3. Hardcore: `await` without a generator ────────────────────────────────

class Answer(eventloop.Future):
    """A future whose `__await__` returns a hand-written iterator, not a generator.

    `Answer(loop=loop)` is an `eventloop.Future` in every other way. Awaiting
    it must do exactly what awaiting the chapter's `Future` does, but
    `__await__` returns an instance of a class you write, with `__iter__`,
    `__next__`, `send`, `throw` and `close` — no `yield` anywhere, and no
    generator inside (not even `Future.__await__`'s). So you implement by hand
    the state machine that `yield from` drives:

    * Not done yet: the first `__next__()` (or `send(None)`) sets the
      future's `_asyncio_future_blocking` to True and returns the future
      itself. Resumed later, it ends with `StopIteration(future.result())` —
      which raises the future's exception, or `CancelledError` — or, if the
      future is still not done, raises `RuntimeError("await wasn't used with
      future")`.
    * Done already: the first `__next__()` ends at once, the same way.
    * It behaves as the generator would, whatever it is given: `send(v)` with
      `v` not None before the first step raises `TypeError("can't send
      non-None value to a just-started generator")` and changes nothing;
      `throw(e)` raises `e` (an exception class is instantiated) and finishes
      the iterator; `close()` finishes it and returns None; a finished
      iterator raises `StopIteration()` (no value) on `__next__`/`send`.

    The checks drive it with the chapter's eight-line `step` driver, with
    asyncio's own Task on a real loop, and compare every answer of your
    iterator with `Future.__await__`'s generator given the same calls.

    Hint: three states — not started, suspended at the yield, finished.
    """

    def __await__(self):
        raise NotImplementedError("challenge 3: write Answer.__await__ and its iterator")
