"""Chapter 3 — Futures: reference solutions.

Spoilers. Try the challenges in `exercises/03-futures/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/03-futures/test_challenges.py`.
"""


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
