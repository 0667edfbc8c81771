#!/usr/bin/env python3
"""Chapter 3 benchmark: task switching and future round trips, our loop vs asyncio's.

    python3 tools/bench_tasks.py [--tasks 1000] [--switches 100] [--round-trips 100000] [--repeat 5]

Three configurations run the same coroutines in the same process:

* asyncio      asyncio.new_event_loop() (the reference: asyncio's loop, C Future/Task)
* eventloop    eventloop.new_event_loop() (our loop, with asyncio's C Future/Task: the default)
* eventloop+py our loop with the course's pure-Python Future/Task switched on

Each figure is the best of --repeat runs (the minimum is the least noisy
estimate of what the code costs). "speed vs asyncio" is asyncio's time divided
by ours: above 1.0 means faster than asyncio's loop.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import eventloop  # noqa: E402


async def task_switching(tasks: int, switches: int) -> int:
    async def worker():
        for _ in range(switches):
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return tasks * switches


async def future_round_trips(count: int) -> int:
    loop = asyncio.get_running_loop()
    for _ in range(count):
        future = loop.create_future()
        loop.call_soon(future.set_result, None)
        await future
    return count


CONFIGURATIONS = {
    "asyncio": asyncio.new_event_loop,
    "eventloop": eventloop.new_event_loop,
    "eventloop+py": lambda: eventloop.EventLoop(pure_python=True),
}


def best_time(factory, make_coro, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        loop = factory()
        try:
            start = time.perf_counter()
            loop.run_until_complete(make_coro())
            best = min(best, time.perf_counter() - start)
        finally:
            loop.close()
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--round-trips", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    benchmarks = {
        f"task switching ({args.tasks} tasks x {args.switches} sleep(0))":
            (lambda: task_switching(args.tasks, args.switches), args.tasks * args.switches),
        f"future round trips ({args.round_trips} x create_future/call_soon/await)":
            (lambda: future_round_trips(args.round_trips), args.round_trips),
    }
    print(f"Python {sys.version.split()[0]}, best of {args.repeat}")
    for title, (make_coro, operations) in benchmarks.items():
        print(f"\n{title}")
        times = {name: best_time(factory, make_coro, args.repeat) for name, factory in CONFIGURATIONS.items()}
        reference = times["asyncio"]
        for name, seconds in times.items():
            per_op = seconds / operations * 1e9
            print(f"  {name:<13} {seconds * 1000:8.1f} ms  {per_op:7.0f} ns/op  speed vs asyncio {reference / seconds:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
