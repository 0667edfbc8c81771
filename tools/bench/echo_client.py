#!/usr/bin/env python3
"""The load generator of tools/bench.py's echo benchmarks: a separate process.

    python tools/bench/echo_client.py --port P [--connections 10] [--size 1024]
                                      [--count 1000] [--warmup 100] [--seed 0]

Opens --connections TCP connections to 127.0.0.1:P and runs a closed loop on
each: send one message of --size bytes, wait until the whole echo is back,
check every byte, send the next. First --warmup round trips per connection,
untimed; then all connections start together on --count timed round trips
each. Prints one JSON object to stdout: the round trips, the timed phase's
wall time, each round trip's latency in ns (first byte sent to last byte back),
this process's CPU time over the timed phase, and (on Linux) how long it
waited for a CPU, runnable but not running: so the caller can tell whether the
generator itself was the bottleneck (CPU time close to wall time) or the
machine was (long waits).

One thread and non-blocking sockets under `selectors`: the least Python work
per round trip that the standard library allows. echo_client.c is the same
program in C, which tools/bench.py runs wherever a C compiler builds it: this
one costs about as much per round trip as the fastest servers it measures. Each connection alternates
between two random payloads of its own, so an echo that repeats an old message,
mixes up connections, or adds or drops a byte fails the comparison. Any
mismatch, early close or time-out exits with status 1 and a message on stderr.
"""
from __future__ import annotations

import argparse
import json
import random
import selectors
import socket
import sys
import time

EVENT_READ, EVENT_WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class Connection:
    __slots__ = ("sock", "payloads", "sent", "pending", "buffer", "view", "received", "started", "left",
                 "latencies", "timed", "writing")

    def __init__(self, sock: socket.socket, payloads: list[bytes], size: int):
        self.sock = sock
        self.payloads = payloads
        self.sent = 0  # messages started
        self.pending = memoryview(b"")  # what is still to send of the current message
        self.buffer = bytearray(size)
        self.view = memoryview(self.buffer)
        self.received = 0
        self.started = 0
        self.left = 0  # round trips left in the current phase
        self.latencies: list[int] = []
        self.timed = False
        self.writing = False  # registered for EVENT_WRITE too


def scheduler_times() -> tuple[float, float] | None:
    """Seconds this thread ran on a CPU and waited for one (Linux's schedstat), or None."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            ran, waited = stats.read().split()[:2]
    except (OSError, ValueError):
        return None
    return int(ran) / 1e9, int(waited) / 1e9


def fail(message: str) -> None:
    print(f"echo_client: {message}", file=sys.stderr)
    sys.exit(1)


def run(port: int, connections: int, size: int, count: int, warmup: int, seed: int, timeout: float) -> dict:
    rng = random.Random(seed)
    selector = selectors.DefaultSelector()
    conns = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = Connection(sock, [rng.randbytes(size), rng.randbytes(size)], size)
        conns.append(conn)
        selector.register(sock, EVENT_READ, conn)
    deadline = time.monotonic() + timeout
    perf_counter_ns = time.perf_counter_ns

    def start(conn: Connection) -> None:
        conn.pending = memoryview(conn.payloads[conn.sent % 2])
        conn.sent += 1
        conn.received = 0
        conn.started = perf_counter_ns()
        send(conn)

    def send(conn: Connection) -> None:
        try:
            sent = conn.sock.send(conn.pending)
        except BlockingIOError:
            sent = 0
        conn.pending = conn.pending[sent:]
        # Ask for writability only while part of a message waits (for most messages, never):
        # each change of interest is a system call.
        if bool(conn.pending) != conn.writing:
            conn.writing = not conn.writing
            selector.modify(conn.sock, EVENT_READ | EVENT_WRITE if conn.writing else EVENT_READ, conn)

    def phase(rounds: int, timed: bool) -> None:
        busy = 0
        for conn in conns:
            conn.left, conn.timed = rounds, timed
            if rounds:
                busy += 1
                start(conn)
        while busy:
            events = selector.select(1.0)
            if time.monotonic() > deadline:
                fail(f"timed out after {timeout:g} s")
            for key, mask in events:
                conn = key.data
                if mask & EVENT_WRITE and conn.pending:
                    send(conn)
                if not mask & EVENT_READ:
                    continue
                try:
                    got = conn.sock.recv_into(conn.view[conn.received:])
                except BlockingIOError:
                    continue
                if got == 0:
                    fail("the server closed a connection in the middle of the run")
                conn.received += got
                if conn.received < size:
                    continue
                done = perf_counter_ns()
                if conn.buffer != conn.payloads[(conn.sent - 1) % 2]:
                    fail(f"message {conn.sent} came back different from what was sent")
                if conn.timed:
                    conn.latencies.append(done - conn.started)
                conn.left -= 1
                if conn.left:
                    start(conn)
                else:
                    busy -= 1

    phase(warmup, timed=False)
    cpu_start, scheduler_start, wall_start = time.process_time(), scheduler_times(), time.perf_counter()
    phase(count, timed=True)
    seconds = time.perf_counter() - wall_start
    cpu_seconds = time.process_time() - cpu_start
    scheduler_end = scheduler_times()
    waited = scheduler_end[1] - scheduler_start[1] if scheduler_start and scheduler_end else None
    for conn in conns:
        selector.unregister(conn.sock)
        conn.sock.close()
    selector.close()
    return {
        "round_trips": count * connections,
        "bytes_each_way": count * connections * size,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "waited_for_cpu_seconds": waited,  # runnable, but another process had the CPU
        "latencies_ns": [latency for conn in conns for latency in conn.latencies],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024, help="bytes per message")
    parser.add_argument("--count", type=int, default=1000, help="timed round trips per connection")
    parser.add_argument("--warmup", type=int, default=100, help="untimed round trips per connection first")
    parser.add_argument("--seed", type=int, default=0, help="seed of the payloads")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    args = parser.parse_args()
    if args.count < 1 or args.size < 1 or args.connections < 1:
        parser.error("--count, --size and --connections must be at least 1")
    report = run(args.port, args.connections, args.size, args.count, args.warmup, args.seed, args.timeout)
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
