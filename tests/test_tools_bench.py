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
