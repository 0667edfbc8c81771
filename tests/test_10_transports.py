"""Chapter 10: transports and protocols, on real sockets over 127.0.0.1 and socketpairs.

Most scenarios run on asyncio's loop and ours (`loops.compare`) and must tell
the same story: the order of the protocol's callbacks, what the peer receives,
exceptions and their messages. The other end of a connection is usually a plain
socket driven with the chapter 9 `sock_*` calls, so each test controls exactly
when the peer reads, writes, half-closes or resets.
"""
import asyncio
import contextlib
import hashlib
import io
import logging
import random
import resource
import socket
import struct
import sys
import tempfile

import pytest
from _selectors import PassCountingSelector, reuse_the_number_of_a_parked_socket_that_lives_on
from _transports import (Recorder, attempt, connected, fill, listening_socket, needs_ipv6, open_fds, outcome,
                         receive_all, run, vacant_address)

CHAPTER = 10


# ---------------------------------------------------------------- helpers


class WarningsOf:
    """The messages the `asyncio` logger (which our loop logs to as well) emits at WARNING and above."""

    def __init__(self):
        self.messages = []
        self._handler = logging.Handler(logging.WARNING)
        self._handler.emit = lambda record: self.messages.append(record.getMessage())

    def __enter__(self):
        logging.getLogger("asyncio").addHandler(self._handler)
        return self

    def __exit__(self, *exc_info):
        logging.getLogger("asyncio").removeHandler(self._handler)


# ---------------------------------------------------------------- a protocol's life


def test_protocol_callbacks_come_in_order_each_once(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        await loop.sock_sendall(peer, b"hello ")
        await loop.sock_sendall(peer, b"world")
        peer.shutdown(socket.SHUT_WR)
        await protocol.lost
        eof_at_peer = await receive_all(loop, peer)  # our side closed after eof_received
        peer.close()
        transport.close()  # all harmless now: connection_lost was called already
        transport.abort()
        for _ in range(3):
            await asyncio.sleep(0)
        return protocol.trace, bytes(protocol.received), eof_at_peer, transport.is_closing()

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        ["connection_made", ("data", 11), "eof_received", ("connection_lost", None)],
        b"hello world", b"", True,
    )


class ClosesEarly(Recorder):
    """Closes (or aborts) its transport from inside connection_made or data_received."""

    def __init__(self, where, how):
        super().__init__()
        self.where, self.how = where, how

    def connection_made(self, transport):
        super().connection_made(transport)
        if self.where == "connection_made":
            self.end()

    def data_received(self, data):
        super().data_received(data)
        if self.where == "data_received":
            self.end()

    def end(self):
        getattr(self.transport, self.how)()
        self.trace.append(f"{self.how}() returned")


@pytest.mark.parametrize("how", ["close", "abort"])
@pytest.mark.parametrize("where", ["connection_made", "data_received"])
def test_connection_lost_comes_later_than_a_close_from_a_callback(loops, where, how):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, lambda: ClosesEarly(where, how))
        await loop.sock_sendall(peer, b"data")
        await protocol.lost
        peer.close()
        return protocol.trace

    expected = ["connection_made", f"{how}() returned", ("connection_lost", None)]
    if where == "data_received":
        expected[1:1] = [("data", 4)]
    assert loops.compare(lambda loop: run(loop, scenario())) == expected


# ---------------------------------------------------------------- half-close


def test_write_eof_half_closes_our_side_only(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        trace = [transport.can_write_eof()]
        transport.write(b"question")
        transport.write_eof()
        transport.write_eof()  # twice is harmless
        trace.append(outcome(transport.write, b"more"))
        trace.append(outcome(transport.writelines, [b"more"]))
        trace.append(await receive_all(loop, peer))  # the question, then EOF
        await loop.sock_sendall(peer, b"answer")  # the other direction still works
        peer.shutdown(socket.SHUT_WR)
        await protocol.lost
        peer.close()
        return trace, protocol.trace, bytes(protocol.received)

    writelines_error = "writelines" if sys.version_info >= (3, 12) else "write"
    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [True, ("RuntimeError", "Cannot call write() after write_eof()"),
         ("RuntimeError", f"Cannot call {writelines_error}() after write_eof()"), b"question"],
        ["connection_made", ("data", 6), "eof_received", ("connection_lost", None)],
        b"answer",
    )


@pytest.mark.parametrize("keep_open", [True, False, None])
def test_eof_received_decides_whether_the_transport_stays_open(loops, keep_open):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, lambda: Recorder(keep_open))
        peer.shutdown(socket.SHUT_WR)
        await protocol.eof
        # asyncio stops reading a half-closed transport without counting it as paused.
        trace = [transport.is_closing(), transport.is_reading()]
        if keep_open:
            transport.write(b"a last word")
            transport.close()
        trace.append(await receive_all(loop, peer))
        await protocol.lost
        peer.close()
        return trace, protocol.trace

    expected_end = ["connection_made", "eof_received", ("connection_lost", None)]
    if keep_open:
        expected = ([False, True, b"a last word"], expected_end)
    else:
        expected = ([True, False, b""], expected_end)
    assert loops.compare(lambda loop: run(loop, scenario())) == expected


# ---------------------------------------------------------------- BufferedProtocol


class BufferedRecorder(asyncio.BufferedProtocol):
    """Receives into one small buffer of its own; `fail` names the callback that goes wrong."""

    def __init__(self, fail=None, size=1000):
        self.fail = fail
        self.buffer = bytearray(size)
        self.received = bytearray()
        self.hints = set()
        self.trace = []
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.trace.append("connection_made")

    def get_buffer(self, sizehint):
        self.hints.add(sizehint)
        if self.fail == "get_buffer returns an empty buffer":
            return bytearray()
        if self.fail == "get_buffer raises":
            raise ZeroDivisionError("no buffer today")
        return self.buffer

    def buffer_updated(self, nbytes):
        self.received += self.buffer[:nbytes]
        if self.fail == "buffer_updated raises":
            raise ZeroDivisionError("cannot take it")

    def eof_received(self):
        self.trace.append("eof_received")
        if self.fail == "eof_received raises":
            raise ZeroDivisionError("not the end")

    def connection_lost(self, exc):
        self.trace.append(("connection_lost", None if exc is None else type(exc).__name__))
        self.lost.set_result(exc)


def test_a_buffered_protocol_receives_every_byte(loops):
    payload = random.Random(10).randbytes(300_000)

    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, BufferedRecorder)
        await loop.sock_sendall(peer, payload)
        peer.shutdown(socket.SHUT_WR)
        await protocol.lost
        peer.close()
        return protocol.trace, bytes(protocol.received) == payload, protocol.hints

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        ["connection_made", "eof_received", ("connection_lost", None)], True, {-1},
    )


class FailingRecorder(Recorder):
    def data_received(self, data):
        super().data_received(data)
        raise ZeroDivisionError("cannot take it")


RESET = ("ConnectionResetError", "[Errno 104] Connection reset by peer")
ENDED = ("ok", b"")


@pytest.mark.parametrize("fail, callback, error, trace_end, at_peer", [
    ("get_buffer returns an empty buffer", "get_buffer", ("RuntimeError", "get_buffer() returned an empty buffer"),
     [("connection_lost", "RuntimeError")], RESET),  # what the peer sent is left unread
    ("get_buffer raises", "get_buffer", ("ZeroDivisionError", "no buffer today"),
     [("connection_lost", "ZeroDivisionError")], RESET),
    ("buffer_updated raises", "buffer_updated", ("ZeroDivisionError", "cannot take it"),
     [("connection_lost", "ZeroDivisionError")], ENDED),
    ("eof_received raises", "eof_received", ("ZeroDivisionError", "not the end"),
     ["eof_received", ("connection_lost", "ZeroDivisionError")], ENDED),
    ("data_received raises", "data_received", ("ZeroDivisionError", "cannot take it"),
     [("data", 4), ("connection_lost", "ZeroDivisionError")], ENDED),
])
def test_a_failing_protocol_callback_closes_the_transport(loops, fail, callback, error, trace_end, at_peer):
    """The error goes to the exception handler, then to connection_lost; the peer sees the end."""

    async def scenario():
        loop = asyncio.get_running_loop()
        handled = []
        loop.set_exception_handler(lambda loop, context: handled.append(context))
        factory = FailingRecorder if fail == "data_received raises" else lambda: BufferedRecorder(fail)
        transport, protocol, peer = await connected(loop, factory)
        await loop.sock_sendall(peer, b"data")
        if fail == "eof_received raises":
            peer.shutdown(socket.SHUT_WR)
        lost = await protocol.lost
        [context] = handled
        trace = [context["message"], (type(context["exception"]).__name__, str(context["exception"])),
                 sorted(context), context["transport"] is transport, context["protocol"] is protocol,
                 context["exception"] is lost, protocol.trace, await attempt(receive_all(loop, peer))]
        peer.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        f"Fatal error: protocol.{callback}() call failed.", error, ["exception", "message", "protocol", "transport"],
        True, True, True, ["connection_made", *trace_end], at_peer,
    ]


# ---------------------------------------------------------------- flow control


def test_write_buffer_limits(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        trace = [transport.get_write_buffer_limits(), transport.get_write_buffer_size()]
        for high, low in [(100, None), (None, 100), (0, 0), (None, None)]:
            transport.set_write_buffer_limits(high=high, low=low)
            trace.append(transport.get_write_buffer_limits())
        for high, low in [(10, 20), (None, -1), (-1, None)]:
            trace.append(outcome(transport.set_write_buffer_limits, high=high, low=low))
        trace.append(transport.get_write_buffer_limits())  # the refused calls changed nothing
        transport.close()
        await protocol.lost
        peer.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        (16384, 65536), 0, (25, 100), (100, 400), (0, 0), (16384, 65536),
        ("ValueError", "high (10) must be >= low (20) must be >= 0"),
        ("ValueError", "high (-4) must be >= low (-1) must be >= 0"),
        ("ValueError", "high (-1) must be >= low (-1) must be >= 0"),
        (16384, 65536),
    ]


def test_a_slow_reader_pauses_the_writer_until_it_drains(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        low, high = transport.get_write_buffer_limits()
        chunks = []
        while "pause_writing" not in protocol.trace:  # the peer reads nothing yet
            chunks.append(bytes([len(chunks) % 256]) * 65536)
            transport.write(chunks[-1])
        trace = [list(protocol.trace), transport.get_write_buffer_size() > high]
        transport.close()  # after what is buffered
        received = await receive_all(loop, peer)
        await protocol.lost
        peer.close()
        return trace, received == b"".join(chunks), protocol.trace, transport.get_write_buffer_size()

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [["connection_made", "pause_writing"], True], True,
        ["connection_made", "pause_writing", "resume_writing", ("connection_lost", None)], 0,
    )


def test_a_transport_describes_itself_in_asyncio_s_words(loops):
    """repr() reaches users in logs and in errors ("File descriptor 7 is used by transport ...")."""
    import re

    def described(transport):
        return re.sub(r"\d+", "N", repr(transport))

    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        trace = [described(transport)]
        transport.pause_reading()
        trace.append(described(transport))
        transport.resume_reading()
        written = fill(transport)
        trace.append(described(transport))
        transport.close()
        trace.append(described(transport))
        received = await receive_all(loop, peer)
        await protocol.lost
        peer.close()
        trace.append(described(transport))
        return trace, received == written

    assert loops.compare(lambda loop: run(loop, scenario())) == ([
        "<_SelectorSocketTransport fd=N read=polling write=<idle, bufsize=N>>",
        "<_SelectorSocketTransport fd=N read=idle write=<idle, bufsize=N>>",
        "<_SelectorSocketTransport fd=N read=polling write=<polling, bufsize=N>>",
        "<_SelectorSocketTransport closing fd=N read=idle write=<polling, bufsize=N>>",
        "<_SelectorSocketTransport closed fd=N>",  # connection_lost has let go of the loop
    ], True)


def test_a_transport_on_the_reused_number_of_a_socket_that_lives_on_is_not_busy(el, new_loop):
    loop = new_loop(lambda: el.SelectorEventLoop(PassCountingSelector()))

    async def scenario():
        other_owner, peer, new, new_peer = await reuse_the_number_of_a_parked_socket_that_lives_on(loop)
        transport, protocol = await loop.connect_accepted_socket(Recorder, new)
        passes = PassCountingSelector.passes
        await asyncio.sleep(0.3)
        passes = PassCountingSelector.passes - passes
        new_peer.send(b"hello")
        while not protocol.received:
            await asyncio.sleep(0.01)
        transport.close()
        for s in (other_owner, peer, new_peer):
            s.close()
        return bytes(protocol.received), passes

    received, passes = loop.run_until_complete(scenario())
    assert received == b"hello"
    assert passes < 20, f"{passes} passes in 0.3 s: the loop waited busily"


def test_a_socket_takes_one_transport(loop, loops):
    """asyncio refuses a second transport on a socket from 3.12; ours on 3.11 too."""
    import re

    async def scenario():
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        trace = []
        for attempt_a_second in (lambda: loop.create_connection(asyncio.Protocol, sock=ours),
                                 lambda: loop.connect_accepted_socket(asyncio.Protocol, ours)):
            kind, message = await attempt(attempt_a_second())
            trace.append((kind, re.sub(r"\d+", "N", message)))
        transport.close()
        peer.close()
        await asyncio.sleep(0)
        return trace

    refused = ("RuntimeError", "File descriptor <socket.socket fd=N, family=N, type=N, proto=N> is used by "
                               "transport <_SelectorSocketTransport fd=N read=polling write=<idle, bufsize=N>>")
    if sys.version_info >= (3, 12):
        assert loops.compare(lambda loop: run(loop, scenario())) == [refused, refused]
    else:
        assert run(loop, scenario()) == [refused, refused]


def test_lowering_the_high_water_mark_pauses_at_once(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        transport.set_write_buffer_limits(high=1 << 30)
        written = fill(transport)
        trace = [list(protocol.trace)]
        transport.set_write_buffer_limits(high=1, low=0)  # below what is buffered now
        trace.append(list(protocol.trace))
        transport.close()
        received = await receive_all(loop, peer)
        await protocol.lost
        peer.close()
        return trace, received == written, protocol.trace

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [["connection_made"], ["connection_made", "pause_writing"]], True,
        ["connection_made", "pause_writing", "resume_writing", ("connection_lost", None)],
    )


def test_pause_reading_holds_the_data_back(loops):
    payload = random.Random(11).randbytes(200_000)

    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        trace = [transport.is_reading()]
        transport.pause_reading()
        transport.pause_reading()  # twice is harmless
        trace.append(transport.is_reading())
        await loop.sock_sendall(peer, payload)
        peer.shutdown(socket.SHUT_WR)
        await asyncio.sleep(0.01)  # the selector has seen the socket readable; nobody asked
        trace.append(list(protocol.trace))
        transport.resume_reading()
        transport.resume_reading()
        trace.append(transport.is_reading())
        await protocol.lost
        trace.append(transport.is_reading())
        peer.close()
        return trace, protocol.trace, bytes(protocol.received) == payload

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [True, False, ["connection_made"], True, False],
        ["connection_made", ("data", len(payload)), "eof_received", ("connection_lost", None)], True,
    )


# ---------------------------------------------------------------- writing


def test_write_takes_bytes_like_objects_only(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        transport.write(b"bytes,")
        transport.write(bytearray(b"bytearray,"))
        transport.write(memoryview(b"a memoryview,")[2:])
        transport.write(b"")
        transport.writelines([b"lines:", bytearray(b"a,"), memoryview(b"b")])
        trace = [outcome(transport.write, "text"), outcome(transport.write, 42),
                 outcome(transport.writelines, [b"fine", "text"])[0]]  # its message varies by version
        transport.close()
        trace.append(await receive_all(loop, peer))
        await protocol.lost
        peer.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        ("TypeError", "data argument must be a bytes-like object, not 'str'"),
        ("TypeError", "data argument must be a bytes-like object, not 'int'"),
        "TypeError",
        b"bytes,bytearray,memoryview,lines:a,b",
    ]


def test_writes_after_close_are_dropped_then_warned_about(loops):
    """asyncio says nothing of the first four writes after close, then logs each one."""

    async def scenario():
        loop = asyncio.get_running_loop()
        with WarningsOf() as warned:
            transport, protocol, peer = await connected(loop, Recorder)
            transport.close()
            for _ in range(6):
                transport.write(b"late")
            on_close = list(warned.messages)
            await protocol.lost
            transport.write(b"later")
            received = await receive_all(loop, peer)
            peer.close()
        return on_close, warned.messages, received

    warning = "socket.send() raised exception."
    assert loops.compare(lambda loop: run(loop, scenario())) == ([warning] * 2, [warning] * 3, b"")


@pytest.mark.parametrize("how", ["close", "abort", "close then abort"])
def test_close_flushes_and_abort_drops(loops, how):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        transport.set_write_buffer_limits(high=1 << 30)  # no pause_writing in this story
        written = fill(transport)
        for step in how.split(" then "):
            getattr(transport, step)()
        trace = [transport.is_closing(), transport.get_write_buffer_size() > 0, list(protocol.trace)]
        received = await receive_all(loop, peer)
        await protocol.lost
        peer.close()
        return trace, received == written, written.startswith(received), protocol.trace

    buffered = how == "close"
    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [True, buffered, ["connection_made"]], buffered, True, ["connection_made", ("connection_lost", None)],
    )


def test_a_peer_reset_mid_write_reaches_connection_lost_only(loops):
    def scenario(loop):
        handled = []
        loop.set_exception_handler(lambda loop, context: handled.append(context["message"]))

        async def reset():
            transport, protocol, peer = await connected(loop, Recorder)
            fill(transport)
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()
            await protocol.lost
            transport.write(b"after the reset")  # dropped, like any write after the end
            return protocol.trace, transport.get_write_buffer_size()

        trace = run(loop, reset())
        return trace, handled, run(loop, asyncio.sleep(0, "the loop still runs"))

    (trace, buffered), handled, still = loops.compare(scenario)
    assert trace[0] == "connection_made" and trace[-1][0] == "connection_lost"
    assert trace[-1][1] in ("ConnectionResetError", "BrokenPipeError")
    assert (buffered, handled, still) == (0, [], "the loop still runs")


# ---------------------------------------------------------------- what a transport tells


def test_get_extra_info(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        sock = transport.get_extra_info("socket")
        trace = [
            type(sock).__name__,
            transport.get_extra_info("peername") == peer.getsockname(),
            transport.get_extra_info("sockname") == peer.getpeername(),
            sock.getsockname() == transport.get_extra_info("sockname"),
            sock.fileno() > 2, sock.family, sock.type,
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,  # small writes go out at once
            transport.get_extra_info("no such key"),
            transport.get_extra_info("no such key", "default"),
        ]
        transport.close()
        await protocol.lost
        peer.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        "TransportSocket", True, True, True, True, socket.AF_INET, socket.SOCK_STREAM, True, None, "default",
    ]


class Switcher(Recorder):
    """Hands the transport to `successor` after the first message, and says so to the peer."""

    def __init__(self, successor):
        super().__init__()
        self.successor = successor

    def data_received(self, data):
        super().data_received(data)
        self.transport.set_protocol(self.successor)
        self.transport.write(b"switched")


def test_set_protocol_switches_the_receiver(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        successor = BufferedRecorder()
        transport, first, peer = await connected(loop, lambda: Switcher(successor))
        trace = [transport.get_protocol() is first]
        await loop.sock_sendall(peer, b"first")
        trace.append(await loop.sock_recv(peer, 100))
        trace.append(transport.get_protocol() is successor)
        await loop.sock_sendall(peer, b"second")
        peer.shutdown(socket.SHUT_WR)
        await successor.lost
        peer.close()
        return trace, first.trace, bytes(first.received), successor.trace, bytes(successor.received)

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [True, b"switched", True], ["connection_made", ("data", 5)], b"first",
        ["eof_received", ("connection_lost", None)], b"second",  # no connection_made for the successor
    )


# ---------------------------------------------------------------- create_connection


def test_create_connection_refuses_bad_arguments(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        with socket.socket() as stream, socket.socket(type=socket.SOCK_DGRAM) as datagram:
            for kwargs in [dict(host="127.0.0.1", port=9, sock=stream), dict(port=9, sock=stream), {},
                           dict(host="127.0.0.1", port=9, ssl_handshake_timeout=1),
                           dict(host="127.0.0.1", port=9, ssl_shutdown_timeout=1),
                           dict(host="127.0.0.1", port=9, server_hostname="example.org"),
                           dict(host="127.0.0.1", port=9, sock=stream, ssl_handshake_timeout=1),
                           dict(sock=datagram)]:
                kind, message = await attempt(loop.create_connection(asyncio.Protocol, **kwargs))
                trace.append((kind, message.replace(repr(datagram), "SOCKET")))
            trace.append(stream.fileno() >= 0)  # a refused socket is left to its owner
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        ("ValueError", "host/port and sock can not be specified at the same time"),
        ("ValueError", "host/port and sock can not be specified at the same time"),
        ("ValueError", "host and port was not specified and no sock specified"),
        ("ValueError", "ssl_handshake_timeout is only meaningful with ssl"),
        ("ValueError", "ssl_shutdown_timeout is only meaningful with ssl"),
        ("ValueError", "server_hostname is only meaningful with ssl"),
        ("ValueError", "ssl_handshake_timeout is only meaningful with ssl"),
        ("ValueError", "A Stream Socket was expected, got SOCKET"),
        True,
    ]


def test_create_connection_over_a_connected_sock(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()  # blocking: create_connection makes ours non-blocking
        peer.setblocking(False)
        transport, protocol = await loop.create_connection(Recorder, sock=ours)
        trace = [ours.gettimeout(), transport.get_extra_info("peername"), transport.get_extra_info("sockname")]
        transport.write(b"over a socketpair")
        transport.write_eof()
        trace.append(await receive_all(loop, peer))
        peer.close()
        await protocol.lost
        trace.append(ours.fileno())  # the transport closed the socket it was given
        return trace, protocol.trace

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [0.0, "", "", b"over a socketpair", -1],
        ["connection_made", "eof_received", ("connection_lost", None)],
    )


def test_a_refused_connection(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        address = vacant_address()
        before = open_fds()
        kind, message = await attempt(loop.create_connection(asyncio.Protocol, *address))
        trace = [kind, message.replace(str(address[1]), "PORT"), open_fds() == before]
        if sys.version_info >= (3, 12):
            try:
                await loop.create_connection(asyncio.Protocol, *address, all_errors=True)
            except ExceptionGroup as group:
                trace.append((str(group), [type(error).__name__ for error in group.exceptions]))
        return trace

    trace = loops.compare(lambda loop: run(loop, scenario()))
    assert trace[:3] == ["ConnectionRefusedError", "[Errno 111] Connect call failed ('127.0.0.1', PORT)", True]
    if sys.version_info >= (3, 12):
        assert trace[3] == ("create_connection failed (1 sub-exception)", ["ConnectionRefusedError"])


def test_local_addr_binds_our_end(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        port = vacant_address()[1]
        transport, protocol, peer = await connected(loop, Recorder, local_addr=("127.0.0.1", port))
        trace = [transport.get_extra_info("sockname") == ("127.0.0.1", port), peer.getpeername()[1] == port]
        transport.close()
        await protocol.lost
        peer.close()
        taken = listening_socket()  # a local address that is in use
        server = listening_socket()
        kind, message = await attempt(loop.create_connection(
            asyncio.Protocol, *server.getsockname(), local_addr=taken.getsockname()))
        trace.append((kind, message.replace(str(taken.getsockname()[1]), "PORT")))
        taken.close()
        server.close()
        return trace

    # 3.13 words the bind error from str(OSError) ("[errno 98] ..."), 3.11 and 3.12 from its strerror.
    why = "[errno 98] address already in use" if sys.version_info >= (3, 13) else "address already in use"
    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, True, ("OSError", f"[Errno 98] error while attempting to bind on address ('127.0.0.1', PORT): {why}"),
    ]


def resolving_to(loop, infos):
    """Make `loop` resolve every host name to `infos`: a resolver we control, the connects stay real."""

    async def getaddrinfo(host, port, *, family=0, type=0, proto=0, flags=0):
        return infos

    loop.getaddrinfo = getaddrinfo


def stream_info(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    return family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address


@needs_ipv6
@pytest.mark.parametrize("happy_eyeballs_delay", [None, 0.25])
def test_the_next_address_is_tried_when_one_is_refused(loops, happy_eyeballs_delay):
    async def scenario():
        loop = asyncio.get_running_loop()
        server = listening_socket()
        port = server.getsockname()[1]
        resolving_to(loop, [stream_info(vacant_address(socket.AF_INET6, "::1")), stream_info(("127.0.0.1", port))])
        accepting = asyncio.ensure_future(loop.sock_accept(server))
        transport, protocol = await loop.create_connection(
            Recorder, "dual.example", port, happy_eyeballs_delay=happy_eyeballs_delay)
        peer, _ = await accepting
        trace = transport.get_extra_info("peername") == ("127.0.0.1", port)
        transport.close()
        await protocol.lost
        for sock in (peer, server):
            sock.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) is True


@needs_ipv6
@pytest.mark.parametrize("happy_eyeballs_delay", [None, 0.25])
@pytest.mark.parametrize("all_errors", [False, True] if sys.version_info >= (3, 12) else [False])
def test_every_address_refused(loops, happy_eyeballs_delay, all_errors):
    """The errors come back in the order the addresses were tried (happy eyeballs interleaves families)."""

    async def scenario():
        loop = asyncio.get_running_loop()
        addresses = [vacant_address(socket.AF_INET6, "::1"), vacant_address(socket.AF_INET6, "::1"),
                     vacant_address()]
        names = {str(address[1]): letter for address, letter in zip(addresses, "ABC")}

        def named(text):
            for port, letter in names.items():
                text = text.replace(port, letter)
            return text

        resolving_to(loop, [stream_info(address) for address in addresses])
        extra = dict(all_errors=True) if all_errors else {}
        try:
            await loop.create_connection(asyncio.Protocol, "dual.example", 9,
                                         happy_eyeballs_delay=happy_eyeballs_delay, **extra)
        except ExceptionGroup as group:
            return named(str(group)), [(type(e).__name__, named(str(e))) for e in group.exceptions]
        except OSError as error:
            return type(error).__name__, named(str(error))

    refused = ["[Errno 111] Connect call failed ('::1', A, 0, 0)", "[Errno 111] Connect call failed ('::1', B, 0, 0)",
               "[Errno 111] Connect call failed ('127.0.0.1', C)"]
    if happy_eyeballs_delay is not None:
        refused = [refused[0], refused[2], refused[1]]  # one address of each family in turn
    if all_errors:
        expected = ("create_connection failed (3 sub-exceptions)",
                    [("ConnectionRefusedError", message) for message in refused])
    else:
        expected = ("OSError", "Multiple exceptions: " + ", ".join(refused))
    assert loops.compare(lambda loop: run(loop, scenario())) == expected


# ---------------------------------------------------------------- sendfile


@pytest.mark.chapter(11)  # loop.sendfile is chapter 11's
def test_sendfile_sends_a_file_or_a_range_of_it(loops):
    data = random.Random(12).randbytes(1 << 20)

    async def scenario(file):
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        receiving = asyncio.ensure_future(receive_all(loop, peer))
        trace = [await loop.sendfile(transport, file), file.tell()]
        trace += [await loop.sendfile(transport, file, offset=10, count=100_000), file.tell()]
        transport.write(b"after the file")
        transport.close()
        received = await receiving
        await protocol.lost
        peer.close()
        trace.append(received == data + data[10:100_010] + b"after the file")
        return trace

    def with_file(loop):
        with tempfile.TemporaryFile() as file:
            file.write(data)
            file.seek(0)
            return run(loop, scenario(file))

    assert loops.compare(with_file) == [1 << 20, 1 << 20, 100_000, 100_010, True]


class NotASocketTransport(asyncio.Transport):
    """A transport of the program's own, which knows nothing of sendfile."""

    def is_closing(self):
        return False

    def __repr__(self):
        return "<NotASocketTransport>"


@pytest.mark.chapter(11)  # loop.sendfile is chapter 11's
def test_sendfile_without_a_native_way(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        transport, protocol, peer = await connected(loop, Recorder)
        receiving = asyncio.ensure_future(receive_all(loop, peer))
        trace = [await attempt(loop.sendfile(transport, io.BytesIO(b"in memory"), fallback=False)),
                 await attempt(loop.sendfile(transport, io.BytesIO(b"in memory"))),  # read and written
                 await attempt(loop.sendfile(NotASocketTransport(), io.BytesIO(b"x")))]
        transport.close()
        trace.append(await attempt(loop.sendfile(transport, io.BytesIO(b"x"))))
        trace.append(await receiving)
        await protocol.lost
        peer.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        ("SendfileNotAvailableError", "not a regular file"), ("ok", 9),
        ("RuntimeError", "sendfile is not supported for transport <NotASocketTransport>"),
        ("RuntimeError", "Transport is closing"), b"in memory",
    ]


@pytest.mark.chapter(11)  # loop.sendfile is chapter 11's
def test_write_during_sendfile_is_refused(loops):
    data = random.Random(13).randbytes(4 << 20)  # far more than two small socket buffers hold

    async def scenario(file):
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        for sock in (ours, peer):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        peer.setblocking(False)
        transport, protocol = await loop.create_connection(Recorder, sock=ours)
        sending = asyncio.ensure_future(loop.sendfile(transport, file))
        first = await loop.sock_recv(peer, 1)  # the file is on its way, and cannot all be in flight
        trace = [outcome(transport.write, b"cutting in")]
        rest = asyncio.ensure_future(receive_all(loop, peer))
        trace.append(await sending)
        transport.close()
        trace.append(first + await rest == data)
        await protocol.lost
        peer.close()
        return trace

    def with_file(loop):
        with tempfile.TemporaryFile() as file:
            file.write(data)
            file.seek(0)
            return run(loop, scenario(file))

    assert loops.compare(with_file) == [("RuntimeError", "unable to write; sendfile is in progress"), 4 << 20, True]


# ---------------------------------------------------------------- asyncio's streams on our transports


def test_streams_over_our_transports(loops):
    big = random.Random(14).randbytes(1 << 20)

    async def scenario():
        loop = asyncio.get_running_loop()
        server = listening_socket()
        accepting = asyncio.ensure_future(loop.sock_accept(server))
        try:
            reader, writer = await asyncio.open_connection(*server.getsockname())
            peer, _ = await accepting
        finally:
            accepting.cancel()
            server.close()
        trace = [writer.get_extra_info("peername") == peer.getsockname()]
        writer.write(b"line one\nline two\n")
        await writer.drain()
        trace.append(await loop.sock_recv(peer, 100))
        await loop.sock_sendall(peer, b"reply\n0123456789tail")
        trace.append(await reader.readline())
        trace.append(await reader.readexactly(10))
        # drain() waits while the peer is slow, and lets go once it has read enough.
        receiving = asyncio.ensure_future(receive_all(loop, peer))
        writer.write(big)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        trace.append(await receiving == big)
        peer.close()
        trace.append(await attempt(reader.readexactly(10)))  # "tail" and then the end
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, b"line one\nline two\n", b"reply\n", b"0123456789", True,
        ("IncompleteReadError", "4 bytes read on a total of 10 expected bytes"),
    ]


# ---------------------------------------------------------------- many at once, nothing left


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.transport.close()  # after the echo is flushed


class EchoClient(asyncio.Protocol):
    """Sends 1 MiB of its own, half-closes, and checks the echo against the digest of what it sent.

    Each 64 KiB piece is made from the connection's number and the piece's place, so an echo
    that mixed two connections up or reordered one would not match. Only digests are kept, so
    1,000 clients do not hold 1 GB of payloads; and a client writes only while its transport
    has not paused it, as a protocol should."""

    PIECE, PIECES = 64 << 10, 16

    def __init__(self, number):
        self.number, self.written, self.paused = number, 0, False
        self.sent, self.echoed, self.size = hashlib.sha256(), hashlib.sha256(), 0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.write_more()

    def write_more(self):
        while not self.paused and self.written < self.PIECES:
            piece = hashlib.sha256(b"%d:%d" % (self.number, self.written)).digest() * (self.PIECE // 32)
            self.written += 1
            self.sent.update(piece)
            self.transport.write(piece)  # may call pause_writing() before it returns
        if self.written == self.PIECES and not self.paused:
            self.written += 1
            self.transport.write_eof()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        self.write_more()

    def data_received(self, data):
        self.echoed.update(data)
        self.size += len(data)

    def connection_lost(self, exc):
        self.done.set_result(exc is None and self.size == self.PIECE * self.PIECES
                             and self.echoed.digest() == self.sent.digest())


@contextlib.contextmanager
def file_descriptors(needed):
    """Raise the soft RLIMIT_NOFILE to `needed` for the block (within the hard limit), then restore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_thousand_concurrent_echoes(el, loop):
    """1,000 connections echo 1 MiB each, all at once: nothing lost, mixed up or reordered."""
    connections = 1000

    async def echo_all():
        server = listening_socket(backlog=connections)

        async def serve():
            for _ in range(connections):
                conn, _ = await loop.sock_accept(server)
                await loop.create_connection(Echo, sock=conn)

        async def client(number):
            transport, protocol = await loop.create_connection(lambda: EchoClient(number), *server.getsockname())
            return await protocol.done

        serving = asyncio.ensure_future(serve())
        try:
            results = await asyncio.gather(*(client(number) for number in range(connections)))
            await serving
        finally:
            serving.cancel()
            server.close()
        return results.count(True)

    with file_descriptors(2 * connections + 100):
        before = open_fds()
        assert run(loop, echo_all()) == connections
        assert open_fds() == before


def test_no_file_descriptor_outlives_its_transport(el, loop):
    async def every_way_to_end():
        transport, protocol, peer = await connected(loop, Recorder)  # closed by us
        transport.close()
        await protocol.lost
        peer.close()
        transport, protocol, peer = await connected(loop, Recorder)  # aborted with data buffered
        fill(transport)
        transport.abort()
        await protocol.lost
        peer.close()
        transport, protocol, peer = await connected(loop, Recorder)  # ended by the peer
        peer.close()
        await protocol.lost
        transport, protocol, peer = await connected(loop, Recorder)  # reset by the peer
        fill(transport)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        await protocol.lost
        await attempt(loop.create_connection(asyncio.Protocol, *vacant_address()))  # refused

    run(loop, asyncio.sleep(0))
    before = open_fds()
    run(loop, every_way_to_end())
    assert open_fds() == before
