"""Checks for chapter 10's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 10`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real transports on the course's real loop, over socketpairs and TCP on
127.0.0.1. No check measures time: a wait is a number of passes of the loop.
Bytes sent on a socketpair are in the other end's receive buffer when `send()`
returns, and over TCP on 127.0.0.1 Linux delivers them within the `send()`
call too, in practice; so a check can know that everything a step needs is
there and then give the loop a bounded number of passes (PASSES). A long
transfer fails only when PASSES passes in a row move no byte.
To split a message between two reads for certain, a check sends the first
piece and lets the loop run until the transport has taken every byte of it
(`settle`, which asks the kernel how many bytes are unread), then sends the rest.

LineProtocol is a parser first: one check hands it every way of cutting a
message into pieces, calling its methods in the order a transport would; the
others run it on a real connection, on the course's loop and on asyncio's, and
compare what it delivers with what asyncio.StreamReader.readline returns for
the same bytes. The checks of Writer run each scenario with
asyncio.StreamWriter too, on a transport of the same kind, and require the same
trace. The checks of proxy count its sockets in /proc/self/fd and look at its
transports through the loop's registry of them (`loop._transports`).
"""
import asyncio
import gc
import itertools
import os
import socket
import warnings

import pytest

from socket_checks import PASSES, assert_same_trace, open_fds, outcome, passes, reset, socket_id, unread

QUIET = 200  # passes in which something that must wait is given the chance not to


# ── helpers ────────────────────────────────────────────────────────────────


async def settle(sock):
    """Run the loop until whoever reads `sock` has taken every byte waiting in it, then 10 passes more."""
    for _ in range(PASSES):
        if not unread(sock):
            break
        await asyncio.sleep(0)
    await passes(10)



def tcp_pair(buffer_size=65536):
    """Two connected, non-blocking TCP sockets on 127.0.0.1 with small kernel buffers: (ours, peer).

    The sizes are set before connecting: TCP agrees on its window then. Small
    buffers make a transport's own buffer fill after a few hundred KiB.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_size)  # the peer inherits it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        ours = socket.socket()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_size)
        ours.connect(listener.getsockname())
        peer, _ = listener.accept()
    ours.setblocking(False)
    peer.setblocking(False)
    return ours, peer



def reporting(loop):
    """Collect what reaches the loop's exception handler: a list of "message: exception" lines."""
    reports = []
    loop.set_exception_handler(
        lambda loop, context: reports.append(f"{context.get('message')}: {context.get('exception')!r}"))
    return reports



def abort_transports(loop):
    """Abort every transport of the loop still open, and let it finish: no socket left to a later check."""
    transports = [t for t in list(loop._transports.values()) if getattr(t, "_sock", None) is not None]
    for transport in transports:
        transport.abort()
    if transports and not loop.is_closed():
        loop.run_until_complete(passes(3))


# ── 1. LineProtocol ─────────────────────────────────────────────────────────

def expected_lines(stream):
    """What StreamReader.readline returns for `stream`, one line per call, before b""."""
    *lines, rest = stream.split(b"\n")
    return [line + b"\n" for line in lines] + ([rest] if rest else [])


@pytest.fixture
def idle_transport(loop):
    """A real transport, reading nothing, for the `connection_made` of protocols fed by hand."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    transport, _ = loop.run_until_complete(loop.connect_accepted_socket(asyncio.Protocol, ours))
    transport.pause_reading()
    yield transport
    transport.abort()
    loop.run_until_complete(passes(2))
    peer.close()


def feed(challenges, transport, pieces):
    """A LineProtocol's life as a transport drives it, with `pieces` for data: the lines it delivered."""
    delivered = []
    protocol = challenges.LineProtocol(delivered.append)
    protocol.connection_made(transport)
    for piece in pieces:
        protocol.data_received(piece)
    protocol.eof_received()
    protocol.connection_lost(None)
    return delivered


def splits(stream):
    """Every way of cutting `stream` into non-empty pieces, in order (2**(len-1) of them)."""
    for cuts in itertools.product((False, True), repeat=len(stream) - 1):
        pieces, start = [], 0
        for position, cut in enumerate(cuts, 1):
            if cut:
                pieces.append(stream[start:position])
                start = position
        pieces.append(stream[start:])
        yield pieces


def test_line_protocol_delivers_each_line_however_the_bytes_are_split(challenges, idle_transport):
    assert issubclass(challenges.LineProtocol, asyncio.Protocol), "LineProtocol must subclass asyncio.Protocol"
    stream = b"ab\n\ncd\r\nef"
    want = expected_lines(stream)
    for pieces in splits(stream):
        delivered = feed(challenges, idle_transport, pieces)
        assert delivered == want, (
            f"with the stream {stream!r} in the pieces {pieces!r}, on_line got {delivered!r}, not "
            f"{want!r}: a line may arrive in several data_received calls — keep the start of a "
            "line until its b'\\n' comes — and a b'\\n' ends one wherever it lands"
        )


def test_line_protocol_delivers_every_line_of_one_chunk(challenges, idle_transport):
    lines = [b"line %d\n" % n for n in range(1000)]
    delivered = feed(challenges, idle_transport, [b"".join(lines[:999]) + b"line 9", b"99\n"])
    assert len(delivered) == 1000 and delivered[:3] == lines[:3], (
        f"1000 lines came in two data_received calls and on_line was called {len(delivered)} times "
        f"(first: {delivered[:3]!r}): one read may hold many lines; deliver every one of them"
    )
    assert delivered == lines, "the 1000 lines reached on_line changed, or out of order"
    kinds = sorted({type(line).__name__ for line in delivered})
    assert kinds == ["bytes"], (
        f"on_line got {' and '.join(kinds)} objects: hand it bytes (bytes(buffer[start:end])) — a "
        "slice of your bytearray, or a memoryview of it, changes when the buffer does, and a "
        "caller that keeps the line, or uses it as a dict key, breaks"
    )


def test_line_protocol_at_the_end_of_the_stream(challenges, idle_transport):
    for stream in [b"", b"one\n", b"one\ntwo", b"one\n\n", b"no end"]:
        want = expected_lines(stream)
        delivered = feed(challenges, idle_transport, [stream] if stream else [])
        assert delivered == want, (
            f"for the stream {stream!r}, then eof_received() and connection_lost(None), on_line got "
            f"{delivered!r}, not {want!r}: at the end of the stream an unterminated last line goes "
            "to on_line once (in eof_received), and there is no call with b'' — readline's b'' "
            "means 'the end', not a line"
        )


def test_line_protocol_on_a_real_connection(challenges, loop):
    pieces = [b"GET / HTTP/1.1\r", b"\nHost: example", b".org\r\n\r\nfirst\nsec", b"ond\nthird", b" and last"]

    async def scenario(make_protocol):
        """Send the pieces to a transport with `make_protocol()`'s protocol, then end the stream."""
        ours, peer = socket.socketpair()
        ours.setblocking(False)
        try:
            transport, _ = await asyncio.get_running_loop().connect_accepted_socket(make_protocol, ours)
        except BaseException:
            ours.close()  # no transport owns it
            peer.close()
            raise
        try:
            for piece in pieces:
                peer.send(piece)
                await settle(ours)
            peer.shutdown(socket.SHUT_WR)
            await settle(ours)
            await passes(10)
        except BaseException:
            transport.abort()
            raise
        finally:
            peer.close()
        return transport

    async def with_stream_reader():
        reader = asyncio.StreamReader()
        transport = await scenario(lambda: asyncio.StreamReaderProtocol(reader))
        lines = []
        while line := await reader.readline():
            lines.append(line)
        transport.close()
        return lines

    async def with_line_protocol():
        lines = []
        transport = await scenario(lambda: challenges.LineProtocol(lines.append))
        transport.close()
        await passes(2)
        return lines

    want = loop.run_until_complete(with_stream_reader())
    asyncio_loop = asyncio.new_event_loop()
    try:
        for name, on in [("the course's loop", loop), ("asyncio's loop", asyncio_loop)]:
            got = on.run_until_complete(with_line_protocol())
            assert got == want, (
                f"on {name}, over a real connection (the pieces {pieces!r}, each in a read of its "
                f"own, then the end of the stream), on_line got {got!r} where StreamReader.readline "
                f"returned {want!r}"
            )
    finally:
        abort_transports(asyncio_loop)
        asyncio_loop.close()


# ── 2. Writer ───────────────────────────────────────────────────────────────

class Forwarding(asyncio.Protocol):
    """The connection's protocol in the checks of Writer: it forwards three calls to the writer."""

    def __init__(self):
        self.writer = None  # set as soon as connect_accepted_socket returns
        self.lost = False

    def pause_writing(self):
        self.writer.pause_writing()

    def resume_writing(self):
        self.writer.resume_writing()

    def connection_lost(self, exc):
        self.lost = True
        self.writer.connection_lost(exc)


class LosingStreamReaderProtocol(asyncio.StreamReaderProtocol):
    """asyncio's own protocol for StreamWriter, which says when it has lost the connection."""

    lost = False

    def connection_lost(self, exc):
        self.lost = True
        super().connection_lost(exc)


class Connection:
    """One scenario on a fresh TCP connection: what the writer does, in a trace.

    The peer is a plain socket that reads only when told to. Every drain's
    outcome goes into `trace`; the checks run the same scenario with
    asyncio.StreamWriter and with your Writer, and compare.
    """

    def __init__(self, transport, protocol, writer, peer, reports):
        self.transport, self.protocol, self.writer, self.peer = transport, protocol, writer, peer
        self.reports = reports
        self.trace = []
        self.written = 0
        self.received = 0

    def write(self, size):
        """Write `size` bytes at once; a megabyte fills the kernel's buffers and pauses the transport."""
        self.writer.write(b"w" * size)
        self.written += size

    async def drain(self, label):
        """Start a drain; note whether it finished at once, soon, or waits. The task, if it waits."""
        task = asyncio.ensure_future(self.writer.drain())
        await asyncio.sleep(0)  # the task's first step runs first: done now means it never suspended
        when = " at once"
        for _ in range(QUIET):
            if task.done():
                # When a drain raises does not matter (StreamWriter's yields a pass first if
                # the transport is closing); a drain that returns must not suspend.
                failed = task.cancelled() or task.exception() is not None
                self.trace.append(f"{label}: {outcome(task)}{'' if failed else when}")
                return None
            when = ", after some passes of the loop"
            await asyncio.sleep(0)
        self.trace.append(f"{label}: waiting")
        return task

    async def finish(self, task, label):
        """The outcome of a drain that should have all it needs now."""
        for _ in range(PASSES):
            if task.done():
                break
            await asyncio.sleep(0)
        else:
            task.cancel()
            await asyncio.wait([task])
            self.trace.append(f"{label}: still waiting after {PASSES} passes of the loop")
            return
        self.trace.append(f"{label}: {outcome(task)}")

    async def cancel(self, task, label):
        task.cancel()
        await self.finish(task, label)

    async def peer_reads_everything(self):
        """The peer reads until it has every byte written so far (the transport drains meanwhile)."""
        idle = 0
        while self.received < self.written and idle < PASSES:
            try:
                chunk = self.peer.recv(1 << 20)
            except BlockingIOError:
                chunk = b""
            self.received += len(chunk)
            idle = 0 if chunk else idle + 1
            await asyncio.sleep(0)
        self.trace.append(f"the peer read {self.received} of the {self.written} bytes written")
        await passes(10)

    def peer_resets(self):
        reset(self.peer)

    async def lost(self):
        """Until the protocol has had connection_lost (within PASSES passes)."""
        for _ in range(PASSES):
            if self.protocol.lost:
                break
            await asyncio.sleep(0)
        self.trace.append("the connection was lost" if self.protocol.lost
                          else f"the connection was not lost after {PASSES} passes")

    def note_reports(self):
        self.trace.extend(f"the loop's exception handler heard: {report}" for report in self.reports)
        self.reports.clear()


def compare_writers(challenges, loop, scenario):
    """Run `scenario(connection)` with asyncio.StreamWriter and with your Writer: both traces."""
    traces = {}
    reports = reporting(loop)
    for name in ("asyncio.StreamWriter", "yours"):
        ours, peer = tcp_pair()

        async def main():
            if name == "yours":
                transport, protocol = await loop.connect_accepted_socket(Forwarding, ours)
            else:
                reader = asyncio.StreamReader()
                transport, protocol = await loop.connect_accepted_socket(
                    lambda: LosingStreamReaderProtocol(reader), ours)
            try:
                if name == "yours":
                    writer = protocol.writer = challenges.Writer(transport)
                else:
                    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
                connection = Connection(transport, protocol, writer, peer, reports)
                await scenario(connection)
                connection.note_reports()
            finally:
                transport.abort()
                await passes(3)
                for task in asyncio.all_tasks() - {asyncio.current_task()}:
                    task.cancel()  # a drain a wrong answer left waiting
            return connection.trace

        try:
            traces[name] = loop.run_until_complete(main())
        finally:
            peer.close()
    return traces


def assert_same(traces, why):
    """Your Writer's trace must be asyncio.StreamWriter's: else say where they part, and why it matters."""
    assert_same_trace(traces["yours"], traces["asyncio.StreamWriter"], yours_says="with your Writer:",
                      real_says="asyncio.StreamWriter has:", real_name="asyncio.StreamWriter", why=why)


def test_writer_drain_returns_at_once_while_not_paused(challenges, loop):
    async def scenario(connection):
        for n in range(3):
            connection.write(1000)
            await connection.drain(f"drain after a write of 1000 bytes ({n + 1})")
        await connection.peer_reads_everything()

    assert_same(compare_writers(challenges, loop, scenario), (
        "while the transport has not paused writing, drain() returns at once, without "
        "suspending: there is nothing to wait for, and a loop of write(); await drain() on a fast "
        "connection must cost no pass of the loop"
    ))


def test_writer_drain_waits_until_resume_writing(challenges, loop):
    async def scenario(connection):
        connection.write(1 << 20)  # the kernel takes some; the transport's buffer passes 64 KiB
        waiting = await connection.drain("drain with 1 MiB written and the peer not reading")
        await connection.peer_reads_everything()  # the transport drains: resume_writing()
        if waiting is not None:
            await connection.finish(waiting, "that drain, once the peer has read")
        await connection.drain("drain after that")
        connection.write(1 << 20)
        waiting = await connection.drain("drain with another 1 MiB written")
        await connection.peer_reads_everything()
        if waiting is not None:
            await connection.finish(waiting, "that drain, once the peer has read")

    assert_same(compare_writers(challenges, loop, scenario), (
        "between pause_writing() and resume_writing() drain() waits — that is the point of it: a "
        "writer that awaits drain() stops producing while the peer is slow — and returns at "
        "resume_writing(); after that, drain() returns at once again"
    ))


def test_writer_wakes_every_waiting_drain(challenges, loop):
    async def scenario(connection):
        connection.write(1 << 20)
        waiting = [await connection.drain(f"drain {n + 1} of 3, while paused") for n in range(3)]
        await connection.peer_reads_everything()
        for n, task in enumerate(waiting):
            if task is not None:
                await connection.finish(task, f"drain {n + 1}, once the peer has read")

    assert_same(compare_writers(challenges, loop, scenario), (
        "several tasks may wait in drain() at once (three producers on one connection): "
        "resume_writing() must wake every one of them — one future per waiting drain, not one "
        "that the next drain replaces"
    ))


def test_writer_drain_cancelled_while_waiting(challenges, loop):
    async def scenario(connection):
        connection.write(1 << 20)
        waiting = await connection.drain("a drain, while paused")
        if waiting is not None:
            await connection.cancel(waiting, "that drain, cancelled (a timeout, say)")
        await connection.peer_reads_everything()  # resume_writing()
        connection.note_reports()
        await connection.drain("drain after that")
        connection.write(1 << 20)
        waiting = await connection.drain("another drain, while paused again")
        if waiting is not None:
            await connection.cancel(waiting, "that drain, cancelled")
        connection.transport.abort()  # connection_lost(None)
        await connection.lost()
        connection.note_reports()

    assert_same(compare_writers(challenges, loop, scenario), (
        "a drain cancelled while it waits must leave nothing behind: a later resume_writing() "
        "or connection_lost() that sets the result of its (cancelled) future raises "
        "InvalidStateError inside the transport's call, which the loop's exception handler then "
        "reports; forget the future when the drain ends (try/finally), or skip the done ones"
    ))


def test_writer_drain_raises_when_the_connection_is_lost(challenges, loop):
    async def scenario(connection):
        connection.write(1 << 20)
        waiting = [await connection.drain(f"drain {n + 1} of 2, while paused") for n in range(2)]
        connection.peer_resets()  # the transport's next send or recv fails: connection_lost(exc)
        await connection.lost()
        for n, task in enumerate(waiting):
            if task is not None:
                await connection.finish(task, f"drain {n + 1}, after the reset")
        await connection.drain("a drain after the reset")
        await connection.drain("and another")

    assert_same(compare_writers(challenges, loop, scenario), (
        "when the connection is lost with an error, connection_lost(exc), every drain that "
        "waits raises exc, and so does every drain after: the bytes will never be sent, and a "
        "drain that waited for ever would hang its task"
    ))


def test_writer_drain_after_the_connection_ended(challenges, loop):
    async def scenario(connection):
        connection.write(1000)
        await connection.drain("drain after a write of 1000 bytes")
        await connection.peer_reads_everything()
        connection.transport.close()  # an orderly end: connection_lost(None), a pass later
        await connection.lost()
        await connection.drain("a drain after the connection ended")
        await connection.drain("and another")

    assert_same(compare_writers(challenges, loop, scenario), (
        "once connection_lost(None) has been called, drain() raises ConnectionResetError('Connection "
        "lost') at once: a writer that goes on writing to a closed connection must hear of it"
    ))


def test_writer_drain_waiting_when_the_transport_is_aborted(challenges, loop):
    """The one difference from StreamWriter: asyncio's waiting drain returns here."""
    reports = reporting(loop)
    ours, peer = tcp_pair()

    async def main():
        transport, protocol = await loop.connect_accepted_socket(Forwarding, ours)
        try:
            writer = protocol.writer = challenges.Writer(transport)
            connection = Connection(transport, protocol, writer, peer, reports)
            connection.write(1 << 20)
            waiting = await connection.drain("drain")
            assert waiting is not None, f"with 1 MiB written and the peer not reading, {connection.trace[-1]}"
            transport.abort()  # what is buffered is lost: connection_lost(None)
            await connection.lost()
            await connection.finish(waiting, "the waiting drain, after abort()")
            await connection.drain("a drain after that")
            want = ["drain: waiting", "the connection was lost",
                    "the waiting drain, after abort(): raised ConnectionResetError('Connection lost')",
                    "a drain after that: raised ConnectionResetError('Connection lost')"]
            assert connection.trace == want, (
                f"the trace was {connection.trace}, not {want}: a drain waiting when the transport "
                "is aborted must raise ConnectionResetError('Connection lost') — the bytes it waited "
                "for were dropped, not sent. (asyncio's StreamWriter returns there, as if they had "
                "been sent; this challenge asks for the error.)"
            )
            assert not reports, f"the loop's exception handler heard: {reports}"
        finally:
            transport.abort()
            await passes(3)
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

    try:
        loop.run_until_complete(main())
    finally:
        peer.close()


# ── 3. proxy ────────────────────────────────────────────────────────────────

PATTERN = bytes(range(256)) * 257  # a stream of n % 256: any 64 KiB of it is a slice of this
CAP = 32 << 20  # bytes: a proxy without flow control takes all of them


class ProxyFailed(AssertionError):
    """The proxy task ended (it serves until cancelled), or never did what a step needed."""


class Proxy:
    """Your proxy between a listening socket and a target server, both the check's; their sockets."""

    def __init__(self, challenges, loop):
        self.challenges, self.loop = challenges, loop
        self.listen_sock = self.listener()  # the proxy accepts here
        self.target = self.listener()  # and connects here: the check plays the target server
        self.mine = [self.listen_sock, self.target]  # the check's own sockets
        self.reports = reporting(loop)
        self.fds_before = open_fds()
        self.task = None

    @staticmethod
    def listener():
        sock = socket.socket()
        # Small buffers on both ends of every connection the check can reach (an accepted
        # socket inherits them): a few hundred KiB fill a direction.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        return sock

    def start(self, target_address=None):
        address = target_address or self.target.getsockname()
        self.task = self.loop.create_task(self.challenges.proxy(self.loop, self.listen_sock, address))

    def alive(self, what):
        """Fail if the proxy task has ended."""
        if self.task.done():
            raise ProxyFailed(f"the proxy {outcome(self.task)} while {what}: it serves until it is "
                              f"cancelled{self.heard()}") from (
                None if self.task.cancelled() else self.task.exception())

    def heard(self):
        """What the loop's exception handler heard, if anything, for a failure's message."""
        return f" (the loop's exception handler heard: {self.reports})" if self.reports else ""

    async def within(self, awaitable, what):
        """Await `awaitable` within PASSES passes of the loop; fail if the proxy ends first."""
        task = asyncio.ensure_future(awaitable)
        try:
            for _ in range(PASSES):
                if task.done():
                    return task.result()
                self.alive(what)
                await asyncio.sleep(0)
            raise ProxyFailed(f"nothing happened in {PASSES} passes of the loop while {what}{self.heard()}")
        finally:
            task.cancel()

    async def client(self):
        """A new client, connected to the proxy (not yet accepted by it)."""
        sock = socket.socket()
        self.mine.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.setblocking(False)
        await self.within(self.loop.sock_connect(sock, self.listen_sock.getsockname()), "a client connected")
        return sock

    async def accept_at_target(self):
        """The target's end of the next connection the proxy makes to it."""
        conn, _ = await self.within(self.loop.sock_accept(self.target),
                                    "a client waited for the proxy to connect to the target")
        self.mine.append(conn)
        conn.setblocking(False)
        return conn

    async def pair(self, message=b""):
        client = await self.client()
        if message:
            client.send(message)  # before the proxy has even accepted the client
        return client, await self.accept_at_target()

    async def receive(self, sock, size, what):
        """Exactly `size` bytes from `sock`; fewer only if the stream ends first."""
        got = bytearray()
        idle = 0
        while len(got) < size:
            try:
                chunk = sock.recv(size - len(got))
            except BlockingIOError:
                chunk = None
            except ConnectionResetError:
                chunk = b""
            if chunk == b"":
                break
            if chunk:
                got += chunk
                idle = 0
            else:
                idle += 1
                if idle > PASSES:
                    raise ProxyFailed(f"{what}: {len(got)} of {size} bytes came, then nothing for "
                                      f"{PASSES} passes of the loop{self.heard()}")
                self.alive(what)
                await asyncio.sleep(0)
        return bytes(got)

    async def ended(self, sock, what, cancelled=False):
        """Until `sock`'s stream ends (b"" or a reset); what came before the end."""
        got = bytearray()
        for _ in range(PASSES):
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                if not cancelled:
                    self.alive(what)
                await asyncio.sleep(0)
                continue
            except ConnectionResetError:
                return bytes(got)
            if not chunk:
                return bytes(got)
            got += chunk
        raise ProxyFailed(f"{what}: the connection did not end within {PASSES} passes of the loop "
                          f"(it received {bytes(got[:60])!r}){self.heard()}")

    def transport_of(self, sock, side):
        """The proxy's transport at the other end of `sock` (a client or a target connection)."""
        for transport in list(self.loop._transports.values()):
            if (transport.get_extra_info("peername"), transport.get_extra_info("sockname")) == \
                    (sock.getsockname(), sock.getpeername()):
                return transport
        raise ProxyFailed(f"the proxy has no transport connected to the {side}'s socket: make "
                          "both ends transports (create_connection, connect_accepted_socket)")

    def sockets(self):
        """The proxy's sockets: opened since it started, open, and not the check's."""
        mine = {socket_id(sock) for sock in self.mine if sock.fileno() != -1}
        before = set(self.fds_before.values())
        return {what for what in open_fds().values()
                if what.startswith("socket:") and what not in before and what not in mine}

    async def sockets_closed(self, what):
        for _ in range(PASSES):
            if not self.sockets():
                return
            await asyncio.sleep(0)
        raise ProxyFailed(f"{what}, the proxy still holds {len(self.sockets())} sockets after "
                          f"{PASSES} passes of the loop: close both transports of a connection "
                          f"when it is done, or every connection costs two descriptors for ever{self.heard()}")

    def no_reports(self):
        assert not self.reports, (
            f"the loop's exception handler heard: {self.reports} — an exception in a protocol's "
            "callback ends its connection (the transport's _fatal_error)"
        )

    def clean_up(self):
        """End every task the proxy left and every transport still open; close what leaked."""
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.wait(tasks))
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: the check has reported it already
        abort_transports(self.loop)
        for sock in self.mine:
            sock.close()
        # A wrong answer may have dropped a socket or a transport unclosed; collected now,
        # its warning would only repeat what the check said (or fail a later one). With the
        # collector off since the check began, whatever it made is in generation 0.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect(0)


@pytest.fixture
def proxied(challenges, loop):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("these checks count descriptors in /proc/self/fd (Linux)")
    collecting = gc.isenabled()
    gc.disable()  # a leaked socket is collected when clean_up says so, not in the middle of a count
    run = Proxy(challenges, loop)
    try:
        yield run
    finally:
        try:
            run.clean_up()
        finally:
            if collecting:
                gc.enable()


def test_proxy_forwards_both_ways(proxied, loop):
    async def main():
        proxied.start()
        pairs = []
        for n in range(3):
            pairs.append(await proxied.pair(b"client %d\n" % n))  # sent before the proxy accepted it
        by_message = {}
        for client, target in pairs:
            message = await proxied.receive(target, 9, "the target waited for a client's first bytes")
            by_message[message] = target
        assert sorted(by_message) == [b"client %d\n" % n for n in range(3)], (
            f"the target's three connections received {sorted(by_message)!r}: the bytes a client "
            "sends at once, before the proxy has connected to the target, must reach it too — don't "
            "read a client before its target connection exists (or keep what you read)"
        )
        for n, (client, _) in enumerate(pairs):
            target = by_message[b"client %d\n" % n]
            target.send(b"reply %d\n" % n)
            assert await proxied.receive(client, 8, "a client waited for its reply") == b"reply %d\n" % n, (
                "a reply from the target reached the wrong client, or changed"
            )
        client, target = pairs[0]
        client.send(b"more")
        assert await proxied.receive(target, 4, "the target waited for more") == b"more"
        proxied.no_reports()

    loop.run_until_complete(main())


def test_proxy_half_closes_each_direction(proxied, loop):
    async def main():
        proxied.start()
        client, target = await proxied.pair(b"request")
        client.shutdown(socket.SHUT_WR)  # the client has said all it will say
        got = await proxied.ended(target, "the target waited for the end of the request")
        assert got == b"request", f"the target received {got!r} before the end of the stream"
        target.send(b"response")  # the target answers after the client's end
        got = await proxied.receive(client, 8, "the client waited for the response")
        assert got == b"response", (
            f"after its write_eof the client received {got!r}, not the target's b'response': when "
            "one side ends its stream, write_eof() the other and keep the connection open — "
            "eof_received must return True — for the other direction, which is not done"
        )
        target.shutdown(socket.SHUT_WR)
        rest = await proxied.ended(client, "the client waited for the end of the response")
        assert rest == b"", f"the client received {rest!r} more"
        await proxied.sockets_closed("once both directions had ended")
        proxied.no_reports()

    loop.run_until_complete(main())


async def fill(proxied, sender, what):
    """Send the stream of n % 256 from `sender` until the proxy takes no more: the bytes sent."""
    total, still = 0, 0
    while still < 3 and total < CAP:
        sent = 0
        while total < CAP:
            try:
                n = sender.send(PATTERN[total % 256:total % 256 + 65536])
            except BlockingIOError:
                break
            total += n
            sent += n
        proxied.alive(what)
        await passes(20)
        still = 0 if sent else still + 1
    return total


async def drain(proxied, receiver, total, what):
    """Receive `total` bytes of the stream of n % 256, checking each one."""
    position, idle = 0, 0
    while position < total:
        try:
            chunk = receiver.recv(65536)  # PATTERN holds any 64 KiB of the stream
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            raise ProxyFailed(f"{what}: the stream ended after {position} of the {total} bytes sent")
        if chunk:
            assert chunk == PATTERN[position % 256:position % 256 + len(chunk)], (
                f"{what}: the bytes after the first {position} were changed or out of order")
            position += len(chunk)
            idle = 0
        else:
            idle += 1
            if idle > PASSES:
                raise ProxyFailed(
                    f"{what}: {position} of the {total} bytes sent came, then nothing for {PASSES} "
                    "passes of the loop: a side paused for flow control must be resumed at "
                    "resume_writing()")
            proxied.alive(what)
            await asyncio.sleep(0)


async def flow_control(proxied, fast, slow, fast_side, slow_side):
    """`fast` sends as much as it can while `slow` reads nothing; then `slow` reads it all."""
    total = await fill(proxied, fast, f"the {fast_side} sent to a {slow_side} that does not read")
    reading = proxied.transport_of(fast, fast_side)  # the proxy's transport that reads `fast`
    writing = proxied.transport_of(slow, slow_side)  # and the one that writes to `slow`
    buffered = writing.get_write_buffer_size()
    assert total < CAP and buffered < 1 << 20, (
        f"the {fast_side} sent {total} bytes to a {slow_side} that reads nothing, and the proxy took "
        f"them: {buffered} wait in the write buffer of its transport to the {slow_side}. When that "
        f"transport calls pause_writing(), pause reading the {fast_side} (pause_reading()), or a "
        "fast sender and a slow reader fill the proxy's memory"
    )
    assert not reading.is_reading(), (
        f"the {slow_side} reads nothing and its transport's buffer is full, yet the proxy is still "
        f"reading the {fast_side}: pause the {fast_side}'s transport at pause_writing()"
    )
    await drain(proxied, slow, total, f"the {slow_side} read everything the {fast_side} sent")
    proxied.no_reports()


def test_proxy_holds_back_a_fast_client_for_a_slow_target(proxied, loop):
    async def main():
        proxied.start()
        client, target = await proxied.pair()
        await flow_control(proxied, client, target, "client", "target")

    loop.run_until_complete(main())


def test_proxy_holds_back_a_fast_target_for_a_slow_client(proxied, loop):
    async def main():
        proxied.start()
        client, target = await proxied.pair()
        await flow_control(proxied, target, client, "target", "client")

    loop.run_until_complete(main())


def test_proxy_closes_the_other_side_when_one_is_lost(proxied, loop):
    async def main():
        proxied.start()
        for lost, other in [("client", "target"), ("target", "client")]:
            client, target = await proxied.pair(b"hello")
            await proxied.receive(target, 5, "the target waited for a client's first bytes")
            sides = {"client": client, "target": target}
            reset(sides[lost])
            try:
                await proxied.ended(sides[other], f"the {other} waited after the {lost} reset its connection")
            except ProxyFailed as error:
                raise ProxyFailed(f"{error}: when one side is lost (connection_lost with an error), close "
                                  "the other — nobody will ever talk to it again") from None
            await proxied.sockets_closed(f"after the {lost} reset its connection and the {other}'s ended")
        proxied.no_reports()

    loop.run_until_complete(main())


def test_proxy_closes_a_client_whose_target_is_unreachable(proxied, loop):
    with socket.socket() as vacant:
        vacant.bind(("127.0.0.1", 0))  # bound, not listening: a connection to it is refused
        proxied.mine.append(vacant)

        async def main():
            proxied.start(vacant.getsockname())
            for _ in range(2):
                client = await proxied.client()
                client.send(b"hello")
                await proxied.ended(client, "a client waited while the proxy could not reach the target")
                await proxied.sockets_closed("after the target refused a connection")
                proxied.alive("a client connected to an unreachable target")
            proxied.no_reports()

        loop.run_until_complete(main())


def test_proxy_cancelled_closes_every_connection(proxied, loop):
    async def main():
        proxied.start()
        pairs = [await proxied.pair(b"hello") for _ in range(2)]
        for client, target in pairs:
            await proxied.receive(target, 5, "the target waited for a client's first bytes")
            target.send(b"world")
            await proxied.receive(client, 5, "a client waited for the target's reply")
        proxied.task.cancel()
        await asyncio.wait([proxied.task])
        if not proxied.task.cancelled():
            result = proxied.task.result()  # raises what the proxy raised
            raise AssertionError(
                f"cancelled, the proxy returned {result!r}: let the CancelledError through (abort "
                "in `finally`), or whoever cancelled it takes it for finished when it was stopped")
        await passes(10)
        left = proxied.sockets()
        assert not left, (
            f"{len(left)} of the proxy's sockets were still open after it was cancelled: abort both "
            "transports of every connection on the way out — each holds a descriptor, and the "
            "clients would wait on connections nobody serves"
        )
        for client, target in pairs:
            await proxied.ended(client, "a client waited after the proxy was cancelled", cancelled=True)
            await proxied.ended(target, "the target waited after the proxy was cancelled", cancelled=True)
        assert proxied.listen_sock.fileno() != -1, "the proxy closed listen_sock: it is the caller's"

    loop.run_until_complete(main())
