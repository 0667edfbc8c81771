"""Checks for chapter 9's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 9`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real sockets on the course's real loop: socketpairs for recv_exactly and
Reader, TCP on 127.0.0.1 (port 0) for serve_echo. No check measures time.
Bytes sent on a socketpair are in the other end's receive buffer when `send()`
returns, so a check can know that everything a read needs is there, and then
give the loop a bounded number of passes (PASSES): code that is right needs a
handful. To split a message between two receives for certain, a check sends
the first piece and lets the loop run until the reader has taken every byte
of it (`settle`, which asks the kernel how many bytes are unread), then sends
the rest.

The checks of Reader run each scenario with asyncio.StreamReader too — fed
from a socket of the same kind by a task of its own — and require the same
trace. The checks of serve_echo count the server's sockets in /proc/self/fd.
"""
import asyncio
import gc
import os
import select
import socket

import pytest

from socket_checks import PASSES, assert_same_trace, open_fds, outcome, passes, socket_id, unread

LIVENESS = 10  # seconds: a bound on a wait for the kernel that ends at once when all is well


# ── helpers ────────────────────────────────────────────────────────────────

@pytest.fixture
def pair():
    """A connected, non-blocking socketpair, closed after the check: (receiver, sender)."""
    receiver, sender = socket.socketpair()
    receiver.setblocking(False)
    sender.setblocking(False)
    yield receiver, sender
    receiver.close()
    sender.close()



async def settle(sock):
    """Run the loop until whoever reads `sock` has taken every byte waiting in it, then 10 passes more.

    The extra passes let the reading coroutine resume with what it received
    and go back to waiting, so that the next bytes sent arrive in another
    receive.
    """
    for _ in range(PASSES):
        if not unread(sock):
            break
        await asyncio.sleep(0)
    await passes(10)



async def finish(task, what):
    """The outcome of `task`, which has everything it needs: within PASSES passes, or a failure."""
    for _ in range(PASSES):
        if task.done():
            return await task
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait([task])
    raise AssertionError(
        f"{what} was still waiting after {PASSES} passes of the loop, although every byte it "
        "needs had arrived: it waits for something that will never come"
    )


# ── 1. recv_exactly ─────────────────────────────────────────────────────────

def test_recv_exactly_waits_for_every_piece(challenges, loop, pair):
    receiver, sender = pair

    async def main():
        task = asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 10))
        arrived = b""
        for piece in (b"0123", b"456"):
            sender.send(piece)
            arrived += piece
            await settle(receiver)
            if task.done():
                raise AssertionError(
                    f"recv_exactly(loop, sock, 10) {outcome(task)} when only {arrived!r} had "
                    "arrived: one receive returns what has arrived so far, however little; "
                    "receive again until you have all n bytes"
                ) from task.exception()
        sender.send(b"789")
        got = await finish(task, "recv_exactly(loop, sock, 10), with its last 3 bytes sent,")
        assert got == b"0123456789", f"recv_exactly(loop, sock, 10) returned {got!r}"
        assert type(got) is bytes, (
            f"recv_exactly returned a {type(got).__name__}: return bytes, as "
            "StreamReader.readexactly does (bytes(buffer) makes them)"
        )

    loop.run_until_complete(main())


def test_recv_exactly_takes_no_byte_after_the_nth(challenges, loop, pair):
    receiver, sender = pair
    data = bytes(range(256)) * 4096  # 1 MiB: a socketpair holds some 200 KiB, so it comes in pieces

    async def main():
        sender.send(b"hello, world")
        first = await finish(asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 5)),
                             "recv_exactly(loop, sock, 5), with 12 bytes there,")
        assert first == b"hello", f"recv_exactly(loop, sock, 5) returned {first!r}, not b'hello'"
        assert unread(receiver) == 7, (
            f"recv_exactly(loop, sock, 5) took {12 - unread(receiver)} of the 12 bytes waiting in "
            "the socket: the bytes after the n-th belong to whoever reads next, and what you "
            "take out of the socket is lost for them; ask for no more than the bytes still missing"
        )
        assert await challenges.recv_exactly(loop, receiver, 7) == b", world"

        sending = asyncio.ensure_future(loop.sock_sendall(sender, data))
        try:
            pieces = [await challenges.recv_exactly(loop, receiver, size)
                      for size in (300_000, 700_000, len(data) - 1_000_000)]
            await sending
        finally:
            sending.cancel()  # if a read failed half-way: no task left pending on the loop
        assert [len(piece) for piece in pieces] == [300_000, 700_000, len(data) - 1_000_000]
        assert b"".join(pieces) == data, "1 MiB came back, in three reads, with bytes out of order or changed"

    loop.run_until_complete(main())


def test_recv_exactly_raises_incomplete_read_error_at_the_end_of_the_stream(challenges, loop, pair):
    receiver, sender = pair

    async def main():
        task = asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 5))
        sender.send(b"ab")
        await settle(receiver)
        sender.send(b"c")
        await settle(receiver)
        sender.shutdown(socket.SHUT_WR)  # the end of the stream: recv() returns b""
        try:
            got = await finish(task, "recv_exactly(loop, sock, 5), at the end of the stream,")
        except asyncio.IncompleteReadError as error:
            assert (error.partial, error.expected) == (b"abc", 5), (
                f"IncompleteReadError(partial={error.partial!r}, expected={error.expected!r}): "
                "partial holds every byte that came before the end (b'abc', in two pieces), "
                "expected is n (5), so that the caller knows what it got"
            )
            assert type(error.partial) is bytes, "partial: bytes, as StreamReader.readexactly's is"
        else:
            raise AssertionError(
                f"recv_exactly(loop, sock, 5) returned {got!r} when the connection ended after 3 "
                "bytes: raise asyncio.IncompleteReadError(partial, 5) — a caller that asked for "
                "5 bytes would take 3 for a whole message"
            )
        with pytest.raises(asyncio.IncompleteReadError) as caught:
            await finish(asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 3)),
                         "recv_exactly(loop, sock, 3), after the end of the stream,")
        assert (caught.value.partial, caught.value.expected) == (b"", 3)

    loop.run_until_complete(main())


def test_recv_exactly_of_zero_bytes(challenges, loop, pair):
    receiver, sender = pair

    async def main():
        try:
            got = await finish(asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 0)),
                               "recv_exactly(loop, sock, 0)")
        except asyncio.IncompleteReadError as error:
            raise AssertionError(
                f"recv_exactly(loop, sock, 0) raised {error!r} on an open connection: zero bytes "
                "need no receive, and a receive of 0 bytes returns b'' without meaning the end "
                "of the stream"
            ) from error
        assert got == b"", f"recv_exactly(loop, sock, 0) returned {got!r}: zero bytes is b''"
        sender.send(b"later")
        assert await finish(asyncio.ensure_future(challenges.recv_exactly(loop, receiver, 5)),
                            "recv_exactly(loop, sock, 5)") == b"later"

    loop.run_until_complete(main())


# ── 2. Reader ───────────────────────────────────────────────────────────────

class StreamReaderOnSocket:
    """asyncio.StreamReader, fed from a socket by a task of its own: the behaviour Reader must have."""

    def __init__(self, loop, sock, limit=65536):
        self._stream = asyncio.StreamReader(limit=limit, loop=loop)
        self._feeding = asyncio.ensure_future(self._feed(loop, sock))

    async def _feed(self, loop, sock):
        while data := await loop.sock_recv(sock, 65536):
            self._stream.feed_data(data)
        self._stream.feed_eof()

    def readuntil(self, separator=b"\n"):
        return self._stream.readuntil(separator)

    def readexactly(self, n):
        return self._stream.readexactly(n)

    async def aclose(self):
        self._feeding.cancel()
        await asyncio.wait([self._feeding])


class Script:
    """One scenario on a fresh socketpair: what the peer sends, and what the reader returns.

    Every outcome goes into `trace`; the checks run the same scenario with
    asyncio.StreamReader and with your Reader and compare the traces.
    """

    def __init__(self, receiver, sender, reader, limit):
        self.receiver, self.sender, self.reader, self.limit = receiver, sender, reader, limit
        self.trace = []
        self.sent = bytearray()  # everything the peer sent
        self.returned = 0  # how much of it the reader has handed out (or dropped at the end)

    def send(self, data):
        assert self.sender.send(data) == len(data)  # small: a socketpair's buffer takes it whole
        self.sent += data

    def close(self):
        self.sender.shutdown(socket.SHUT_WR)

    def start(self, method, *args):
        """Begin `reader.method(*args)` as a task, to finish later."""
        task = asyncio.ensure_future(getattr(self.reader, method)(*args))
        task.call = f"{method}({', '.join(map(repr, args))})"
        task.separator = args[0] if method == "readuntil" else None
        return task

    async def read(self, method, *args):
        await self.finish(self.start(method, *args))

    async def settle(self):
        await settle(self.receiver)

    async def cancel(self, task):
        """Cancel a read that waits, once it has taken every byte there is."""
        await self.settle()
        task.cancel()
        await self.finish(task)

    async def finish(self, task):
        """Wait for a read; put what it did, in words, in the trace."""
        try:
            result = await finish(task, f"reader.{task.call}")
        except asyncio.CancelledError:
            what = "was cancelled"
        except asyncio.IncompleteReadError as error:
            self.returned += len(error.partial)  # the buffer empties, as StreamReader's does
            what = f"raised IncompleteReadError(partial={error.partial!r}, expected={error.expected!r})"
        except asyncio.LimitOverrunError as error:
            problem = self.consumed_problem(task, error)
            what = "raised LimitOverrunError" + (f", but {problem}" if problem else "")
        except AssertionError:  # finish() gave up
            what = f"was still waiting after {PASSES} passes of the loop, with every byte it needs there"
        except Exception as error:  # anything else: the trace shows it, and the comparison fails
            what = f"raised {error!r}"
        else:
            self.returned += len(result)
            what = f"returned {result!r}"
        self.trace.append(f"reader.{task.call} {what}")

    def consumed_problem(self, task, error):
        """What is wrong with the error's `consumed`, as asyncio defines it; None if nothing."""
        separator, pending, consumed = task.separator, bytes(self.sent[self.returned:]), error.consumed
        if not isinstance(consumed, int) or not self.limit < consumed <= len(pending):
            return (f"consumed={consumed!r}: it counts buffered bytes, more than the limit "
                    f"({self.limit}) and no more than the {len(pending)} there are")
        if separator in pending[:consumed + len(separator) - 1]:
            return (f"consumed={consumed!r}: a separator starts before that; consumed is where "
                    "the first separator starts, or, without one, len(buffer) - len(separator) + 1")
        return None


def compare(challenges, loop, scenario, limit=65536):
    """Run `scenario(script)` with asyncio.StreamReader and with your Reader: both traces."""
    traces = {}
    for name, make in [("asyncio.StreamReader", StreamReaderOnSocket), ("yours", challenges.Reader)]:
        receiver, sender = socket.socketpair()
        receiver.setblocking(False)
        sender.setblocking(False)

        async def main():
            reader = make(loop, receiver, limit=limit)
            script = Script(receiver, sender, reader, limit)
            try:
                await scenario(script)
            finally:
                if isinstance(reader, StreamReaderOnSocket):
                    await reader.aclose()
            return script.trace

        try:
            traces[name] = loop.run_until_complete(main())
        finally:
            receiver.close()
            sender.close()
    return traces


def assert_same(traces, why):
    """Your Reader's trace must be asyncio.StreamReader's: else say where they part, and why it matters."""
    assert_same_trace(traces["yours"], traces["asyncio.StreamReader"], yours_says="your",
                      real_says="asyncio.StreamReader's", real_name="asyncio.StreamReader", why=why)


def test_reader_keeps_what_follows_the_separator(challenges, loop):
    async def scenario(script):
        script.send(b"one\ntwo\nthree")
        await script.read("readuntil", b"\n")
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 3)
        script.send(b"\nHEAD 5\nhello")
        await script.read("readuntil", b"\n")
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 5)
        await script.read("readexactly", 0)

    assert_same(compare(challenges, loop, scenario), (
        "readuntil returns the bytes up to and including the separator and keeps the rest in "
        "the reader's buffer, where the next readuntil or readexactly finds it: bytes that "
        "arrived with a line belong to the lines after it"
    ))


def test_reader_finds_a_separator_split_across_two_receives(challenges, loop):
    async def scenario(script):
        waiting = script.start("readuntil", b"\r\n")
        script.send(b"first\r")
        await script.settle()
        script.send(b"\nsecond\r\n")
        await script.finish(waiting)
        await script.read("readuntil", b"\r\n")
        waiting = script.start("readuntil", b"--END--")
        for piece in (b"body--", b"E", b"ND", b"--tail"):
            script.send(piece)
            await script.settle()
        await script.finish(waiting)
        script.send(b"--END--")
        await script.read("readuntil", b"--END--")
        waiting = script.start("readexactly", 6)
        script.send(b"abc")
        await script.settle()
        script.send(b"defg")
        await script.finish(waiting)

    assert_same(compare(challenges, loop, scenario), (
        "a separator can arrive in two receives, its first bytes at the end of one and the rest "
        "at the start of the next: after a receive, search again from len(separator) - 1 bytes "
        "before the old end of the buffer, not only in the new bytes"
    ))


def test_reader_limit(challenges, loop):
    async def scenario(script):
        script.send(b"x" * 16 + b"\n")  # exactly the limit: allowed
        await script.read("readuntil", b"\n")
        script.send(b"y" * 17 + b"\n")  # one more
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 18)  # the data is still there
        script.send(b"z" * 40)  # no separator, the connection open: no waiting for one
        await script.read("readuntil", b"\n")
        script.send(b"\n")
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 41)
        script.send(b"short\n" + b"w" * 40 + b"\nend\n")  # a long line after a short one
        await script.read("readuntil", b"\n")
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 41)
        await script.read("readuntil", b"\n")

    assert_same(compare(challenges, loop, scenario, limit=16), (
        "with limit=16: a line of 16 bytes and its separator is returned; a separator after "
        "17 bytes, or 17 bytes without one, raise LimitOverrunError at once (without waiting "
        "for more) and leave the data in the buffer for readexactly; the limit counts the "
        "bytes before the separator, not a long line buffered after a short one"
    ))


def test_reader_raises_incomplete_read_error_at_the_end_of_the_stream(challenges, loop):
    async def lines(script):
        script.send(b"one\ntw")
        script.close()
        await script.read("readuntil", b"\n")
        await script.read("readuntil", b"\n")
        await script.read("readexactly", 1)
        await script.read("readuntil", b"\n")

    async def blocks(script):
        script.send(b"abcdef")
        await script.read("readexactly", 4)
        waiting = script.start("readexactly", 4)
        await script.settle()
        script.close()  # while it waits
        await script.finish(waiting)
        await script.read("readexactly", 4)

    for scenario in (lines, blocks):
        assert_same(compare(challenges, loop, scenario), (
            "at the end of the stream, as StreamReader: IncompleteReadError(partial, expected) "
            "with every byte still buffered in partial, and expected=n for readexactly, None "
            "for readuntil; the buffer is then empty, and a later read raises it again with "
            "partial=b''"
        ))


def test_reader_keeps_the_bytes_of_a_cancelled_read(challenges, loop):
    async def scenario(script):
        waiting = script.start("readuntil", b"\n")
        script.send(b"abc")
        await script.cancel(waiting)  # a timeout, say
        script.send(b"def\n")
        await script.read("readuntil", b"\n")
        waiting = script.start("readexactly", 10)
        script.send(b"12345")
        await script.cancel(waiting)
        script.send(b"67890")
        await script.read("readexactly", 10)

    assert_same(compare(challenges, loop, scenario), (
        "a read cancelled while it waits (by asyncio.timeout, say) must leave the bytes it had "
        "received in the reader's buffer, for the next read: keep them in the reader, not in a "
        "local variable of the coroutine"
    ))


# ── 3. serve_echo ───────────────────────────────────────────────────────────


async def recv_all(loop, sock, size):
    """Up to `size` bytes, fewer only if the stream ends first."""
    got = bytearray()
    while len(got) < size and (chunk := await loop.sock_recv(sock, size - len(got))):
        got += chunk
    return bytes(got)


class EchoServer:
    """Your serve_echo on a TCP listener, its clients, and the sockets it holds."""

    def __init__(self, challenges, loop, listener):
        self.challenges, self.loop, self.listener = challenges, loop, listener
        self.clients = []
        self.held = []  # the server's sockets the check has seen
        self.echoed = [0]
        self.task = None
        self.fds_before = open_fds()

    def start(self, max_connections):
        self.max_connections = max_connections
        self.task = self.loop.create_task(self.challenges.serve_echo(
            self.loop, self.listener, max_connections=max_connections, echoed=self.echoed))

    def accepted(self):
        """The server's sockets: open, and neither the check's nor there before it started."""
        ours = {socket_id(client) for client in self.clients if client.fileno() != -1}
        before = set(self.fds_before.values())
        found = {what for what in open_fds().values()
                 if what.startswith("socket:") and what not in before and what not in ours}
        # Hold them: a socket the server leaked must not be collected before clean_up
        # closes it (collected unclosed, it warns, and fails whichever check runs then).
        # With the collector off (the `server` fixture), new objects stay in generation 0.
        missing = found - {socket_id(sock) for sock in self.held if sock.fileno() != -1}
        for generation in (0, None):
            if missing:
                things = gc.get_objects(generation)
                seen = [thing for thing in things if isinstance(thing, socket.socket)
                        and thing.fileno() != -1 and socket_id(thing) in missing]
                self.held.extend(seen)
                missing -= {socket_id(sock) for sock in seen}
        return found

    async def served(self, awaitable, what):
        """Await `awaitable`; fail if serve_echo ends first."""
        waiting = asyncio.ensure_future(awaitable)
        await asyncio.wait([waiting, self.task], return_when=asyncio.FIRST_COMPLETED)
        if waiting.done():
            return waiting.result()
        waiting.cancel()
        await asyncio.wait([waiting])
        if not self.task.cancelled():
            result = self.task.result()  # raises what serve_echo raised
            raise AssertionError(f"serve_echo returned {result!r} while {what}: it serves "
                                 "until it is cancelled")
        raise AssertionError(f"serve_echo was cancelled while {what}")

    async def connect(self):
        client = socket.socket()
        self.clients.append(client)
        client.setblocking(False)
        await self.served(self.loop.sock_connect(client, self.listener.getsockname()), "a client connected")
        return client

    async def round_trip(self, client, data):
        async def exchange():
            receiving = asyncio.ensure_future(recv_all(self.loop, client, len(data)))
            try:
                # Sent while the echo is received: it may not fit in the buffers meanwhile.
                await self.loop.sock_sendall(client, data)
                return await receiving
            finally:
                receiving.cancel()

        echo = await self.served(exchange(), f"a client waited for the echo of {len(data)} bytes")
        assert echo == data, (
            f"a client sent {len(data)} bytes and got {len(echo)} back"
            + ("" if data.startswith(echo) else ", different ones")
        )

    async def counted(self, total):
        """True once echoed[0] == total (within PASSES passes: it needs only the loop)."""
        for _ in range(PASSES):
            if self.echoed[0] == total:
                return True
            await asyncio.sleep(0)
        return False

    def wait_in_backlog(self):
        """Until the kernel has a new connection waiting for accept() (the listener is readable).

        Blocks the loop, which is the point: nothing can accept it meanwhile. If
        the server has taken it already, there is nothing to wait for.
        """
        if len(self.accepted()) <= self.max_connections:
            readable, _, _ = select.select([self.listener], [], [], LIVENESS)
            assert readable, "a client's connection never reached the listening socket's backlog"

    def clean_up(self):
        """Close the clients; end every task serve_echo left, and close what it leaked.

        A wrong answer may leave tasks running and sockets open. The check has
        reported them; closing them here keeps their warnings out of later checks.
        """
        self.accepted()
        for sock in self.held:  # first: a socket collected unclosed warns
            sock.close()
        self.held.clear()
        for client in self.clients:
            client.close()
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.wait(tasks, timeout=LIVENESS))
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the check has reported it already


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def server(challenges, loop, listener):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("these checks count descriptors in /proc/self/fd (Linux)")
    # A leaked socket is often held by a reference cycle (a task, its exception, the
    # frames of its traceback), which the garbage collector breaks when it likes:
    # before the check counts the socket, or during a later check, which the socket's
    # ResourceWarning would then fail. So no collection until clean_up has closed it.
    collecting = gc.isenabled()
    gc.disable()
    server = EchoServer(challenges, loop, listener)
    try:
        yield server
        server.clean_up()
    finally:
        if collecting:
            gc.enable()


def test_serve_echo_echoes_every_byte_and_counts_them(server, loop):
    messages = [b"hello", bytes(range(256)) * 800, b"x" * 3000]  # 200 KiB: more than one receive

    async def client_session(client):
        for message in messages:
            await server.round_trip(client, message)

    async def main():
        server.start(max_connections=3)
        clients = [await server.connect() for _ in range(3)]
        await asyncio.gather(*(client_session(client) for client in clients))
        total = 3 * sum(map(len, messages))
        assert await server.counted(total), (
            f"echoed[0] is {server.echoed[0]!r} after {total} bytes came back to the clients: "
            "add the length of what you send back as you send it; the count is read while the "
            "server runs"
        )

    loop.run_until_complete(main())


def test_serve_echo_serves_at_most_max_connections(server, loop):
    async def main():
        server.start(max_connections=2)
        first, second = await server.connect(), await server.connect()
        await server.round_trip(first, b"first")
        await server.round_trip(second, b"second")
        assert len(server.accepted()) == 2, (
            f"serve_echo holds {len(server.accepted())} sockets while it serves two clients"
        )
        third = await server.connect()
        third.send(b"third")
        await server.round_trip(first, b"first again")  # the server has been running meanwhile
        await server.round_trip(second, b"second again")
        server.wait_in_backlog()
        await passes(100)
        assert len(server.accepted()) == 2, (
            f"serve_echo accepted a third connection while it served two, with max_connections=2 "
            f"({len(server.accepted())} sockets open): wait for a free slot *before* sock_accept, "
            "so that the others wait in the listening socket's backlog — an accepted socket "
            "costs a descriptor and buffers, however long it waits for its turn"
        )
        first.close()  # a slot is free: the third client's turn
        echo = await server.served(recv_all(loop, third, 5), "the third client waited for its turn")
        assert echo == b"third", f"the third client got {echo!r} back"
        await server.round_trip(second, b"second, still")
        assert len(server.accepted()) == 2, (
            f"serve_echo holds {len(server.accepted())} sockets for two clients: the server's end "
            "of a connection that ended (recv returned b'') must be closed"
        )

    loop.run_until_complete(main())


def cancel(server, loop, clients, max_connections):
    """Start the server, connect `clients` (those beyond max_connections wait), cancel it, check."""
    async def main():
        server.start(max_connections=max_connections)
        for n in range(clients):
            client = await server.connect()
            if n < max_connections:
                await server.round_trip(client, b"hello %d" % n)
        await passes(10)
        serving = min(clients, max_connections)
        assert len(server.accepted()) == serving, (
            f"serve_echo holds {len(server.accepted())} sockets while it serves {serving} clients"
        )
        server.task.cancel()
        await asyncio.wait([server.task])
        if not server.task.cancelled():
            result = server.task.result()  # raises what serve_echo raised
            raise AssertionError(
                f"cancelled, serve_echo returned {result!r}: let the CancelledError through (close "
                "in `finally`, or re-raise it), or whoever cancelled it — a timeout, a TaskGroup, "
                "asyncio.run at Ctrl-C — takes the server for finished when it was stopped"
            )
        left = server.accepted()
        assert not left, (
            f"{len(left)} of the connections serve_echo accepted were still open once its "
            "cancellation came through: close every one before it does (`with conn:` in the "
            "task that serves it, and wait for those tasks) — each open socket holds a file "
            "descriptor, and a process has a limited number"
        )
        for client in server.clients[:max_connections]:
            assert await recv_all(loop, client, 1) == b"", "a served client must see its connection end"
        for client in server.clients:
            client.close()
        extra = set(open_fds().values()) - set(server.fds_before.values())
        assert not extra, f"descriptors left open after the server and its clients are gone: {extra}"

    loop.run_until_complete(main())


def test_serve_echo_cancelled_while_idle(server, loop):
    cancel(server, loop, clients=0, max_connections=2)


def test_serve_echo_cancelled_while_serving(server, loop):
    cancel(server, loop, clients=2, max_connections=3)


def test_serve_echo_cancelled_with_a_client_in_the_backlog(server, loop):
    cancel(server, loop, clients=3, max_connections=2)
