"""What the checks of chapters 9–11 share: real sockets, watched from outside the loop.

Not a check file (pytest collects only test_*.py); the chapters' test_challenges.py
import it, as they import pytest.
"""
import asyncio
import fcntl
import itertools
import os
import socket
import struct
import termios

PASSES = 1000  # loop passes; what needs only bytes that are already there takes a few


def unread(sock):
    """How many received bytes wait in `sock`'s buffer, unread (the FIONREAD ioctl)."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


async def passes(count):
    """Let the loop make `count` passes (each one looks at the sockets)."""
    for _ in range(count):
        await asyncio.sleep(0)


def outcome(task):
    """What a done task did, in words: "returned b'ab'", "raised ValueError(...)"."""
    if task.cancelled():
        return "was cancelled"
    if task.exception() is not None:
        return f"raised {task.exception()!r}"
    return f"returned {task.result()!r}"


def reset(sock):
    """Close `sock` with a TCP reset instead of an orderly end (SO_LINGER of zero)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_fds():
    """{descriptor: what it is} for this process: 'socket:[12345]', 'pipe:[678]', a path."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:
            pass  # the directory listdir itself had open
    return fds


def socket_id(sock):
    """How `sock` appears in open_fds(): 'socket:[inode]'."""
    return f"socket:[{os.fstat(sock.fileno()).st_ino}]"


def assert_same_trace(yours, real, *, yours_says, real_says, real_name, why):
    """Your trace must be the real one: else say at which step they part, and why it matters."""
    if yours == real:
        return
    steps = list(itertools.zip_longest(yours, real, fillvalue="(nothing: the trace ended)"))
    first = next(n for n, (mine, theirs) in enumerate(steps) if mine != theirs)
    lines = [f"at step {first + 1}, {yours_says} {steps[first][0]}",
             f"where {real_says} {steps[first][1]}.", why,
             f"Every step, yours and then {real_name}'s:"]
    lines += [f"  {n + 1}. {mine}\n     {theirs}" for n, (mine, theirs) in enumerate(steps)]
    raise AssertionError("\n".join(lines))
