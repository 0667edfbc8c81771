"""Chapter 11 — Servers: reference solutions.

Spoilers. Try the challenges in `exercises/11-servers/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/11-servers/test_challenges.py`.
"""

import asyncio
import errno
from asyncio.trsock import TransportSocket

# The accept errors that mean "out of resources", as the loop's accept loop treats them.
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


# ── 1. A limited server ───────────────────────────────────────────────────

class _Counted(asyncio.Protocol):
    """The caller's protocol, every call passed on; the server hears when the connection ends."""

    def __init__(self, protocol, ended):
        self._protocol = protocol
        self._ended = ended

    def connection_made(self, transport):
        self._protocol.connection_made(transport)

    def data_received(self, data):
        self._protocol.data_received(data)

    def eof_received(self):
        return self._protocol.eof_received()  # True keeps the connection half-open

    def pause_writing(self):
        self._protocol.pause_writing()

    def resume_writing(self):
        self._protocol.resume_writing()

    def connection_lost(self, exc):
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._ended()  # however the connection ended, and whatever the protocol did


async def serve_limited(loop, protocol_factory, host, port, max_clients):
    server = await loop.create_server(protocol_factory, host, port, start_serving=False)
    listeners = list(server._sockets)
    connections = 0

    def accept(sock):
        nonlocal connections
        # The loop's accept loop would take every connection waiting; this one takes
        # only as many as there is room for, and leaves the others in the kernel's queue.
        while connections < max_clients:
            try:
                conn, address = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                             "exception": exc, "socket": TransportSocket(sock)})
                stop()  # as the accept loop does: stand aside for a second, then try again
                loop.call_later(1, start)
                return
            conn.setblocking(False)
            try:
                protocol = _Counted(protocol_factory(), ended)
            except BaseException:
                conn.close()
                raise
            connections += 1
            loop._make_socket_transport(conn, protocol, extra={"peername": address}, server=server)
        stop()

    def ended():
        nonlocal connections
        connections -= 1
        if connections == max_clients - 1:
            start()

    def start():
        if server.is_serving():  # not after close(): its sockets are closed
            for sock in listeners:
                loop.add_reader(sock.fileno(), accept, sock)

    def stop():
        for sock in listeners:
            loop.remove_reader(sock.fileno())

    # listen(), and is_serving() from now on, so that serve_forever() starts nothing
    # more; in the same pass, our reader takes the place of the accept loop.
    server._start_serving()
    start()
    return server


# ── 2. A chat room ────────────────────────────────────────────────────────

class _Member(asyncio.Protocol):
    """A client in the room; `members` is the room, shared by every member."""

    def __init__(self, members):
        self.members = members

    def connection_made(self, transport):
        self.transport = transport
        self.prefix = b"%d: " % transport.get_extra_info("peername")[1]
        self.partial = bytearray()  # the start of a line whose b"\n" has not come yet
        self.paused = False
        self.members.add(self)

    def data_received(self, data):
        buffer = self.partial
        search_from = len(buffer)
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", search_from)) != -1:
            self.say(self.prefix + buffer[start:end + 1])
            start = search_from = end + 1
        del buffer[:start]

    def say(self, message):
        for member in self.members:
            # A paused member's buffer is past its high-water mark: a line written now
            # would wait in memory for a reader that may never come. Drop it, whole.
            if member is not self and not member.paused:
                member.transport.write(message)

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False

    def connection_lost(self, exc):
        self.members.discard(self)  # however it ended: eof_received alone misses a reset


async def chat_server(loop, host, port):
    members = set()
    return await loop.create_server(lambda: _Member(members), host, port)


# ── 3. Hardcore: graceful restart ─────────────────────────────────────────

async def handover(old_server, new_server, *, grace=10.0):
    old = {sock.getsockname() for sock in old_server.sockets}
    new = {sock.getsockname() for sock in new_server.sockets}
    if not old or not new_server.is_serving() or not old <= new:
        raise ValueError(f"{new_server!r} is not serving on every address of {old_server!r}")
    clients = set(old_server._clients)  # strong references: the WeakSet alone could lose them
    old_server.close()
    try:
        async with asyncio.timeout(grace):
            await old_server.wait_closed()
    except TimeoutError:
        pass
    stragglers = len(old_server._clients)
    old_server.abort_clients()
    await old_server.wait_closed()  # an abort calls connection_lost a pass later
    return len(clients) - stragglers, stragglers
