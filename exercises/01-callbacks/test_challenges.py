"""Checks for chapter 1's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 1`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

`loop` is a real `eventloop.new_event_loop()`; `make_virtual_loop(cls)` makes a
loop of class `cls` that fails the check instead of blocking forever.
"""
import contextvars
import gc
import weakref

import pytest

import eventloop


def one_pass(loop):
    """Run exactly one pass: stop() before run_forever() means one pass, then return."""
    loop.stop()
    loop.run_forever()


# ── 1. pending(loop) ────────────────────────────────────────────────────────

def test_pending_counts_the_queue(challenges, loop):
    assert challenges.pending(loop) == 0, "a new loop has nothing to run"
    for n in range(3):
        loop.call_soon(print, n)
    assert challenges.pending(loop) == 3, "three call_soon()s, three callbacks for the next pass"


def test_pending_skips_cancelled_handles(challenges, loop):
    trace = []
    loop.call_soon(trace.append, "a")
    loop.call_soon(trace.append, "b").cancel()
    loop.call_soon(trace.append, "c")
    loop.call_soon(trace.append, "d").cancel()
    assert challenges.pending(loop) == 2, (
        "cancel() only marks a handle: it stays in loop._ready until a pass skips it, "
        "so a cancelled handle is in the queue but will not run; don't count it"
    )
    assert challenges.pending(loop) == 2, "asking twice must give the same answer"
    one_pass(loop)
    assert trace == ["a", "c"], "pending() must only look: the next pass runs what it ran before"


def test_pending_counts_what_a_pass_left_for_the_next(challenges, loop):
    trace = []

    def fan_out():
        loop.call_soon(trace.append, "child 1")
        loop.call_soon(trace.append, "child 2")
        loop.call_soon(trace.append, "child 3").cancel()

    loop.call_soon(fan_out)
    assert challenges.pending(loop) == 1
    one_pass(loop)
    assert challenges.pending(loop) == 2, (
        "after one pass, _ready holds the callbacks that the batch scheduled "
        "(the batch rule: they wait for the next pass) — two live, one cancelled"
    )
    one_pass(loop)
    assert trace == ["child 1", "child 2"]
    assert challenges.pending(loop) == 0


# ── 2. call_soon_kw(loop, f, *args, **kwargs) ──────────────────────────────

def greet(name, punctuation=".", *, trace):
    trace.append(f"hello, {name}{punctuation}")


def test_call_soon_kw_makes_the_call(challenges, loop):
    trace = []
    challenges.call_soon_kw(loop, greet, "world", punctuation="!", trace=trace)
    challenges.call_soon_kw(loop, greet, "again", trace=trace)
    assert trace == [], "call_soon_kw schedules the call: nothing runs before the loop does"
    one_pass(loop)
    assert trace == ["hello, world!", "hello, again."], (
        "each call runs once, in the next pass, in the order it was scheduled, "
        "with its positional and keyword arguments"
    )


def test_call_soon_kw_returns_the_handle(challenges, loop):
    trace = []
    handle = challenges.call_soon_kw(loop, greet, "nobody", trace=trace)
    assert isinstance(handle, eventloop.Handle), (
        f"call_soon_kw must return the Handle that call_soon returned, got {handle!r}"
    )
    assert any(queued is handle for queued in loop._ready), "the returned handle is the one in loop._ready"
    handle.cancel()
    one_pass(loop)
    assert trace == [], "cancelling the returned handle must prevent the call"


def test_call_soon_kw_handle_names_the_function(challenges, loop):
    loop.set_debug(True)  # from Python 3.13 on, reprs show arguments only in debug mode
    handle = challenges.call_soon_kw(loop, greet, "world", punctuation="!", trace=[])
    text = repr(handle)
    assert "<lambda>" not in text, (
        f"the handle describes itself as {text!r}: a lambda hides the function. "
        "Wrap the call with functools.partial, which Handle unwraps"
    )
    assert "greet(" in text, f"the handle's repr should name the function greet: {text!r}"
    assert "'world'" in text and "punctuation='!'" in text, (
        f"the handle's repr should show the call's arguments, keywords included: {text!r}"
    )
    assert f"{__file__}:" in text, (
        f"the handle's repr should point at where greet is defined ({__file__}), "
        f"so that a log line leads to the code to read: {text!r}"
    )


def test_call_soon_kw_gives_every_keyword_to_f(challenges, loop):
    received = []

    def record(*args, **kwargs):
        received.append((args, kwargs))

    challenges.call_soon_kw(loop, record, 1, context="mine", loop="also mine", f="mine too")
    one_pass(loop)
    assert received == [((1,), {"context": "mine", "loop": "also mine", "f": "mine too"})], (
        "every keyword belongs to f: `context` must not be taken for call_soon's own "
        "`context` argument (pass all the keywords through the partial)"
    )


# ── 3. UrgentLoop.call_urgent ───────────────────────────────────────────────

@pytest.fixture
def urgent_loop(challenges, make_virtual_loop):
    return make_virtual_loop(challenges.UrgentLoop)


def test_urgent_runs_before_waiting_ordinary_callbacks(urgent_loop):
    loop, trace = urgent_loop, []
    loop.call_soon(trace.append, "ordinary 1")
    loop.call_soon(trace.append, "ordinary 2")
    loop.call_urgent(trace.append, "urgent")
    one_pass(loop)
    assert trace == ["urgent", "ordinary 1", "ordinary 2"], (
        "an urgent callback runs before the ordinary callbacks already waiting, "
        "and in the same pass"
    )


def test_urgent_callbacks_are_fifo(urgent_loop):
    loop, trace = urgent_loop, []
    loop.call_soon(trace.append, "o1")
    loop.call_urgent(trace.append, "u1")
    loop.call_soon(trace.append, "o2")
    loop.call_urgent(trace.append, "u2")
    loop.call_urgent(trace.append, "u3")
    one_pass(loop)
    assert trace == ["u1", "u2", "u3", "o1", "o2"], (
        "urgent callbacks keep the order they were scheduled in among themselves "
        "(a deque's appendleft would reverse them), and all come before the ordinary ones"
    )


def test_urgent_callbacks_obey_the_batch_rule(urgent_loop):
    loop, trace = urgent_loop, []

    def ordinary():
        trace.append("ordinary")
        loop.call_urgent(trace.append, "urgent, from ordinary")
        loop.call_soon(trace.append, "ordinary, from ordinary")

    def urgent():
        trace.append("urgent")
        loop.call_urgent(trace.append, "urgent, from urgent")

    loop.call_soon(ordinary)
    loop.call_soon(trace.append, "ordinary 2")
    loop.call_urgent(urgent)
    one_pass(loop)
    assert trace == ["urgent", "ordinary", "ordinary 2"], (
        "one pass runs the batch that was waiting when it began, and only that: "
        "an urgent callback scheduled during the pass must not jump into it "
        "(here it would run before 'ordinary 2', which was already waiting)"
    )
    del trace[:]
    one_pass(loop)
    assert trace == ["urgent, from urgent", "urgent, from ordinary", "ordinary, from ordinary"], (
        "the next pass runs the urgent callbacks scheduled by the last batch first, "
        "in the order they were scheduled, then the ordinary ones"
    )


def test_urgent_callback_alone_does_not_let_the_loop_wait(urgent_loop):
    loop, trace = urgent_loop, []
    loop.call_urgent(trace.append, "urgent")
    loop.call_urgent(loop.stop)
    # Only urgent callbacks are waiting: loop._ready is empty, and the base
    # _run_once waits (here: forever) when _ready is empty and stop() was not
    # called. A pass must count urgent callbacks as ready.
    loop.run_forever()
    assert trace == ["urgent"]


def test_stop_semantics_are_unchanged(urgent_loop):
    loop, trace = urgent_loop, []

    def urgent_stopper():
        trace.append("urgent: stop()")
        loop.stop()
        loop.call_urgent(trace.append, "urgent, from the batch")
        loop.call_soon(trace.append, "ordinary, from the batch")

    loop.call_soon(trace.append, "ordinary, waiting")
    loop.call_urgent(urgent_stopper)
    loop.run_forever()
    assert trace == ["urgent: stop()", "ordinary, waiting"], (
        "stop() lets the current batch finish (the ordinary callback that was waiting "
        "still runs), then run_forever() returns; what the batch scheduled waits"
    )
    assert loop.is_running() is False
    del trace[:]
    one_pass(loop)
    assert trace == ["urgent, from the batch", "ordinary, from the batch"], (
        "callbacks scheduled by the stopped batch run at the next run_forever(), urgent first"
    )


def test_urgent_handles_can_be_cancelled(urgent_loop):
    loop, trace = urgent_loop, []
    handle = loop.call_urgent(trace.append, "cancelled")
    assert isinstance(handle, eventloop.Handle), f"call_urgent must return a Handle, got {handle!r}"
    loop.call_urgent(trace.append, "kept")
    handle.cancel()
    loop.call_urgent(trace.append, "also cancelled").cancel()
    one_pass(loop)
    assert trace == ["kept"], "a cancelled urgent callback must not run"


def test_urgent_callbacks_run_in_their_context(urgent_loop):
    loop, seen = urgent_loop, []
    request_id = contextvars.ContextVar("request_id", default="-")

    request_id.set("scheduler's")
    loop.call_urgent(lambda: seen.append(request_id.get()))
    request_id.set("later")
    context = contextvars.copy_context()
    context.run(request_id.set, "given")
    loop.call_urgent(lambda: seen.append(request_id.get()), context=context)
    one_pass(loop)
    assert seen == ["scheduler's", "given"], (
        "an urgent callback runs in a copy of the context current when it was scheduled "
        "or, if given, in `context` — exactly as call_soon's"
    )


def test_raising_urgent_callback_goes_to_the_exception_handler(urgent_loop):
    loop, trace, errors = urgent_loop, [], []
    loop.set_exception_handler(lambda loop, context: errors.append(context))

    def fail():
        raise ZeroDivisionError("urgent failure")

    handle = loop.call_urgent(fail)
    loop.call_urgent(trace.append, "urgent after")
    loop.call_soon(trace.append, "ordinary after")
    one_pass(loop)
    assert trace == ["urgent after", "ordinary after"], (
        "a raising urgent callback must not take the loop down: the rest of the batch runs"
    )
    assert len(errors) == 1, f"the exception handler must be called once, got {errors!r}"
    context = errors[0]
    assert isinstance(context.get("exception"), ZeroDivisionError)
    assert context.get("handle") is handle, "the context's 'handle' is the handle call_urgent returned"
    assert "Exception in callback" in context.get("message", ""), (
        f"the message should be the loop's usual one, got {context.get('message')!r}"
    )


def test_call_urgent_checks_its_arguments_and_close_drops_the_queue(urgent_loop):
    loop = urgent_loop
    with pytest.raises(TypeError):
        loop.call_urgent("not a function")

    class Payload:
        pass

    payload = Payload()
    alive = weakref.ref(payload)
    loop.call_urgent(print, payload)
    del payload
    loop.close()
    gc.collect()
    assert alive() is None, (
        "close() must drop the waiting urgent callbacks (and their arguments), "
        "as it drops loop._ready: a closed loop will never run them"
    )
    with pytest.raises(RuntimeError, match="closed") as caught:
        loop.call_urgent(print, "too late")
    assert not isinstance(caught.value, NotImplementedError)
