"""Chapter 7: waking the loop — the self-pipe, call_soon_threadsafe, signals.

Real threads and real signals. Signal handlers need the main thread, so the
scenarios that deliver signals run as scripts in a child process, importing the
package under test from its folder; the refusals (wrong types, SIGKILL, another
thread) run here, on asyncio's loop and ours.
"""
import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

CHAPTER = 7


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def outcome(function, *args):
    try:
        return "ok", function(*args)
    except Exception as error:
        return type(error).__name__, str(error)


def run_script(el, source, *args):
    """Run `source` in a child process where `el` imports as `el`; return (stdout, stderr, status)."""
    folder = Path(el.__file__).resolve().parent.parent
    prologue = f"import sys; sys.path.insert(0, {str(folder)!r}); import {el.__name__} as el\n"
    done = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(source), *args],
                          capture_output=True, text=True, timeout=60)
    return done.stdout, done.stderr, done.returncode


# ---------------------------------------------------------------- threads


def test_a_thread_wakes_a_sleeping_loop_at_once(el, loop):
    ran_at = []
    threading.Timer(0.05, loop.call_soon_threadsafe, [lambda: (ran_at.append(loop.time()), loop.stop())]).start()
    loop.call_later(10, loop.stop)  # the backstop: a lost wake-up would wait for it
    start = loop.time()
    loop.run_forever()
    assert ran_at and ran_at[0] - start < 5, "the callback waited for the backstop timer"


def test_many_threads_lose_no_wake_up(el, loop):
    """Eight threads call in bursts while the loop keeps falling asleep; every callback runs, promptly."""
    threads, calls = 8, 500
    expected = threads * calls
    latencies = []
    backstop = loop.call_later(30, loop.stop)

    def arrived(sent_at):
        latencies.append(time.monotonic() - sent_at)
        if len(latencies) == expected:
            backstop.cancel()
            loop.stop()

    def hammer(seed):
        rng = random.Random(seed)
        for n in range(calls):
            loop.call_soon_threadsafe(arrived, time.monotonic())
            if n % 50 == 0:
                time.sleep(rng.random() * 0.002)  # let the loop run dry and go to sleep

    workers = [threading.Thread(target=hammer, args=(seed,)) for seed in range(threads)]
    for worker in workers:
        worker.start()
    loop.run_forever()
    for worker in workers:
        worker.join()
    assert len(latencies) == expected
    assert max(latencies) < 10, "a callback waited for a timeout instead of a wake-up"


def test_call_soon_threadsafe_refuses_what_asyncio_refuses(loops):
    async def coroutine_function():
        pass

    def scenario(loop):
        loop.set_debug(True)  # asyncio checks the callback only in debug mode
        trace = [outcome(loop.call_soon_threadsafe, "not callable")[0],
                 outcome(loop.call_soon_threadsafe, coroutine_function)[0]]
        loop.close()
        trace.append(outcome(loop.call_soon_threadsafe, print))
        return trace

    assert loops.compare(scenario) == ["TypeError", "TypeError", ("RuntimeError", "Event loop is closed")]


def test_its_handle_can_be_cancelled_and_carries_a_context(loops):
    def scenario(loop):
        trace = []
        loop.call_soon_threadsafe(trace.append, "cancelled").cancel()
        handle = loop.call_soon_threadsafe(trace.append, "ran")
        loop.call_soon_threadsafe(loop.stop)
        loop.run_forever()
        return trace, type(handle._context).__name__  # get_context() is 3.12+ in asyncio

    assert loops.compare(scenario) == (["ran"], "Context")


def test_the_self_pipe_is_closed_with_the_loop(el):
    before = open_fds()
    loops = [el.new_event_loop() for _ in range(10)]
    assert open_fds() >= before + 10 * 3  # the selector and the two ends of the self-pipe
    for loop in loops:
        loop.close()
        loop._write_to_self()  # a thread may still try: nothing to write to, no error
    assert open_fds() == before


def test_the_asyncgen_finalizer_wakes_the_loop(el, loop):
    closed = []

    async def ticker():
        try:
            while True:
                yield
        finally:
            closed.append(loop.time())

    async def main():
        agen = ticker()
        await agen.__anext__()
        # The garbage collector may finalize a generator in any thread:
        threading.Timer(0.05, loop._asyncgen_finalizer_hook, [agen]).start()
        await asyncio.sleep(5)

    task = loop.create_task(main())
    start = loop.time()
    loop.call_later(10, loop.stop)
    loop.run_until_complete(asyncio.wait_for(_until(lambda: closed), 5))
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    assert closed[0] - start < 4


async def _until(condition):
    while not condition():
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------- signals, refused


@pytest.mark.parametrize("sig, callback", [
    ("SIGUSR1", print), (0, print), (10_000, print), (signal.SIGUSR1, "coroutine"),
], ids=["str", "zero", "too-big", "coroutine"])
def test_bad_signal_handlers_are_refused_as_asyncio_refuses_them(loops, sig, callback):
    async def coroutine_function():
        pass

    callback = coroutine_function if callback == "coroutine" else callback
    assert loops.compare(lambda loop: outcome(loop.add_signal_handler, sig, callback))[0] in ("TypeError", "ValueError")


def test_uncatchable_signals_and_other_threads_are_refused(loops):
    def scenario(loop):
        trace = [outcome(loop.add_signal_handler, signal.SIGKILL, print)]
        in_thread = []
        thread = threading.Thread(target=lambda: in_thread.append(outcome(loop.add_signal_handler, signal.SIGUSR1, print)))
        thread.start()
        thread.join()
        trace.append(in_thread[0][0])
        trace.append(outcome(loop.remove_signal_handler, signal.SIGUSR1))
        return trace

    assert loops.compare(scenario) == [("RuntimeError", "sig 9 cannot be caught"), "RuntimeError", ("ok", False)]
    assert signal.getsignal(signal.SIGKILL) == signal.SIG_DFL


# ---------------------------------------------------------------- signals, delivered (child processes)


SIGNALS = """
import os, signal, functools
loop = el.new_event_loop()
seen = []
def got(name, *args):
    seen.append((name,) + args)
    if len(seen) == 2:
        loop.stop()
loop.add_signal_handler(signal.SIGUSR1, got, "usr1", 1)
loop.add_signal_handler(signal.SIGUSR2, functools.partial(got, "usr2"))
loop.call_later(0.05, os.kill, os.getpid(), signal.SIGUSR1)
loop.call_later(0.10, os.kill, os.getpid(), signal.SIGUSR2)
loop.call_later(10, loop.stop)
loop.run_forever()
print(seen)
print(loop.remove_signal_handler(signal.SIGUSR1), loop.remove_signal_handler(signal.SIGUSR1))
print(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL)
loop.add_signal_handler(signal.SIGINT, print)
loop.close()
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL)
print(signal.set_wakeup_fd(-1))
"""


def test_signals_become_callbacks_and_are_given_back(el):
    out, err, status = run_script(el, SIGNALS)
    assert status == 0, err
    assert out.splitlines() == [
        "[('usr1', 1), ('usr2',)]",
        "True False",
        "True",
        "True True",
        "-1",  # closing the loop stopped the wake-up writes
    ]


CTRL_C = """
import asyncio, os, signal, sys

# A program that a shell starts in the background inherits SIGINT ignored, and then
# neither asyncio.run nor ours installs its handler: start from what a terminal gives.
signal.signal(signal.SIGINT, signal.default_int_handler)

async def main():
    asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signal.SIGINT)
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("main cancelled")
        raise

def via_runner(coro):
    with asyncio.Runner(loop_factory=el.new_event_loop) as runner:
        return runner.run(coro)

run = {"asyncio": asyncio.run, "eventloop": el.run, "runner": via_runner}[sys.argv[1]]
try:
    run(main())
except KeyboardInterrupt:
    print("KeyboardInterrupt")
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
"""


@pytest.mark.parametrize("how", ["eventloop", "runner"])
def test_ctrl_c_behaves_as_under_asyncio_run(el, how):
    expected = run_script(el, CTRL_C, "asyncio")
    actual = run_script(el, CTRL_C, how)
    assert expected[0] == "main cancelled\nKeyboardInterrupt\nTrue\n"
    assert actual[0] == expected[0], actual[1]
    assert actual[2] == expected[2] == 0


def test_a_call_just_before_the_loop_sleeps_is_not_lost(el, new_loop):
    """The race, made certain: a thread appends after _run_once looked at _ready, before _wait.

    _wait must raise its flag and then look again; a loop that only looked once
    would sleep until the backstop timer with the callback in _ready.
    """
    class UnluckyLoop(el.EventLoop):
        def _wait(self, timeout):
            time.sleep(0.1)  # the thread's call lands here, while the flag is still down
            el.EventLoop._wait(self, timeout)

    loop = new_loop(UnluckyLoop)
    ran_at = []
    threading.Timer(0.05, loop.call_soon_threadsafe, [lambda: (ran_at.append(loop.time()), loop.stop())]).start()
    loop.call_later(10, loop.stop)
    start = loop.time()
    loop.run_forever()
    assert ran_at and ran_at[0] - start < 5, "lost wake-up: the callback waited for the backstop timer"
