"""Helpers shared by the tests of chapters 10 and 11: sockets on 127.0.0.1 and a protocol that records."""
import asyncio
import contextlib
import os
import socket

import pytest


def _ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback_works(), reason="this machine has no IPv6 loopback")


def listening_socket(backlog=128):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def vacant_address(family=socket.AF_INET, host="127.0.0.1"):
    """An address where nobody listens: connecting to it is refused."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()


def run(loop, coro):
    return loop.run_until_complete(coro)


async def attempt(awaitable):
    try:
        return "ok", await awaitable
    except Exception as error:
        return type(error).__name__, str(error)


def outcome(call, *args, **kwargs):
    try:
        return "ok", call(*args, **kwargs)
    except Exception as error:
        return type(error).__name__, str(error)


async def receive_all(loop, sock):
    """Everything `sock` receives until EOF."""
    received = bytearray()
    while chunk := await loop.sock_recv(sock, 1 << 16):
        received += chunk
    return bytes(received)


async def connected(loop, protocol_factory, **kwargs):
    """(transport, protocol, peer): create_connection() to a plain socket accepted on 127.0.0.1."""
    server = listening_socket()
    accepting = asyncio.ensure_future(loop.sock_accept(server))
    try:
        transport, protocol = await loop.create_connection(protocol_factory, *server.getsockname(), **kwargs)
        peer, _ = await accepting
    finally:
        accepting.cancel()  # if create_connection failed, nobody else will
        server.close()
    return transport, protocol, peer


def fill(transport):
    """Write until the transport keeps data of its own (the kernel's buffers are full); all written."""
    chunks = []
    while not transport.get_write_buffer_size():
        chunks.append(bytes([len(chunks) % 256]) * 65536)
        transport.write(chunks[-1])
    return b"".join(chunks)


class Recorder(asyncio.Protocol):
    """Writes down each callback, and a callback that starts inside another one.

    Consecutive data_received calls make one ("data", bytes so far) entry: how a
    stream is cut into chunks is the kernel's business, not the loop's.
    """

    def __init__(self, keep_open=None):
        self.keep_open = keep_open
        self.trace = []
        self.received = bytearray()
        self.transport = None
        self._inside = None
        loop = asyncio.get_running_loop()
        self.made = loop.create_future()
        self.eof = loop.create_future()
        self.lost = loop.create_future()

    @contextlib.contextmanager
    def calling(self, name):
        if self._inside is not None:
            self.trace.append(f"{name} inside {self._inside}")
        self._inside = name
        try:
            yield
        finally:
            self._inside = None

    def connection_made(self, transport):
        with self.calling("connection_made"):
            self.transport = transport
            self.trace.append("connection_made")
            self.made.set_result(transport)

    def data_received(self, data):
        with self.calling("data_received"):
            self.received += data
            last = self.trace[-1] if self.trace else None
            if isinstance(last, tuple) and last[0] == "data":
                self.trace[-1] = ("data", last[1] + len(data))
            else:
                self.trace.append(("data", len(data)))

    def eof_received(self):
        with self.calling("eof_received"):
            self.trace.append("eof_received")
            self.eof.set_result(None)
            return self.keep_open

    def pause_writing(self):
        with self.calling("pause_writing"):
            self.trace.append("pause_writing")

    def resume_writing(self):
        with self.calling("resume_writing"):
            self.trace.append("resume_writing")

    def connection_lost(self, exc):
        with self.calling("connection_lost"):
            self.trace.append(("connection_lost", None if exc is None else type(exc).__name__))
            if not self.lost.done():
                self.lost.set_result(exc)


def open_fds():
    return len(os.listdir("/proc/self/fd"))
