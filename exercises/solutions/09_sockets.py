"""Chapter 9 — Low-level sockets: reference solutions.

Spoilers. Try the challenges in `exercises/09-sockets/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/09-sockets/test_challenges.py`.
"""

import asyncio

# How much one receive asks for: asyncio's stream transports read up to 256 KiB;
# 64 KiB keeps a Reader's buffer within a few receives of its limit.
_CHUNK = 65536


# ── 1. Exactly n bytes ────────────────────────────────────────────────────

async def recv_exactly(loop, sock, n):
    buffer = bytearray(n)
    view = memoryview(buffer)
    got = 0
    while got < n:
        # Into the rest of the buffer: never more than is missing, so the bytes after
        # the n-th stay in the socket for whoever reads next.
        count = await loop.sock_recv_into(sock, view[got:])
        if count == 0:
            raise asyncio.IncompleteReadError(bytes(view[:got]), n)
        got += count
    return bytes(buffer)


# ── 2. A buffered reader ──────────────────────────────────────────────────

class Reader:
    def __init__(self, loop, sock, limit=65536):
        self._loop = loop
        self._sock = sock
        self._limit = limit
        # Received and not yet returned. It lives on the reader, not in a local of
        # readuntil: a read that is cancelled half-way leaves its bytes for the next one.
        self._buffer = bytearray()
        self._eof = False

    async def _receive(self):
        """Add what arrives to the buffer; False once the stream has ended."""
        if self._eof:
            return False
        data = await self._loop.sock_recv(self._sock, _CHUNK)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def _incomplete(self, expected):
        # As StreamReader: the error carries what was buffered, and the buffer empties.
        partial = bytes(self._buffer)
        self._buffer.clear()
        return asyncio.IncompleteReadError(partial, expected)

    async def readuntil(self, separator=b"\n"):
        if not separator:
            raise ValueError("Separator should be at least one-byte string")
        offset = 0  # the buffer before `offset` holds no start of a separator
        while True:
            index = self._buffer.find(separator, offset)
            if index != -1:
                break
            # The last len(separator) - 1 bytes may be the start of a separator whose
            # end is still on its way: search them again after the next receive.
            offset = max(0, len(self._buffer) + 1 - len(separator))
            if offset > self._limit:
                raise asyncio.LimitOverrunError(
                    "Separator is not found, and chunk exceed the limit", offset)
            if not await self._receive():
                raise self._incomplete(None)
        if index > self._limit:
            raise asyncio.LimitOverrunError("Separator is found, but chunk is longer than limit", index)
        end = index + len(separator)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    async def readexactly(self, n):
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        while len(self._buffer) < n:
            if not await self._receive():
                raise self._incomplete(n)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data


# ── 3. Hardcore: an echo server with a limit ──────────────────────────────

async def serve_echo(loop, sock, *, max_connections, echoed):
    slots = asyncio.Semaphore(max_connections)

    async def echo(conn):
        try:
            with conn:  # closed however the connection ends, cancellation included
                while data := await loop.sock_recv(conn, _CHUNK):
                    await loop.sock_sendall(conn, data)
                    echoed[0] += len(data)
        except ConnectionError:
            pass  # a client that resets ends its own connection, not the server
        finally:
            slots.release()

    # The group's tasks are the server's connections: cancelling serve_echo cancels
    # them, waits until each has closed its socket, and then lets the cancellation out.
    async with asyncio.TaskGroup() as connections:
        while True:
            # The slot before the accept: while none is free, the clients that connect
            # wait in the listening socket's backlog, in the kernel, not in this program.
            await slots.acquire()
            conn, _ = await loop.sock_accept(sock)
            connections.create_task(echo(conn))
