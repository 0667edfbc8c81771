#!/usr/bin/env python3
"""Our loop against asyncio's and uvloop's: callbacks, timers, tasks, threads, echo servers.

    python3 tools/dev.py bench            # the full run; rewrites docs/performance.md and its plots
    python tools/bench.py --smoke         # every benchmark once, tiny, about a second each (CI)
    python tools/bench.py --only "call_soon chains" "future round trips" --repeat 3
    python tools/bench.py --json          # the figures as JSON (and no docs written)
    python tools/bench.py --no-gc         # the garbage collector off while timing
    python tools/bench.py --profile call_later   # cProfile of each loop on one benchmark
    python tools/bench.py --profile "echo streams 1 KiB" --layers   # the same, by layer

The loops, in the same process: `eventloop` (ours, with asyncio's C Future and
Task), `eventloop+py` (ours with the course's pure-Python Future and Task,
`EventLoop(pure_python=True)`), `asyncio` (asyncio.new_event_loop()) and
`uvloop` (when it is installed: `pip install -e '.[bench]'`). What each
benchmark measures is in docs/performance.md, and in BENCHMARKS below.

The loops take turns, repetition after repetition (the order rotates), so that
a change in the machine's speed hits them all. A figure is ops per second of
the *best* repetition (the least disturbed one); p50 and p99 are the median,
over the repetitions, of each repetition's percentiles. "×" is the ratio to
asyncio's figure from the same run: above 1 means faster than asyncio.

A loop that lacks what a benchmark needs raises NotImplementedError (ours has
no transports before the transports chapter, so no Protocol or streams echo); that cell
reads "n/a" and fills in by itself once the loop can. Nothing here asserts a
time: the smoke run checks that every benchmark runs, not how fast.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import gc
import json
import math
import os
import platform
import pstats
import re
import queue
import random
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the course's package, also when it is not installed
import eventloop  # noqa: E402

try:
    import uvloop
except ImportError:  # an optional extra: the column is left out
    uvloop = None

ECHO_CLIENT = Path(__file__).resolve().parent / "bench" / "echo_client.py"
ECHO_CLIENT_C = ECHO_CLIENT.with_suffix(".c")  # the same generator in C: see LoadGenerator
DOCS_PAGE = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "assets" / "performance"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


def noop():
    pass

def bench_call_soon(loop, n: int, rng: random.Random) -> float:
    call_soon = loop.call_soon
    start = time.perf_counter()
    for _ in range(n):
        call_soon(noop)
    call_soon(loop.stop)
    loop.run_forever()
    elapsed = time.perf_counter() - start
    assert not getattr(loop, "_ready", None), "callbacks were left over"  # uvloop has none to look at
    return elapsed


def _chains(loop, n: int, schedule) -> float:
    """Run `n` hops spread over 100 chains; each hop schedules the next with `schedule`."""
    left = n

    def hop():
        nonlocal left
        left -= 1
        if left > 0:
            schedule(hop)
        elif left == 0:
            loop.stop()

    start = time.perf_counter()
    for _ in range(min(100, n)):
        schedule(hop)
    loop.run_forever()
    return time.perf_counter() - start


def bench_call_soon_chains(loop, n: int, rng: random.Random) -> float:
    return _chains(loop, n, loop.call_soon)


def bench_call_later_chains(loop, n: int, rng: random.Random) -> float:
    call_later = loop.call_later
    return _chains(loop, n, lambda callback: call_later(0, callback))


def _delays(n: int, rng: random.Random) -> list[float]:
    return [rng.random() * 0.001 for _ in range(n)]


def _run_timers(loop, start: float) -> float:
    # Every timer is due before `last + 1 ms`: a stop timer there fires after all of them.
    loop.call_at(loop.time() + 0.001, loop.stop)
    loop.run_forever()
    elapsed = time.perf_counter() - start
    assert not getattr(loop, "_scheduled", None) and not getattr(loop, "_ready", None), "timers were left over"
    return elapsed


def bench_call_later(loop, n: int, rng: random.Random) -> float:
    delays = _delays(n, rng)
    call_later = loop.call_later
    start = time.perf_counter()
    for delay in delays:
        call_later(delay, noop)
    return _run_timers(loop, start)


def _call_later_cancel(loop, n: int, rng: random.Random, cancelled: int) -> float:
    delays = _delays(n, rng)
    doomed = sorted(rng.sample(range(n), cancelled))
    call_later = loop.call_later
    start = time.perf_counter()
    timers = [call_later(delay, noop) for delay in delays]
    for index in doomed:
        timers[index].cancel()
    del timers
    return _run_timers(loop, start)


def bench_call_later_half_cancel(loop, n: int, rng: random.Random) -> float:
    return _call_later_cancel(loop, n, rng, n // 2)


def bench_call_later_cancel(loop, n: int, rng: random.Random) -> float:
    return _call_later_cancel(loop, n, rng, n * 9 // 10)


def bench_timeouts(loop, n: int, rng: random.Random) -> float:
    """`n` requests over 100 connections; each arms a 30 s timeout that its response cancels."""
    left = n
    call_later, call_soon = loop.call_later, loop.call_soon

    def request():
        call_soon(respond, call_later(30.0, noop))

    def respond(timeout):
        nonlocal left
        timeout.cancel()
        left -= 1
        if left > 0:
            request()
        elif left == 0:
            loop.stop()

    start = time.perf_counter()
    for _ in range(min(100, n)):
        request()
    loop.run_forever()
    return time.perf_counter() - start


BENCHMARKS = {
    # name: (function, default N)
    "call_soon chains": (bench_call_soon_chains, 300_000),
    "call_later chains": (bench_call_later_chains, 200_000),
    "call_soon": (bench_call_soon, 200_000),
    "call_later": (bench_call_later, 100_000),
    "call_later+half cancel": (bench_call_later_half_cancel, 100_000),
    "call_later+cancel": (bench_call_later_cancel, 100_000),
    "timeouts": (bench_timeouts, 200_000),
}


# ── Tasks and futures ────────────────────────────────────────────────────────
# These return a Run: besides the time, when each operation finished, so that
# the table can give latency percentiles. One clock read per operation (in the
# task switching benchmark, per round) is part of every loop's time alike.

@dataclass
class Run:
    seconds: float
    operations: int
    latencies_ns: list[int] | None = None  # one per operation (or round trip), when it makes sense
    extra: dict[str, float] = field(default_factory=dict)


def _gaps(stamps: list[int]) -> list[int]:
    """Latencies from the clock readings taken as operations finished, one after the other."""
    return [later - earlier for earlier, later in zip(stamps, stamps[1:])]


SWITCHING_TASKS = 100


def bench_task_switching(loop, n: int, rng: random.Random) -> Run:
    """SWITCHING_TASKS tasks take turns, each awaiting asyncio.sleep(0) n // SWITCHING_TASKS times."""
    tasks = min(SWITCHING_TASKS, n)
    rounds = max(1, n // tasks)
    turns = [time.perf_counter_ns()]  # each time the first task gets its turn back: one round apart

    async def worker():
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def timed_worker():
        stamp, clock = turns.append, time.perf_counter_ns
        for _ in range(rounds):
            await asyncio.sleep(0)
            stamp(clock())

    async def main():
        await asyncio.gather(timed_worker(), *[worker() for _ in range(tasks - 1)])

    start = time.perf_counter()
    loop.run_until_complete(main())
    return Run(time.perf_counter() - start, tasks * rounds, _gaps(turns))


def bench_future_round_trips(loop, n: int, rng: random.Random) -> Run:
    """n times: create_future(), call_soon(future.set_result, None), await the future."""
    finished = []

    async def main():
        create_future, call_soon = loop.create_future, loop.call_soon
        stamp, clock = finished.append, time.perf_counter_ns
        stamp(clock())
        for _ in range(n):
            future = create_future()
            call_soon(future.set_result, None)
            await future
            stamp(clock())

    start = time.perf_counter()
    loop.run_until_complete(main())
    return Run(time.perf_counter() - start, n, _gaps(finished))


# ── Threads ──────────────────────────────────────────────────────────────────

def _in_a_thread(loop, work: Callable[[], None]) -> float:
    """Run `work` in another thread while the loop runs; it must stop the loop when it is done."""
    loop.call_soon_threadsafe(noop)  # before any thread starts: ours raises NotImplementedError here
    errors = []

    def guarded():
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=guarded)
    start = time.perf_counter()
    thread.start()
    loop.run_forever()
    elapsed = time.perf_counter() - start
    thread.join()
    if errors:
        raise errors[0]
    return elapsed


def bench_call_soon_threadsafe(loop, n: int, rng: random.Random) -> float:
    """Another thread calls call_soon_threadsafe(noop) n times, as fast as it can; the loop runs them."""
    def produce():
        call_soon_threadsafe = loop.call_soon_threadsafe
        for _ in range(n):
            call_soon_threadsafe(noop)

    return _in_a_thread(loop, produce)


def bench_call_soon_threadsafe_round_trips(loop, n: int, rng: random.Random) -> Run:
    """Another thread, n times: call_soon_threadsafe(reply), then wait until the loop has run it."""
    replies = queue.SimpleQueue()
    latencies = []

    def ping_pong():
        call_soon_threadsafe, reply, wait = loop.call_soon_threadsafe, replies.put, replies.get
        clock = time.perf_counter_ns
        for _ in range(n):
            sent = clock()
            call_soon_threadsafe(reply, None)
            wait(timeout=10)  # queue.Empty rather than a hang if the loop never runs it
            latencies.append(clock() - sent)

    return Run(_in_a_thread(loop, ping_pong), n, latencies)


# ── Echo servers ─────────────────────────────────────────────────────────────
# The server runs on the loop under test, in this process; the load generator
# (tools/bench/echo_client.c, or echo_client.py where no C compiler is) is
# another process, which checks every byte and reports each round trip's
# latency and its own CPU time.

ECHO_CONNECTIONS = 10
ECHO_TIMEOUT = 120.0  # seconds: a hung run fails instead of blocking CI
READ_SIZE = 65536
GENERATOR_BOUND = 0.9  # a generator busier than this may be what limits the figure: the table says so


def scheduler_times() -> tuple[float, float]:
    """Seconds this thread ran on a CPU and waited for one (Linux's schedstat; NaN elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            ran, waited = stats.read().split()[:2]
    except (OSError, ValueError):
        return math.nan, math.nan
    return int(ran) / 1e9, int(waited) / 1e9


class Busy:
    """The server's share of wall time on a CPU (and of that, in the kernel) and waiting for one,
    from its first connection to its last close."""

    def __init__(self):
        self.started = None
        self.ran = self.in_kernel = self.waited = math.nan

    def begin(self):
        if self.started is None:
            self.started = (time.perf_counter(), time.process_time(), kernel_time(), scheduler_times()[1])

    def end(self):
        wall, cpu, kernel, waited = self.started
        wall = time.perf_counter() - wall
        self.ran = (time.process_time() - cpu) / wall
        self.in_kernel = (kernel_time() - kernel) / wall
        self.waited = (scheduler_times()[1] - waited) / wall


def kernel_time() -> float:
    """Seconds this process has run in the kernel: its system calls and page faults (Linux splits
    its exact CPU time between user and kernel by sampling at each clock tick: close over a run,
    not for one call)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


class LoadGenerator:
    """How to start the echo benchmarks' load generator: the C one when this machine can build it.

    Both programs do the same: the same options, checks and report. A generator written in
    Python costs about as much per round trip as the servers it measures, so on a machine
    with two cores it was the busier of the two processes; the C one spends its time in the
    kernel's send and recv, which every generator pays. `--python-generator` asks for the
    Python one. The built program lives in a temporary folder until close()."""

    def __init__(self):
        self.command: list[str] | None = None
        self.name = ""
        self._folder: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self.command = None

    def choose(self, python: bool = False) -> None:
        if python:
            self.command, self.name = [sys.executable, str(ECHO_CLIENT)], "echo_client.py (asked for)"
            return
        compiler = shutil.which(os.environ.get("CC", "cc"))
        if compiler is not None:
            self._folder = tempfile.TemporaryDirectory(prefix="eventloop-bench-")
            binary = Path(self._folder.name) / "echo_client"
            built = subprocess.run([compiler, "-O2", "-o", str(binary), str(ECHO_CLIENT_C)],
                                   capture_output=True, text=True)
            if built.returncode == 0:
                self.command, self.name = [str(binary)], f"echo_client.c, built with {Path(compiler).name} -O2"
                return
            print(f"bench: {ECHO_CLIENT_C.name} did not compile, so the Python generator runs:\n{built.stderr}",
                  file=sys.stderr)
        self.command, self.name = [sys.executable, str(ECHO_CLIENT)], "echo_client.py (no C compiler worked)"


GENERATOR = LoadGenerator()


class EchoProtocol(asyncio.Protocol):
    def __init__(self, busy: Busy, closed: Callable[[], None]):
        self.busy, self.closed = busy, closed

    def connection_made(self, transport):
        self.busy.begin()
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        self.closed()


def _all_closed(loop, connections: int, busy: Busy):
    """A future done when `connections` connections have closed, and the callback that counts them."""
    finished = loop.create_future()
    left = connections

    def closed():
        nonlocal left
        left -= 1
        if left == 0:
            busy.end()
            finished.set_result(None)

    return finished, closed


async def serve_protocol(loop, listener: socket.socket, connections: int, busy: Busy) -> None:
    finished, closed = _all_closed(loop, connections, busy)
    server = await loop.create_server(lambda: EchoProtocol(busy, closed), sock=listener)
    async with server:
        await finished


async def serve_streams(loop, listener: socket.socket, connections: int, busy: Busy) -> None:
    finished, closed = _all_closed(loop, connections, busy)

    async def echo(reader, writer):
        busy.begin()
        try:
            while data := await reader.read(READ_SIZE):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            closed()

    server = await asyncio.start_server(echo, sock=listener)
    async with server:
        await finished


async def serve_sockets(loop, listener: socket.socket, connections: int, busy: Busy) -> None:
    async def echo(conn):
        with conn:
            while data := await loop.sock_recv(conn, READ_SIZE):
                await loop.sock_sendall(conn, data)

    echoes = []
    for _ in range(connections):
        conn, _ = await loop.sock_accept(listener)
        busy.begin()
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's and uvloop's transports do
        echoes.append(loop.create_task(echo(conn)))
    await asyncio.gather(*echoes)
    busy.end()


async def serve_without_a_loop(loop, listener: socket.socket, connections: int, busy: Busy) -> None:
    """The same echo with no loop at all: epoll, recv and send, and the least else a correct server does.

    It never awaits: the loop under test only starts it, and it blocks the loop's thread until
    the last connection closes. So every column runs the same code. Its best figure is what pure
    Python does for this echo on this machine with nothing left for a loop to cost; the spread
    of its figures across the columns is the run's noise."""
    listener_fd = listener.fileno()
    peers = {}  # fd -> [socket, what it has not yet taken of its echo]
    accepted = 0
    with select.epoll() as poll:
        poll.register(listener_fd, select.EPOLLIN)
        while accepted < connections or peers:
            events = poll.poll(ECHO_TIMEOUT)
            if not events:
                raise TimeoutError(f"no event in {ECHO_TIMEOUT} s: the load generator went quiet")
            for fd, mask in events:
                if fd == listener_fd:
                    conn, _ = listener.accept()
                    busy.begin()
                    accepted += 1
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    peers[conn.fileno()] = [conn, b""]
                    poll.register(conn, select.EPOLLIN)
                    continue
                conn, unsent = peer = peers[fd]
                if mask & select.EPOLLOUT:
                    try:
                        unsent = unsent[conn.send(unsent):]
                    except BlockingIOError:
                        pass
                    if not unsent:
                        poll.modify(fd, select.EPOLLIN)
                if mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    data = conn.recv(READ_SIZE)
                    if not data:
                        poll.unregister(fd)
                        conn.close()
                        del peers[fd]
                        continue
                    if unsent:
                        unsent += data  # behind what is already waiting: the echo keeps its order
                    else:
                        try:
                            sent = conn.send(data)
                        except BlockingIOError:
                            sent = 0
                        if sent < len(data):
                            unsent = data[sent:]
                            poll.modify(fd, select.EPOLLIN | select.EPOLLOUT)
                peer[1] = unsent
    busy.end()


def _echo(serve, size: int):
    def bench(loop, n: int, rng: random.Random) -> Run:
        """ECHO_CONNECTIONS connections, each n round trips of `size` bytes, after n // 10 untimed."""
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        if GENERATOR.command is None:
            GENERATOR.choose()
        command = [*GENERATOR.command, "--port", str(listener.getsockname()[1]),
                   "--connections", str(ECHO_CONNECTIONS), "--size", str(size), "--count", str(n),
                   "--warmup", str(max(1, n // 10)), "--seed", str(rng.randrange(2**32)),
                   "--timeout", str(ECHO_TIMEOUT)]
        busy = Busy()
        client = subprocess.Popen(command, stdout=subprocess.PIPE)
        try:
            loop.run_until_complete(asyncio.wait_for(serve(loop, listener, ECHO_CONNECTIONS, busy), ECHO_TIMEOUT))
            report, _ = client.communicate(timeout=ECHO_TIMEOUT)
        finally:
            listener.close()  # a no-op when the server closed it already
            if client.poll() is None:  # the server failed: the generator waits for echoes forever
                client.kill()
                client.wait()
        if client.returncode != 0:
            raise RuntimeError(f"the load generator failed with status {client.returncode} (its message is above)")
        report = json.loads(report)
        seconds = report["seconds"]
        waited = report["waited_for_cpu_seconds"]
        return Run(seconds, report["round_trips"], report["latencies_ns"],
                   {"server CPU": busy.ran, "server in the kernel": busy.in_kernel, "server waiting": busy.waited,
                    "generator CPU": report["cpu_seconds"] / seconds,
                    "generator waiting": math.nan if waited is None else waited / seconds})

    return bench


# ── The suite ────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str
    function: Callable
    n: int  # default N: operations (echo: timed round trips per connection)
    unit: str  # what one operation is
    latency: str = ""  # what one latency sample is; "" when none is taken
    missing: str = ""  # what a loop that raises NotImplementedError lacks


CALLBACKS, TASKS, THREADS, ECHO = "Callbacks and timers", "Tasks and futures", "Threads", "Echo servers"
NO_THREADSAFE = "no call_soon_threadsafe yet: chapter 7"
NO_IO = "no transports yet: chapter 10"
KiB = 1024
ECHO_SIZES = {1 * KiB: 3_000, 10 * KiB: 2_000, 100 * KiB: 300}  # message size: round trips per connection
ECHO_SERVERS = {"Protocol": serve_protocol, "streams": serve_streams, "sock_*": serve_sockets,
                "without a loop": serve_without_a_loop}
UNITS = {"call_soon chains": "callbacks", "call_soon": "callbacks", "call_later chains": "timers",
         "call_later": "timers", "call_later+cancel": "timers"}

SUITE = [
    *(Benchmark(name, CALLBACKS, function, n, UNITS.get(name, "operations"))
      for name, (function, n) in BENCHMARKS.items()),
    Benchmark("task switching", TASKS, bench_task_switching, 200_000, "switches",
              f"round: each of the {SWITCHING_TASKS} tasks resumed once"),
    Benchmark("future round trips", TASKS, bench_future_round_trips, 100_000, "round trips", "round trip"),
    Benchmark("call_soon_threadsafe", THREADS, bench_call_soon_threadsafe, 100_000, "callbacks",
              missing=NO_THREADSAFE),
    Benchmark("call_soon_threadsafe round trips", THREADS, bench_call_soon_threadsafe_round_trips, 20_000,
              "round trips", "round trip: thread → loop → thread", NO_THREADSAFE),
    *(Benchmark(f"echo {server} {size // KiB} KiB", ECHO, _echo(serve, size), count, "round trips",
                "round trip, as the generator sees it", NO_IO)
      for server, serve in ECHO_SERVERS.items() for size, count in ECHO_SIZES.items()),
]
BY_NAME = {benchmark.name: benchmark for benchmark in SUITE}


def loops() -> dict[str, Callable]:
    found = {
        "eventloop": lambda: eventloop.EventLoop(pure_python=False),
        "eventloop+py": lambda: eventloop.EventLoop(pure_python=True),
        "asyncio": asyncio.new_event_loop,
    }
    if uvloop is not None:
        found["uvloop"] = uvloop.new_event_loop
    return found


# ── Running ──────────────────────────────────────────────────────────────────

def measure(benchmark: Benchmark, factory, n: int, seed: int, collect: bool = True) -> Run:
    loop = factory()
    try:
        if loop.get_debug():
            loop.set_debug(False)  # PYTHONASYNCIODEBUG or -X dev would measure the checks
        gc.collect()
        if not collect:
            gc.disable()
        result = benchmark.function(loop, n, random.Random(seed))
    finally:
        gc.enable()
        loop.close()
    return result if isinstance(result, Run) else Run(result, n)


def percentile(ordered: list[int], q: float) -> int:
    """The nearest-rank percentile of a sorted list."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * q / 100) - 1))]


def summarize(runs: list[Run]) -> dict:
    rates = [run.operations / run.seconds for run in runs]
    summary = {"ops_per_s": max(rates), "median_ops_per_s": statistics.median(rates),
               "operations": runs[0].operations, "seconds": [run.seconds for run in runs]}
    if runs[0].latencies_ns:
        ordered = [sorted(run.latencies_ns) for run in runs]
        summary["p50_ns"] = statistics.median(percentile(o, 50) for o in ordered)
        summary["p99_ns"] = statistics.median(percentile(o, 99) for o in ordered)
    for key in runs[0].extra:
        summary[key] = statistics.median(run.extra[key] for run in runs)
    return summary


def settle_the_allocator() -> None:
    """Allocate and free one 1 MiB block, so that every benchmark meets the C allocator in one state.

    glibc's malloc serves a block of 128 KiB or more with an mmap of its own, and gives memory
    at the top of its heap back to the system once more than 128 KiB is free there; it raises
    both limits when a program frees an mmapped block (to the block's size, and twice that).
    In a process that never did, every buffer of about 100 KiB is fresh pages from the kernel:
    the 100 KiB echoes ran 2-3 times slower for every loop when they came first, and as fast
    as in the full run when any benchmark had run before them. Chapter 10 measures the same
    effect on asyncio's 256 KiB reads ("What a read costs")."""
    block = bytearray(1 << 20)
    del block


def run(benchmarks: list[Benchmark], repeat: int, scale: float, seed: int, collect: bool = True,
        warm_up: bool = True) -> dict:
    settle_the_allocator()
    factories = loops()
    results = {}
    for benchmark in benchmarks:
        n = max(1, int(benchmark.n * scale))
        started = time.perf_counter()
        missing = set()
        runs = {name: [] for name in factories}
        for name, factory in factories.items():
            try:  # warm-up (imports, caches, the allocator), and the test of what the loop can do
                measure(benchmark, factory, max(1, n // 10) if warm_up else 1, seed, collect)
            except NotImplementedError:
                missing.add(name)
        able = [name for name in factories if name not in missing]
        for repetition in range(repeat):
            shift = repetition % len(able)
            for name in able[shift:] + able[:shift]:
                runs[name].append(measure(benchmark, factories[name], n, seed + repetition, collect))
        entry = {"n": n, "unit": benchmark.unit, "group": benchmark.group, "latency": benchmark.latency,
                 "loops": {name: ({"n/a": benchmark.missing or "NotImplementedError"} if name in missing
                                  else summarize(runs[name])) for name in factories}}
        reference = entry["loops"]["asyncio"]["ops_per_s"]
        for summary in entry["loops"].values():
            if "ops_per_s" in summary:
                summary["ratio"] = summary["ops_per_s"] / reference
        results[benchmark.name] = entry
        print(f"  {benchmark.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return results


def environment() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "uvloop": uvloop.__version__ if uvloop is not None else None,
    }


# ── Reporting ────────────────────────────────────────────────────────────────

def rate(value: float) -> str:
    for limit, suffix in ((1e6, " M"), (1e3, " k")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}/s"
    return f"{value:.3g}/s"


def duration(ns: float) -> str:
    for limit, suffix in ((1e6, " ms"), (1e3, " µs")):
        if ns >= limit:
            return f"{ns / limit:.3g}{suffix}"
    return f"{ns:.3g} ns"


def percent(fraction: float) -> str:
    return "?" if math.isnan(fraction) else f"{fraction:.0%}"


def markdown_tables(results: dict) -> str:
    names = list(next(iter(results.values()))["loops"])
    header = "| benchmark | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names)
    out = []
    for group in dict.fromkeys(entry["group"] for entry in results.values()):
        entries = {name: entry for name, entry in results.items() if entry["group"] == group}
        out += [f"### {group}", "", "Operations per second (× asyncio's, same run):", "", header]
        for name, entry in entries.items():
            cells = []
            for summary in entry["loops"].values():
                if "n/a" in summary:
                    cells.append(f"n/a ({summary['n/a']})")
                else:
                    ratio = "" if summary["ratio"] == 1 else f" ×{summary['ratio']:.2f}"
                    bound = " (generator-bound)" if summary.get("generator CPU", 0) >= GENERATOR_BOUND else ""
                    cells.append(rate(summary["ops_per_s"]) + ratio + bound)
            per = f"{entry['n']:,} {entry['unit']}" + (" per connection" if group == ECHO else "")
            out.append(f"| {name} ({per}) | " + " | ".join(cells) + " |")
        timed = {name: entry for name, entry in entries.items() if entry["latency"]}
        if timed:
            out += ["", "Latency, p50 / p99:", "",
                    "| benchmark | one sample is | " + " | ".join(names) + " |\n|---|---|" + "---:|" * len(names)]
            for name, entry in timed.items():
                cells = ["n/a" if "n/a" in summary else
                         f"{duration(summary['p50_ns'])} / {duration(summary['p99_ns'])}"
                         for summary in entry["loops"].values()]
                out.append(f"| {name} | {entry['latency']} | " + " | ".join(cells) + " |")
        busy = {name: entry for name, entry in entries.items()
                if any("server CPU" in summary for summary in entry["loops"].values())}
        if busy:
            out += ["", "Who was busy, in % of wall time: the server on a CPU (of that, in the kernel) / "
                    "waiting for one, then the same for the load generator:", "", header]
            for name, entry in busy.items():
                cells = ["n/a" if "n/a" in summary else
                         f"{percent(summary['server CPU'])} ({percent(summary['server in the kernel'])}) / "
                         f"{percent(summary['server waiting'])} · "
                         f"{percent(summary['generator CPU'])} / {percent(summary['generator waiting'])}"
                         for summary in entry["loops"].values()]
                out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def describe(env: dict, repeat: int, collect: bool, took: float | None) -> str:
    load = f"; load average {env['load_average']:.2f} when it started" if env["load_average"] is not None else ""
    generator = f" Load generator: {env['generator']}." if env.get("generator") else ""
    uv = f", uvloop {env['uvloop']}" if env["uvloop"] else ", uvloop not installed"
    took_text = f" The whole run took {took / 60:.1f} minutes." if took is not None else ""
    return (f"Measured on {env['date']}: {env['cpu']}, {env['cores']} cores ({env['usable_cores']} usable){load}; "
            f"{env['platform']}; {env['implementation']} {env['python']}{uv}. "
            f"Best of {repeat} interleaved repetitions, garbage collector {'on' if collect else 'off'}."
            f"{generator}{took_text}")


def plot(results: dict, folder: Path) -> list[Path]:
    """Two small PNGs: the ratios to asyncio, and the echo servers' round trips and latencies."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    folder.mkdir(parents=True, exist_ok=True)
    names = list(next(iter(results.values()))["loops"])
    colours = dict(zip(["eventloop", "eventloop+py", "asyncio", "uvloop"], ["C0", "C9", "C7", "C3"]))
    written = []

    micro = {name: entry for name, entry in results.items() if entry["group"] != ECHO}
    if micro:
        others = [name for name in names if name != "asyncio"]
        figure, axes = plt.subplots(figsize=(8, 0.45 * len(micro) * len(others) / 2 + 1.2))
        height = 0.8 / len(others)
        for index, loop_name in enumerate(others):
            ys = [row - 0.4 + height * (index + 0.5) for row in range(len(micro))]
            ratios = [entry["loops"][loop_name].get("ratio", 1) for entry in micro.values()]
            # From 1× to the ratio: slower than asyncio's extends to the left.
            axes.barh(ys, [ratio - 1 for ratio in ratios], height, left=1, label=loop_name,
                      color=colours.get(loop_name))
            for y, entry in zip(ys, micro.values()):
                if "n/a" in entry["loops"][loop_name]:
                    axes.text(1.03, y, f"{loop_name}: n/a", va="center", fontsize=7)
        axes.axvline(1, color="black", linewidth=0.8)
        axes.set_xscale("log", base=2)
        lowest = min(summary.get("ratio", 1) for entry in micro.values() for summary in entry["loops"].values())
        axes.set_xlim(left=min(0.25, lowest / 1.2))
        axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}×"))
        axes.set_yticks(range(len(micro)), list(micro), fontsize=8)
        axes.invert_yaxis()
        axes.set_xlabel("operations per second, relative to asyncio's loop (log scale; 1× = as fast)")
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        axes.grid(axis="x", alpha=0.3)
        figure.tight_layout()
        written.append(folder / "ratios.png")
        figure.savefig(written[-1], dpi=90)
        plt.close(figure)

    echo = {name: entry for name, entry in results.items() if entry["group"] == ECHO}
    if echo:
        able = [name for name in names if any("ops_per_s" in entry["loops"][name] for entry in echo.values())]
        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 0.35 * len(echo) * len(able) / 2 + 1.5),
                                             sharey=True)
        height = 0.8 / max(1, len(able))
        for index, loop_name in enumerate(able):
            ys = [row - 0.4 + height * (index + 0.5) for row in range(len(echo))]
            summaries = [entry["loops"][loop_name] for entry in echo.values()]
            left.barh(ys, [s.get("ops_per_s", 0) for s in summaries], height, label=loop_name,
                      color=colours.get(loop_name))
            for y, summary in zip(ys, summaries):
                if "p50_ns" in summary:
                    right.plot([summary["p50_ns"] / 1e3, summary["p99_ns"] / 1e3], [y, y], "-",
                               color=colours.get(loop_name), linewidth=2)
                    right.plot(summary["p50_ns"] / 1e3, y, "o", color=colours.get(loop_name), markersize=4)
                    right.plot(summary["p99_ns"] / 1e3, y, "|", color="black", markersize=7)
        left.set_yticks(range(len(echo)), [name.removeprefix("echo ") for name in echo], fontsize=8)
        left.invert_yaxis()
        left.set_xlabel("round trips per second\n(10 connections)")
        left.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:g} k"))
        right.set_xscale("log")
        right.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        right.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        right.set_xlabel("latency per round trip, µs\n(log scale): dot p50, tick p99")
        right.legend(*left.get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        for axes in (left, right):
            axes.grid(axis="x", alpha=0.3, which="both")
        figure.tight_layout()
        written.append(folder / "echo.png")
        figure.savefig(written[-1], dpi=90)
        plt.close(figure)
    return written


def report(results: dict, env: dict, repeat: int, collect: bool, took: float | None, images: str) -> str:
    """The generated part of docs/performance.md."""
    lines = [describe(env, repeat, collect, took), "", markdown_tables(results)]
    if any(entry["group"] != ECHO for entry in results.values()):
        lines += ["![Each loop's operations per second, as a multiple of asyncio's](" + images + "/ratios.png)", ""]
    if any(entry["group"] == ECHO for entry in results.values()):
        lines += ["![Echo servers: round trips per second, p50 and p99 latency](" + images + "/echo.png)", ""]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    page = DOCS_PAGE.read_text(encoding="utf-8")
    if BEGIN not in page or END not in page:
        sys.exit(f"{DOCS_PAGE.relative_to(ROOT)} has lost its markers {BEGIN} … {END}")
    before, rest = page.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    DOCS_PAGE.write_text(f"{before}{BEGIN}\n{text.strip()}\n{END}{after}", encoding="utf-8")


# Where a profile's own time (tottime) was spent, by layer: the first rule that matches a
# function wins. A built-in (file "~") is matched by its name, anything else by its file.
LAYERS = [
    ("system calls: send, recv", lambda path, name: path == "~" and bool(re.search(r"'_socket\.socket' objects|socket\.(send|recv)", name))),
    ("system calls: wait for events", lambda path, name: path == "~" and bool(re.search(r"'select\.(epoll|poll)' objects", name))),
    ("asyncio's streams (asyncio/streams.py)", lambda path, name: path.endswith(f"asyncio{os.sep}streams.py")),
    ("the benchmark's own code (tools/bench.py)", lambda path, name: path.endswith(f"tools{os.sep}bench.py")),
    ("our loop's Python (eventloop/)", lambda path, name: f"{os.sep}eventloop{os.sep}" in path),
    ("asyncio's loop and the rest of asyncio/", lambda path, name: f"{os.sep}asyncio{os.sep}" in path),
    ("selectors.py (under both selector loops)", lambda path, name: path.endswith(f"{os.sep}selectors.py")),
    ("other built-ins (Context.run, which includes C tasks' steps; deque, dict, ...)", lambda path, name: path == "~"),
    ("the rest (the generator's subprocess, json, ...)", lambda path, name: True),
]


def layers(stats: pstats.Stats) -> list[tuple[str, float]]:
    """[(layer, share of the profile's time)], in LAYERS' order; layers under 0.05 % left out."""
    seconds = dict.fromkeys((layer for layer, _ in LAYERS), 0.0)
    for (path, _, name), (_, _, own_time, _, _) in stats.stats.items():
        layer = next(layer for layer, matches in LAYERS if matches(path, name))
        seconds[layer] += own_time
    total = sum(seconds.values()) or 1.0
    return [(layer, spent / total) for layer, spent in seconds.items() if spent / total >= 0.0005]


def profile(benchmark: Benchmark, scale: float, seed: int, top: int, by_layer: bool = False) -> None:
    """cProfile each loop on one benchmark, side by side: the top functions, or the time by layer."""
    n = max(1, int(benchmark.n * scale))
    for loop_name, factory in loops().items():
        profiler = cProfile.Profile()
        loop = factory()
        try:
            gc.collect()
            profiler.enable()
            try:
                benchmark.function(loop, n, random.Random(seed))
            except NotImplementedError:
                print(f"\n=== {loop_name}: n/a ({benchmark.missing})")
                continue
            finally:
                profiler.disable()
        finally:
            loop.close()
        print(f"\n=== {loop_name}: {benchmark.name}, N={n:,} (cProfile: relative costs only, absolute times inflated)")
        if by_layer:
            for layer, share in layers(pstats.Stats(profiler)):
                print(f"  {share:6.1%}  {layer}")
        else:
            pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per loop (default 5)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this (default 1)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the random delays and payloads")
    parser.add_argument("--only", nargs="+", choices=list(BY_NAME), metavar="NAME",
                        help="run only these: " + ", ".join(BY_NAME))
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--no-gc", action="store_true",
        help="disable the cyclic garbage collector while timing: the loops' own overhead, without "
        "the collections that N live handles trigger (a cost all loops share)",
    )
    parser.add_argument("--smoke", action="store_true",
                        help="every benchmark once, tiny, no warm-up; renders the report into a "
                        "temporary folder and leaves docs/ alone (what CI runs)")
    parser.add_argument("--no-write", action="store_true", help="print the tables; leave docs/ alone")
    parser.add_argument("--profile", choices=list(BY_NAME), metavar="NAME", help="cProfile one benchmark instead")
    parser.add_argument("--top", type=int, default=15, help="rows of the profile (default 15)")
    parser.add_argument("--python-generator", action="store_true",
                        help="the echo benchmarks' load generator in Python, even where the C one builds")
    parser.add_argument("--layers", action="store_true",
                        help="with --profile: the share of time in each layer (system calls, asyncio's "
                        "streams, the loop, ...) instead of the top functions")
    args = parser.parse_args(argv)
    benchmarks = [BY_NAME[name] for name in args.only] if args.only else SUITE
    if any(benchmark.group == ECHO for benchmark in ([BY_NAME[args.profile]] if args.profile else benchmarks)):
        GENERATOR.choose(python=args.python_generator)
    try:
        return measure_and_report(args, benchmarks)
    finally:
        GENERATOR.close()


def measure_and_report(args: argparse.Namespace, benchmarks: list[Benchmark]) -> int:
    if args.profile:
        profile(BY_NAME[args.profile], args.scale, args.seed, args.top, args.layers)
        return 0
    if args.smoke:
        args.repeat, args.scale = 1, 0.02
    env = environment()
    env["generator"] = GENERATOR.name
    print(f"{len(benchmarks)} benchmarks on {', '.join(loops())}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    results = run(benchmarks, args.repeat, args.scale, args.seed, collect=not args.no_gc, warm_up=not args.smoke)
    took = time.perf_counter() - started
    if args.json:
        print(json.dumps({"environment": env, "repeat": args.repeat, "scale": args.scale,
                          "gc": not args.no_gc, "took_s": took, "results": results}, indent=2))
        return 0
    complete = not (args.smoke or args.only or args.scale != 1 or args.no_write)
    text = report(results, env, args.repeat, not args.no_gc, took if complete else None, "assets/performance")
    print(text)
    if args.smoke:
        with tempfile.TemporaryDirectory() as folder:
            written = plot(results, Path(folder))
            sizes = ", ".join(f"{path.name} {path.stat().st_size // 1024} KiB" for path in written)
            print(f"smoke run: the report and its plots render ({sizes}); docs/ left alone", file=sys.stderr)
    elif complete:
        plot(results, PLOTS)
        write_docs(text)
        print(f"wrote {DOCS_PAGE.relative_to(ROOT)} and {PLOTS.relative_to(ROOT)}/", file=sys.stderr)
    else:
        print(f"{DOCS_PAGE.relative_to(ROOT)} left as it is (not a full run)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
