"""tools/bench.py's profile by layer, on a real profile: each layer gets the time of its own code."""
import cProfile
import pstats
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import bench  # noqa: E402


def test_layers_sort_a_real_profile_by_where_the_time_went():
    left, right = socket.socketpair()
    profiler = cProfile.Profile()
    with left, right:
        profiler.enable()
        for _ in range(2000):
            left.send(b"x" * 1024)
            right.recv(4096)
        profiler.disable()
    shares = dict(bench.layers(pstats.Stats(profiler)))
    assert sum(shares.values()) > 0.999
    # This test's own loop is "the rest"; the sends and receives must be the system calls' layer.
    assert shares["system calls: send, recv"] > 0.3, shares
    assert not any(layer.startswith(("asyncio's", "our loop's")) for layer in shares), shares


# ── The echo benchmarks' load generators, against a plain threaded echo server ──

import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402


class EchoServer:
    """A blocking echo server, one thread per connection; `corrupt_after` bytes in, it flips one
    byte of what it sends back; `close_after` bytes in, it closes the connection instead."""

    def __init__(self, corrupt_after=None, close_after=None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.corrupt_after, self.close_after = corrupt_after, close_after
        self.threads = [threading.Thread(target=self.accept, daemon=True)]
        self.threads[0].start()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed by close()
                return
            thread = threading.Thread(target=self.echo, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def echo(self, conn):
        seen = 0
        with conn:
            try:
                while data := conn.recv(65536):
                    if self.close_after is not None and seen + len(data) > self.close_after:
                        return
                    if self.corrupt_after is not None and seen <= self.corrupt_after < seen + len(data):
                        at = self.corrupt_after - seen
                        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
                    seen += len(data)
                    conn.sendall(data)
            except ConnectionError:  # a generator that found a fault exits with our echoes unread
                return

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=10)


@pytest.fixture(params=["C", "Python"])
def generator(request):
    """The command that starts the load generator in that language."""
    if request.param == "C" and shutil.which("cc") is None:
        pytest.skip("no C compiler on this machine: tools/bench.py runs the Python generator")
    chosen = bench.LoadGenerator()
    chosen.choose(python=request.param == "Python")
    try:
        if request.param == "C":  # a compiler is here: the program must build
            assert chosen.name.startswith("echo_client.c"), chosen.name
        yield chosen.command
    finally:
        chosen.close()


def run_generator(command, server, **options):
    settings = {"connections": 3, "size": 3000, "count": 50, "warmup": 5, "seed": 7, "timeout": 20.0} | options
    arguments = [item for key, value in settings.items()
                 for item in (f"--{key}", str(value))]
    return subprocess.run([*command, "--port", str(server.port), *arguments],
                          capture_output=True, text=True, timeout=60)


def test_a_load_generator_checks_every_byte_and_reports_each_round_trip(generator):
    server = EchoServer()
    try:
        done = run_generator(generator, server)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["round_trips"] == 150 and report["bytes_each_way"] == 150 * 3000
    assert len(report["latencies_ns"]) == 150 and min(report["latencies_ns"]) > 0
    assert 0 < report["cpu_seconds"] <= report["seconds"] * 1.5
    assert report["waited_for_cpu_seconds"] is not None and report["waited_for_cpu_seconds"] >= 0


@pytest.mark.parametrize("fault, message", [
    ({"corrupt_after": 3000 * 20 + 1234}, "came back different"),
    ({"close_after": 3000 * 20 + 1234}, "closed a connection"),
])
def test_a_load_generator_fails_loudly_on_a_bad_echo(generator, fault, message):
    server = EchoServer(**fault)
    try:
        done = run_generator(generator, server)
    finally:
        server.close()
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
