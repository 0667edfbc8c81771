"""Chapter 3 — Futures: reference solutions.

Spoilers. Try the challenges in `exercises/03-futures/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/03-futures/test_challenges.py`.
"""

import eventloop


def _copy_outcome(source, destination):
    """Settle `destination` as `source` settled: cancelled, exception or result."""
    if source.cancelled():
        destination.cancel()
    elif source.exception() is not None:
        destination.set_exception(source.exception())
    else:
        destination.set_result(source.result())


# ── 1. The first to finish ──────────────────────────────────────────────────

def first_completed(loop, *futures):
    """A future that settles like the first of `futures` to be done; the inputs are left alone."""
    if not futures:
        raise ValueError("first_completed() needs at least one future")
    winner = loop.create_future()

    def on_input_done(future):
        # Two inputs finishing in the same pass both have this callback queued
        # already; removing it (below) is too late for the second one.
        if not winner.done():
            _copy_outcome(future, winner)

    def on_winner_done(_):
        # Settled by an input or cancelled by the caller: either way, stop
        # listening, so that a long-lived input does not collect dead callbacks.
        for future in futures:
            future.remove_done_callback(on_input_done)

    for future in futures:
        future.add_done_callback(on_input_done)
    winner.add_done_callback(on_winner_done)
    return winner


# ── 2. Then ─────────────────────────────────────────────────────────────────

def then(future, fn):
    """A future for `fn(future.result())`; failure and cancellation pass through."""
    derived = future.get_loop().create_future()

    def on_source_done(source):
        if derived.done():
            return  # cancelled by its owner, which has cancelled `source` too
        if source.cancelled() or source.exception() is not None:
            _copy_outcome(source, derived)
            return
        try:
            value = fn(source.result())
        except Exception as error:  # KeyboardInterrupt and SystemExit go on up
            derived.set_exception(error)
        else:
            derived.set_result(value)

    def on_derived_done(derived):
        if derived.cancelled():
            future.cancel()  # as asyncio's _chain_future does

    future.add_done_callback(on_source_done)
    derived.add_done_callback(on_derived_done)
    return derived


# ── 3. Hardcore: `await` without a generator ────────────────────────────────

class Answer(eventloop.Future):
    """A future whose `__await__` is a hand-written iterator instead of a generator."""

    def __await__(self):
        return _Awaiting(self)


class _Awaiting:
    """`Future.__await__`'s generator, by hand: what `yield from` drives, one call at a time.

    The generator has three states, and so has this object: not started
    (before the first `send`), suspended at its one `yield`, and finished.
    """

    def __init__(self, future):
        self._future = future
        self._state = "not started"

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        if self._state == "finished":
            raise StopIteration  # an exhausted generator: no value
        if self._state == "not started":
            if value is not None:  # the generator refuses, and stays unstarted
                raise TypeError("can't send non-None value to a just-started generator")
            if not self._future.done():
                self._future._asyncio_future_blocking = True
                self._state = "suspended"
                return self._future  # the `yield self`: to the task, "wake me when this is done"
        # After the yield (the value sent is ignored, as the generator ignores it),
        # or a future done from the start: the generator's last two lines.
        self._state = "finished"
        if not self._future.done():
            raise RuntimeError("await wasn't used with future")
        raise StopIteration(self._future.result())  # result() may raise: that is the await raising

    def throw(self, error, value=None, traceback=None):
        # Not started, suspended or finished, the generator lets the exception
        # out (nothing in it catches), and is finished from then on.
        self._state = "finished"
        if isinstance(error, type):
            error = error() if value is None else error(value)
        if traceback is not None:
            error = error.with_traceback(traceback)
        raise error

    def close(self):
        # GeneratorExit at the yield, uncaught: the generator finishes quietly.
        self._state = "finished"
