"""Checks for chapter 11's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 11`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real servers on the course's real loop, TCP on 127.0.0.1, and clients that are
plain non-blocking sockets the checks drive by hand, so that each check decides
when a client connects, sends, reads, leaves or resets. No check measures time:
a wait is a number of passes of the loop. A connection is in the listening
socket's queue when a blocking `connect()` returns, and over TCP on 127.0.0.1
Linux puts the bytes of a `send()` in the other end's receive buffer within
the call, in practice; so a check can know that everything a step needs is
there, then give the loop a bounded number of passes (PASSES). A long transfer
fails only when PASSES passes in a row move no byte. The checks count the server's sockets in /proc/self/fd, and find its
transports through the loop's registry of them (`loop._transports`).

handover's grace period is time. Its checks run on a loop with a virtual clock
and real sockets (`VirtualTimeLoop`): a pass that finds no socket ready and
nothing to run makes the clock jump to the next timer instead of sleeping, so
ten seconds of grace cost none, and "within the grace period" is exact.
"""
import asyncio
import gc
import os
import socket
import warnings

import pytest

from socket_checks import PASSES, open_fds, outcome, passes, reset, socket_id, unread

import eventloop

QUIET = 100  # passes in which something that must not happen is given the chance to
SMALL = 65536  # bytes: the kernel buffers of a client that is to be slow, and of its server end


# ── helpers ────────────────────────────────────────────────────────────────


def ended_stream(sock):
    """True if `sock`'s connection has ended (the peer closed or reset it), nothing unread."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True



class Clients:
    """A check's clients, its view of the server's sockets and transports, and its cleanup."""

    def __init__(self, loop):
        self.loop = loop
        self.socks = []  # every client socket the check made
        self.reports = []
        loop.set_exception_handler(
            lambda loop, context: self.reports.append(f"{context.get('message')}: {context.get('exception')!r}"))
        self.fds_before = open_fds()
        self.servers = []  # to close at the end

    def heard(self):
        """What the loop's exception handler heard, if anything, for a failure's message."""
        return f" (the loop's exception handler heard: {self.reports})" if self.reports else ""

    def no_reports(self):
        assert not self.reports, f"the loop's exception handler heard: {self.reports}"

    def serving(self, server):
        self.servers.append(server)
        return server.sockets[0].getsockname()

    def connect_now(self, address, slow=False):
        """A client, connected (a blocking connect: the kernel queues it, nobody need accept it yet)."""
        sock = socket.socket()
        self.socks.append(sock)
        if slow:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)
        sock.connect(address)
        sock.setblocking(False)
        return sock

    async def connect(self, address, slow=False):
        """A client, connected, whose connection the server has accepted and made a transport for."""
        sock = self.connect_now(address, slow)
        await self.until(lambda: self.transport_of(sock) is not None,
                         "the server did not accept a client")
        await passes(10)  # connection_made runs a pass after the transport is made
        return sock

    def transport_of(self, client):
        """The server's transport for `client`, or None."""
        for transport in list(self.loop._transports.values()):
            if (transport.get_extra_info("peername"), transport.get_extra_info("sockname")) == \
                    (client.getsockname(), client.getpeername()):
                return transport
        return None

    async def until(self, condition, what):
        for _ in range(PASSES):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{what} within {PASSES} passes of the loop{self.heard()}")

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
                    raise AssertionError(f"{what}: {len(got)} of {size} bytes came ({bytes(got[:80])!r}), "
                                         f"then nothing for {PASSES} passes of the loop{self.heard()}")
                await asyncio.sleep(0)
        return bytes(got)

    async def nothing_more(self, sock, what):
        """After QUIET passes, `sock` has received nothing (more)."""
        await passes(QUIET)
        try:
            extra = sock.recv(65536, socket.MSG_PEEK)
        except BlockingIOError:
            return
        raise AssertionError(f"{what}, but it received {extra[:80]!r}")

    async def ended(self, sock, what):
        """Until `sock`'s stream ends (b"" or a reset): what came before the end."""
        got = bytearray()
        for _ in range(PASSES):
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                await asyncio.sleep(0)
                continue
            except ConnectionResetError:
                return bytes(got)
            if not chunk:
                return bytes(got)
            got += chunk
        raise AssertionError(f"{what}: the connection did not end within {PASSES} passes of the loop "
                             f"(it received {bytes(got[:60])!r}){self.heard()}")

    def server_sockets(self):
        """The server's sockets: opened since the check began, open, and not the check's clients."""
        mine = {socket_id(sock) for sock in self.socks if sock.fileno() != -1}
        before = set(self.fds_before.values())
        return {what for what in open_fds().values()
                if what.startswith("socket:") and what not in before and what not in mine}

    def connections(self):
        """The server's sockets that are connections: its sockets, less the listening ones."""
        listening = set()
        for server in self.servers:
            for sock in server.sockets:
                if sock.fileno() != -1:
                    listening.add(f"socket:[{os.fstat(sock.fileno()).st_ino}]")
        return self.server_sockets() - listening

    def clean_up(self):
        """End what the server left: tasks, transports, servers; close the clients."""
        loop = self.loop
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks))
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: the check has reported it already
        for server in self.servers:
            server.close()
        transports = [t for t in list(loop._transports.values()) if getattr(t, "_sock", None) is not None]
        for transport in transports:
            transport.abort()
        loop.run_until_complete(passes(3))
        for sock in self.socks:
            sock.close()
        # A wrong answer may have dropped a socket or a transport unclosed; collected now,
        # its warning would only repeat what the check said (or fail a later one). With the
        # collector off since the check began, whatever it made is in generation 0.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect(0)


def collector_off():
    """A leaked socket is collected when clean_up says so, not in the middle of a count."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("these checks count descriptors in /proc/self/fd (Linux)")
    collecting = gc.isenabled()
    gc.disable()
    return collecting


@pytest.fixture
def clients(loop):
    collecting = collector_off()
    made = Clients(loop)
    try:
        yield made
    finally:
        try:
            made.clean_up()
        finally:
            if collecting:
                gc.enable()


# ── 1. serve_limited ────────────────────────────────────────────────────────

class Record:
    """What the check's protocols lived through, together."""

    def __init__(self):
        self.live = 0  # connections made and not yet lost
        self.most = 0  # the most at once
        self.made = 0


class Served(asyncio.Protocol):
    """The check's protocol for serve_limited: echoes; closes its connection at b"quit"."""

    def __init__(self, record):
        self.record = record

    def connection_made(self, transport):
        self.transport = transport
        record = self.record
        record.live += 1
        record.made += 1
        record.most = max(record.most, record.live)

    def data_received(self, data):
        if data == b"quit":
            self.transport.close()
        else:
            self.transport.write(data)

    def connection_lost(self, exc):
        self.record.live -= 1


def limited(challenges, loop, clients, max_clients, protocol_factory):
    """Start serve_limited on 127.0.0.1, port 0: (server, address)."""
    server = loop.run_until_complete(
        challenges.serve_limited(loop, protocol_factory, "127.0.0.1", 0, max_clients))
    return server, clients.serving(server)


async def served_in_turn(clients, record, waiting, max_clients, end):
    """Clients that sent b"hello N" wait for their echo; each served one is ended with `end(client)`.

    Returns their echoes, in the order they were served. At every step the
    server has as many connections as it has room for and clients left, no
    more: the others wait in the listening socket's queue.
    """
    order = []
    waiting = list(waiting)
    while waiting:
        expected = min(max_clients, len(waiting))

        def echoed():
            return [client for client in waiting if unread(client)]

        def turned_away():
            return [client for client in waiting if not unread(client) and ended_stream(client)]

        try:
            await clients.until(lambda: len(echoed()) >= expected or turned_away(), "")
        except AssertionError:
            raise AssertionError(
                f"with {len(waiting)} clients waiting and room for {max_clients}, only "
                f"{len(echoed())} got their echo within {PASSES} passes of the loop{clients.heard()}"
            ) from None
        assert not turned_away(), (
            f"{len(turned_away())} of the clients waiting for their turn saw their connection end "
            "unserved: at the limit, leave the others in the listening socket's queue; a server "
            "that accepts a connection only to close it turns its client away"
        )
        await passes(QUIET)  # room for more, were the server to take them
        served = echoed()
        assert len(served) == expected and record.most <= max_clients, (
            f"serve_limited(max_clients={max_clients}) served {len(served)} of the {len(waiting)} "
            f"clients waiting at once ({record.most} connections at the most): at the limit, accept "
            "none — the loop's accept loop takes every connection waiting, so a protocol factory "
            "that stops it stops it too late"
        )
        assert len(clients.connections()) == expected, (
            f"the server holds {len(clients.connections())} connections while it serves {expected}: "
            "at the limit a client waits in the listening socket's queue, not accepted"
        )
        client = served[0]
        greeting = client.recv(64)
        order.append(greeting)
        waiting.remove(client)
        end(client)
    return order


def test_serve_limited_serves_clients_who_come_together_a_few_at_a_time(challenges, loop, clients):
    record = Record()
    server, address = limited(challenges, loop, clients, 2, lambda: Served(record))

    async def main():
        together = [clients.connect_now(address) for _ in range(5)]  # all five in the queue at once
        for n, client in enumerate(together):
            client.send(b"hello %d" % n)
        order = await served_in_turn(clients, record, together, 2, lambda client: client.close())
        assert sorted(order) == [b"hello %d" % n for n in range(5)], f"the echoes were {order!r}"
        clients.no_reports()

    loop.run_until_complete(main())


def test_serve_limited_makes_room_however_a_connection_ends(challenges, loop, clients):
    record = Record()
    server, address = limited(challenges, loop, clients, 1, lambda: Served(record))
    endings = {
        "the client closed it": lambda client: client.close(),
        "the server's protocol closed it": lambda client: client.send(b"quit"),
        "the client reset it": reset,
    }

    async def main():
        queue = [clients.connect_now(address) for _ in range(len(endings) + 1)]
        for n, client in enumerate(queue):
            client.send(b"hello %d" % n)
        for how, end in endings.items():
            served = queue[0]
            await clients.until(lambda: unread(served), "a client waited for its turn")
            assert served.recv(64).startswith(b"hello")
            end(served)
            queue.pop(0)
            try:
                await clients.until(lambda: unread(queue[0]), "the next one got its turn")
            except AssertionError:
                raise AssertionError(
                    f"with max_clients=1, after {how}, the next client did not get its turn within "
                    f"{PASSES} passes of the loop: free the "
                    "room when the connection ends, in connection_lost — the one call every end of a "
                    "connection makes (eof_received misses a reset and a close by the server's side)"
                ) from None
        clients.no_reports()

    loop.run_until_complete(main())


class Thorough(asyncio.Protocol):
    """The check's protocol for the calls serve_limited must pass on: it notes each kind, once."""

    def __init__(self, calls):
        self.calls = calls

    def note(self, call):
        if call not in self.calls:
            self.calls.append(call)

    def connection_made(self, transport):
        self.transport = transport
        self.note("connection_made")
        # Small kernel buffers at our end, so that a megabyte fills them and the transport's.
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)

    def data_received(self, data):
        self.note("data_received")
        self.transport.write(b"m" * (1 << 20))

    def pause_writing(self):
        self.note("pause_writing")

    def resume_writing(self):
        self.note("resume_writing")

    def eof_received(self):
        self.note("eof_received")
        # Half-closed, the connection stays open for an answer that comes a pass later.
        asyncio.get_running_loop().call_soon(self.answer)
        return True

    def answer(self):
        self.transport.write(b"bye")
        self.transport.close()

    def connection_lost(self, exc):
        self.note(f"connection_lost({exc!r})")


def test_serve_limited_passes_every_call_on_to_your_protocol(challenges, loop, clients):
    calls = []
    server, address = limited(challenges, loop, clients, 2, lambda: Thorough(calls))

    async def main():
        client = clients.connect_now(address, slow=True)
        client.send(b"flood me")
        got = await clients.receive(client, 1 << 20, "the client waited for its megabyte")
        assert len(got) == 1 << 20
        client.shutdown(socket.SHUT_WR)
        rest = await clients.ended(client, "the client waited for the answer to its end of stream")
        assert rest == b"bye", (
            f"after its end of stream the client got {rest!r}, not b'bye': the protocol's "
            "eof_received returned True, which keeps the connection half-open for the answer it "
            "writes later; pass that value on to the transport"
        )
        await clients.until(lambda: calls and calls[-1].startswith("connection_lost"),
                            f"connection_lost did not reach the protocol (it got {calls})")
        want = ["connection_made", "data_received", "pause_writing", "resume_writing", "eof_received",
                "connection_lost(None)"]
        assert calls == want, (
            f"the protocol got {calls}, not {want}: every call the transport makes must reach it — "
            "flow control too: a protocol that never hears pause_writing() cannot stop writing"
        )
        clients.no_reports()

    loop.run_until_complete(main())


def test_serve_limited_closed_stays_closed(challenges, loop, clients):
    record = Record()
    server, address = limited(challenges, loop, clients, 1, lambda: Served(record))

    async def main():
        first, second = clients.connect_now(address), clients.connect_now(address)
        first.send(b"hello")
        await clients.until(lambda: unread(first), "the first client waited for its echo")
        server.close()  # the second client waits in a queue that is about to go
        waiting = asyncio.ensure_future(server.wait_closed())
        first.close()  # the last connection ends: wait_closed can return
        await clients.until(waiting.done, "wait_closed() did not return once the last connection was gone")
        await passes(QUIET)
        assert record.made == 1 and not server.is_serving(), (
            f"serve_limited made {record.made} connections, with one client served before close() "
            "and one waiting: a closed server accepts no more"
        )
        assert not clients.reports, (
            f"the loop's exception handler heard: {clients.reports} — a connection that ends after "
            "close() must not start accepting again on the closed listening socket"
        )
        assert not clients.server_sockets(), f"the closed server left sockets open: {clients.server_sockets()}"

    loop.run_until_complete(main())


# ── 2. chat_server ──────────────────────────────────────────────────────────

def chat(challenges, loop, clients):
    server = loop.run_until_complete(challenges.chat_server(loop, "127.0.0.1", 0))
    return clients.serving(server)


def said(client, line):
    """What the others receive when `client` sends `line`."""
    return b"%d: " % client.getsockname()[1] + line


async def settle_at_server(clients, client):
    """Until the server has read every byte `client` sent (then 10 passes more)."""
    fd = clients.transport_of(client).get_extra_info("socket").fileno()
    await clients.until(lambda: not unread(fd), "the server did not read what a client sent")
    await passes(10)


def test_chat_sends_each_line_to_every_other_client(challenges, loop, clients):
    address = chat(challenges, loop, clients)

    async def main():
        a, b, c = [await clients.connect(address) for _ in range(3)]
        a.send(b"hello\n")
        for other in (b, c):
            got = await clients.receive(other, len(said(a, b"hello\n")), "a client waited for a line")
            assert got == said(a, b"hello\n"), (
                f"a client received {got!r} when another sent b'hello\\n': every other client gets "
                f"{said(a, b'hello' + bytes([10]))!r} — b'%d: ' % port + the line, with the sender's "
                "port, its peername's on the server's side"
            )
        await clients.nothing_more(a, "the sender must not get its own line back")
        for piece in (b"wor", b"ld\nfoo\nba", b"r\n\n"):  # lines cut between reads, several in one
            b.send(piece)
            await settle_at_server(clients, b)
        want = b"".join(said(b, line) for line in (b"world\n", b"foo\n", b"bar\n", b"\n"))
        for other in (a, c):
            got = await clients.receive(other, len(want), "a client waited for four lines")
            assert got == want, (
                f"b'wor', b'ld\\nfoo\\nba' and b'r\\n\\n', in three reads, reached another client as "
                f"{got!r}, not {want!r}: a line is what comes up to a b'\\n', however the reads cut it"
            )
        await clients.nothing_more(b, "the sender must not get its own lines back")
        clients.no_reports()

    loop.run_until_complete(main())


def test_chat_forgets_a_client_that_leaves(challenges, loop, clients):
    address = chat(challenges, loop, clients)

    async def main():
        talker, listener, resetting, leaving = [await clients.connect(address) for _ in range(4)]
        gone = {"reset its connection": clients.transport_of(resetting),
                "closed its connection": clients.transport_of(leaving)}
        leaving.send(b"half a line")  # and no b"\n": not a line
        leaving.close()
        reset(resetting)
        await clients.until(lambda: all(t._sock is None for t in gone.values()),
                            "the server did not see two clients leave")
        talker.send(b"one\ntwo\n")
        want = said(talker, b"one\n") + said(talker, b"two\n")
        got = await clients.receive(listener, len(want), "a client waited for two lines")
        assert got == want, (
            f"a client received {got!r}, not {want!r}: an unterminated last line, when a client "
            "leaves, is not a line — sent, it would run into the next line the others receive"
        )
        await clients.nothing_more(listener, "nothing but those two lines should have come")
        for how, transport in gone.items():
            writes_after = transport._conn_lost - 1  # the transport counts the writes it dropped
            assert writes_after == 0, (
                f"the room wrote {writes_after} lines to a client that had {how}: remove a member "
                "in connection_lost, however the connection ended (a reset calls no eof_received); "
                "the transport drops such writes, and after five of them it starts to warn"
            )
        clients.no_reports()

    loop.run_until_complete(main())


def test_chat_drops_lines_for_a_slow_client(challenges, loop, clients):
    address = chat(challenges, loop, clients)
    lines = [b"%04d " % n + b"x" * 994 + b"\n" for n in range(2000)]  # 2 MB in all

    async def main():
        talker, fast = await clients.connect(address), await clients.connect(address)
        slow = await clients.connect(address, slow=True)
        slow_end = clients.transport_of(slow)
        # Small kernel buffers on the server's side too: what the kernel does not take waits
        # in the transport's buffer, where flow control can see it.
        slow_end.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
        stream = memoryview(b"".join(lines))
        want = b"".join(said(talker, line) for line in lines)
        sent, got, idle, most = 0, bytearray(), 0, 0
        while len(got) < len(want):
            moved = False
            try:
                if sent < len(stream):
                    sent += talker.send(stream[sent:sent + 16384])  # the others keep up with this
                    moved = True
            except BlockingIOError:
                pass
            try:
                got += fast.recv(1 << 20)
                moved = True
            except BlockingIOError:
                pass
            most = max(most, slow_end.get_write_buffer_size())
            idle = 0 if moved else idle + 1
            assert idle < PASSES, (
                f"the talker had sent {sent} of {len(stream)} bytes and another client had received "
                f"{len(got)} of {len(want)} when nothing moved for {PASSES} passes of the loop: a "
                f"slow client must hold up nobody — drop its lines, don't stop the room{clients.heard()}"
            )
            await asyncio.sleep(0)
        assert got == want, "a client that reads got the talker's 2000 lines changed, or out of order"
        high = slow_end.get_write_buffer_limits()[1]
        assert most <= high + len(want) // len(lines), (
            f"{most} bytes waited at once in the write buffer of a client that reads nothing (its "
            f"high-water mark is {high}): once its transport has called pause_writing(), drop the "
            "lines for it until resume_writing(), or a slow client fills the server's memory"
        )
        # The slow client reads at last: whole lines, in order, some of them missing.
        received, idle = bytearray(), 0
        while idle < 20 or slow_end.get_write_buffer_size():
            try:
                received += slow.recv(1 << 20)
                idle = 0
            except BlockingIOError:
                idle += 1
                assert idle < PASSES, "the slow client's lines stopped coming while it read"
            await asyncio.sleep(0)
        position = {said(talker, line): n for n, line in enumerate(lines)}
        kept = [position.get(message + b"\n") for message in bytes(received).split(b"\n")[:-1]]
        assert received.endswith(b"\n") and None not in kept, (
            "the slow client received broken lines: drop a line whole, never a part of one")
        assert kept == sorted(kept), "the slow client received the lines it kept out of order"
        assert len(kept) < len(lines), "the slow client got every line, though it read nothing for 2 MB"
        talker.send(b"after\n")
        why = "after resume_writing() a client gets the lines again"
        try:
            got = await clients.receive(slow, len(said(talker, b"after\n")), "the slow client, caught up, waited")
        except AssertionError as error:
            raise AssertionError(f"{error}: {why}") from None
        assert got == said(talker, b"after\n"), f"the slow client, caught up, received {got!r}: {why}"
        clients.no_reports()

    loop.run_until_complete(main())


# ── 3. handover ─────────────────────────────────────────────────────────────

class VirtualTimeLoop(eventloop.EventLoop):
    """The course's loop, real sockets, a virtual clock: an idle pass jumps to the next timer.

    `_wait(timeout)` is where the loop sleeps until a socket is ready or the
    next timer is due. Here it looks at the sockets without sleeping; if one
    is ready, the loop runs its callbacks at the same virtual time; if none is,
    the clock moves on by `timeout`. A wait with no timer at all would block a
    real loop for ever: here it fails the check.
    """

    MAX_PASSES = 100_000

    def __init__(self):
        self._now = 0.0  # before the loop's __init__, which may already read time()
        self.virtual_passes = 0
        super().__init__()
        self._clock_resolution = 1e-9

    def time(self):
        return self._now

    def _wait(self, timeout):
        eventloop.EventLoop._wait(self, 0)  # the sockets, as they are now
        if self._ready:
            return
        if timeout is None:
            raise AssertionError(
                "the loop would block for ever here: no socket ready, nothing to run, no timer. "
                "An await that nothing will ever wake (a wait_closed() for a connection that never "
                "ends?) hangs a real loop at this point")
        self._now += timeout

    def _run_once(self):
        self.virtual_passes += 1
        if self.virtual_passes > self.MAX_PASSES:
            raise AssertionError(f"the loop made {self.MAX_PASSES} passes without stopping: it is "
                                 f"spinning (at t={self._now:g})")
        eventloop.EventLoop._run_once(self)


@pytest.fixture
def virtual():
    """A VirtualTimeLoop, and Clients on it."""
    collecting = collector_off()
    loop = VirtualTimeLoop()
    made = Clients(loop)
    try:
        yield loop, made
    finally:
        try:
            made.clean_up()
        finally:
            try:
                loop.close()
            finally:
                loop._closed = True
                if collecting:
                    gc.enable()


class Session(asyncio.Protocol):
    """A client's session on a server: b"quit in N" ends it N seconds later; b"flood" fills it."""

    def __init__(self, server_name, sessions):
        self.server_name = server_name
        self.lost_at = None
        sessions.append(self)

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)

    def data_received(self, data):
        if data.startswith(b"quit in "):
            asyncio.get_running_loop().call_later(float(data[8:]), self.transport.close)
        elif data == b"flood":
            self.transport.write(b"f" * (1 << 20))  # the client reads none: stuck in the buffer
        else:
            self.transport.write(self.server_name + b": " + data)

    def connection_lost(self, exc):
        self.lost_at = asyncio.get_running_loop().time()


class Restart:
    """An old server with clients, and a new one on the same port, on the virtual loop."""

    def __init__(self, loop, clients):
        self.loop, self.clients = loop, clients
        self.old_sessions, self.new_sessions = [], []
        self.old = loop.run_until_complete(self.server(b"old", self.old_sessions, 0))
        self.address = clients.serving(self.old)

    async def server(self, name, sessions, port):
        return await self.loop.create_server(lambda: Session(name, sessions), "127.0.0.1", port,
                                             reuse_port=True)

    async def old_clients(self, *commands):
        """One client of the old server per command, each command received by its session."""
        socks = [await self.clients.connect(self.address, slow=True) for _ in commands]
        for sock, command in zip(socks, commands):
            sock.send(command)
            await settle_at_server(self.clients, sock)
        return socks

    async def start_new(self, port=None):
        self.new = await self.server(b"new", self.new_sessions, self.address[1] if port is None else port)
        self.clients.serving(self.new)
        return self.new

    async def hand_over(self, challenges, grace):
        """Run handover to its end (the check waits with the loop idle: time may jump).

        `still_connected` is what the old server's sessions were at the moment
        handover returned: how many had not had connection_lost yet.
        """
        async def handing_over():
            result = await challenges.handover(self.old, self.new, grace=grace)
            self.still_connected = sum(session.lost_at is None for session in self.old_sessions)
            return result

        began = self.loop.time()
        task = asyncio.ensure_future(handing_over())
        await asyncio.wait([task])
        return began, self.loop.time() - began, task

    async def served_by_new(self):
        client = self.clients.connect_now(self.address)
        client.send(b"ping")
        got = await self.clients.receive(client, 9, "a client connected after the handover waited")
        assert got == b"new: ping", (
            f"a client that connected after the handover got {got!r}: the new server serves it")


def test_handover_gives_the_clients_their_grace_period(challenges, virtual):
    loop, clients = virtual
    restart = Restart(loop, clients)

    async def main():
        await restart.old_clients(b"quit in 1", b"quit in 2", b"flood")  # the third never finishes
        await restart.start_new()
        began, took, task = await restart.hand_over(challenges, grace=5)
        assert not task.cancelled() and task.exception() is None, f"handover {outcome(task)}"
        assert task.result() == (2, 1), (
            f"handover returned {task.result()!r}: of three clients, two finished in their grace "
            "period (at 1 s and 2 s, of 5) and one was aborted — (finished, aborted) = (2, 1)"
        )
        lost = sorted(round(session.lost_at - began, 6) for session in restart.old_sessions
                      if session.lost_at is not None)
        assert lost == [1, 2, 5], (
            f"the old server's connections ended at {lost} s after handover began: the two that "
            "finish end at 1 s and 2 s, and the third is aborted when the grace period is over, at "
            "5 s — not sooner (abort at once, and no client can finish), and for certain (close() "
            "would wait for ever for a client that does not read what is buffered for it)"
        )
        assert round(took, 6) == 5, f"handover returned {took:g} s after it began, with grace=5"
        assert not restart.old.is_serving(), "after the handover the old server still accepts"
        await restart.served_by_new()
        clients.no_reports()

    loop.run_until_complete(main())


def test_handover_returns_when_the_last_client_has_finished(challenges, virtual):
    loop, clients = virtual
    restart = Restart(loop, clients)

    async def main():
        await restart.old_clients(b"quit in 1", b"quit in 2", b"quit in 0.5")
        await restart.start_new()
        began, took, task = await restart.hand_over(challenges, grace=10)
        assert not task.cancelled() and task.exception() is None, f"handover {outcome(task)}"
        assert task.result() == (3, 0), f"handover returned {task.result()!r}, not (3, 0)"
        assert round(took, 6) == 2, (
            f"handover returned {took:g} s after it began, when its three clients had all finished "
            "by 2 s (grace=10): return as soon as the last one is gone — a restart should not "
            "make everyone wait for the slowest possible client"
        )
        assert not restart.still_connected, "handover returned before its clients were gone"
        await restart.served_by_new()
        clients.no_reports()

    loop.run_until_complete(main())


def test_handover_waits_until_the_aborted_clients_are_gone(challenges, virtual):
    loop, clients = virtual
    restart = Restart(loop, clients)

    async def main():
        await restart.old_clients(b"flood", b"flood")
        await restart.start_new()
        began, took, task = await restart.hand_over(challenges, grace=3)
        assert not task.cancelled() and task.exception() is None, f"handover {outcome(task)}"
        assert not restart.still_connected, (
            f"when handover returned, {restart.still_connected} of the old server's 2 aborted "
            "connections had not called connection_lost yet: abort() schedules it, a pass of the "
            "loop later — wait for the old server's wait_closed() after abort_clients()"
        )
        assert (task.result(), round(took, 6)) == ((0, 2), 3), (
            f"handover returned {task.result()!r} after {took:g} s, not (0, 2) after 3 s")
        clients.no_reports()

    loop.run_until_complete(main())


def test_handover_refuses_a_new_server_elsewhere(challenges, virtual):
    loop, clients = virtual
    restart = Restart(loop, clients)

    async def main():
        await restart.old_clients(b"quit in 1")
        await restart.start_new(port=0)  # another port: the old one's clients would be refused
        began, took, task = await restart.hand_over(challenges, grace=5)
        assert not task.cancelled() and isinstance(task.exception(), ValueError), (
            f"handover to a server on another port {outcome(task)}: raise ValueError, and leave the "
            "old server as it was — closing it would leave nobody on its port"
        )
        assert restart.old.is_serving(), "the old server stopped serving"
        assert all(session.lost_at is None for session in restart.old_sessions) and took == 0, (
            "handover touched the old server's clients before it raised")
        client = clients.connect_now(restart.address)
        client.send(b"ping")
        assert await clients.receive(client, 9, "a new client of the old server waited") == b"old: ping"

    loop.run_until_complete(main())
