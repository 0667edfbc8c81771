"""Chapter 10 — Transports and protocols: reference solutions.

Spoilers. Try the challenges in `exercises/10-transports/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/10-transports/test_challenges.py`.
"""

import asyncio


# ── 1. A line protocol ────────────────────────────────────────────────────

class LineProtocol(asyncio.Protocol):
    def __init__(self, on_line):
        self._on_line = on_line
        # The start of a line whose b"\n" has not come yet. It holds no b"\n":
        # every complete line left it in the data_received that completed it.
        self._partial = bytearray()

    def data_received(self, data):
        buffer = self._partial
        search_from = len(buffer)  # the old bytes hold no b"\n": search only the new ones
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", search_from)) != -1:
            self._on_line(bytes(buffer[start:end + 1]))  # bytes: the caller may keep it
            start = search_from = end + 1
        del buffer[:start]

    def eof_received(self):
        if self._partial:
            rest = bytes(self._partial)
            self._partial.clear()
            self._on_line(rest)
        # None: the transport closes, as after asyncio.Protocol's eof_received.


# ── 2. Back-pressure you can await ────────────────────────────────────────

class Writer:
    def __init__(self, transport):
        self._transport = transport
        self._paused = False
        self._waiters = []  # a future per drain waiting for resume_writing()
        self._lost = False
        self._lost_with = None  # the exception connection_lost() was given, if any

    def write(self, data):
        self._transport.write(data)

    def _error(self):
        # A new ConnectionResetError each time, as asyncio's _drain_helper makes; the
        # connection's own error is the same object for everyone, as StreamWriter raises it.
        return self._lost_with if self._lost_with is not None else ConnectionResetError("Connection lost")

    async def drain(self):
        if self._lost:
            raise self._error()
        if not self._paused:
            return  # no await on this path: a fast connection never yields here
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            # Cancelled or not, this drain no longer waits: no one must set its future.
            self._waiters.remove(waiter)

    def pause_writing(self):
        self._paused = True

    def resume_writing(self):
        self._paused = False
        for waiter in self._waiters:
            if not waiter.done():  # a waiter cancelled in this very pass is done already
                waiter.set_result(None)

    def connection_lost(self, exc):
        self._lost, self._lost_with = True, exc
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(self._error())


# ── 3. Hardcore: a proxy ──────────────────────────────────────────────────

class _Side(asyncio.Protocol):
    """One end of a proxied connection; `peer` is the other end, once both exist."""

    def __init__(self, sides):
        self._sides = sides  # the proxy's live ends, for its cancellation
        self.transport = None
        self.peer = None
        self.ended = False  # this side's peer has ended its stream

    def connection_made(self, transport):
        self.transport = transport
        self._sides.add(self)
        # No reading before the other side exists: its bytes would have nowhere to go.
        # (Paused inside connection_made, the transport does not even start reading.)
        transport.pause_reading()

    def data_received(self, data):
        self.peer.transport.write(data)

    def eof_received(self):
        self.ended = True
        if not self.peer.ended:
            self.peer.transport.write_eof()
            return True  # half-closed: the other direction goes on
        self.peer.transport.close()  # both directions have ended
        return False  # and this transport closes itself

    # The peer reads too slowly: stop taking what would be written to it.
    def pause_writing(self):
        self.peer.transport.pause_reading()

    def resume_writing(self):
        self.peer.transport.resume_reading()

    def connection_lost(self, exc):
        self._sides.discard(self)
        if self.peer is not None:
            self.peer.transport.close()  # a no-op if it is closing already


async def _connect(loop, conn, target_address, sides):
    """Pair the accepted socket `conn` with a new connection to the target."""
    client, target = _Side(sides), _Side(sides)
    try:
        await loop.create_connection(lambda: target, *target_address)
    except OSError:
        conn.close()  # the target cannot be reached: so the client learns it
        return
    except BaseException:
        conn.close()
        raise
    try:
        await loop.connect_accepted_socket(lambda: client, conn)
    except BaseException:
        target.transport.abort()
        if client.transport is None:
            conn.close()
        raise
    client.peer, target.peer = target, client
    if client.transport.is_closing() or target.transport.is_closing():
        client.transport.close()  # one end went while the other was being made
        target.transport.close()
        return
    client.transport.resume_reading()
    target.transport.resume_reading()


async def proxy(loop, listen_sock, target_address):
    sides = set()
    try:
        # A task per connection being made, so that a slow target holds up no one; the
        # group cancels those still being made when the proxy is cancelled.
        async with asyncio.TaskGroup() as connecting:
            while True:
                conn, _ = await loop.sock_accept(listen_sock)
                connecting.create_task(_connect(loop, conn, target_address, sides))
    finally:
        for side in list(sides):
            side.transport.abort()
