"""Chapter 9 — Low-level sockets: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 9

(That runs `python -m pytest -q exercises --chapter 9`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/09_sockets.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package, with
real sockets. What chapter 9 built, and these challenges may use (every socket
must be non-blocking, or the loop refuses it with ValueError):

* `await loop.sock_recv(sock, n)`: at most `n` bytes, whatever has arrived —
  a message may come in several pieces, or several messages in one — and
  `b""` at the end of the stream (the other end closed or shut down its
  writing side). `await loop.sock_recv_into(sock, buf)` receives into a
  writable buffer (a `bytearray`, or a `memoryview` slice of one, to fill it
  from the middle) and returns how many bytes it wrote, 0 at the end.
* `await loop.sock_sendall(sock, data)`: returns once every byte of `data`
  is in the kernel's hands, however many `send` calls that took.
* `await loop.sock_accept(sock)`: the next connection waiting on a listening
  socket, `(conn, address)`, with `conn` already non-blocking. Until it is
  accepted, a client that connects waits in the listening socket's backlog,
  in the kernel.
* `await loop.sock_connect(sock, address)`.
* Each of them, cancelled while it waits (by `asyncio.timeout`, say), leaves
  no reader or writer behind on the loop.
* From earlier chapters: tasks, `asyncio.TaskGroup`, `asyncio.Semaphore`,
  cancellation and `try`/`finally`.
"""

import asyncio


# ── 1. Exactly n bytes ────────────────────────────────────────────────────

async def recv_exactly(loop, sock, n):
    """Receive exactly `n` bytes from `sock`, however the peer's data is split; return them as bytes.

    If the connection ends first, raise `asyncio.IncompleteReadError(partial,
    n)`, with `partial` the bytes that did arrive (bytes, as
    `asyncio.StreamReader.readexactly` has it). Zero bytes is `b""`, at once.

    Take no byte after the `n`-th out of the socket: they belong to whoever
    reads next. Hint: a `bytearray(n)`, a `memoryview` of it, and
    `loop.sock_recv_into(sock, view[got:])` until it is full.
    """
    raise NotImplementedError("challenge 1: write recv_exactly(loop, sock, n)")


# ── 2. A buffered reader ──────────────────────────────────────────────────

class Reader:
    """A buffered reader on a non-blocking socket, like `asyncio.StreamReader` on a connection.

    `await reader.readuntil(separator)` returns the bytes up to and including
    the separator — even one split across two receives — and keeps what came
    after it for the next call; `await reader.readexactly(n)` reads from the
    same buffer. More than `limit` bytes without a separator raise
    `asyncio.LimitOverrunError`, with the data still buffered; the end of the
    stream raises `asyncio.IncompleteReadError`, as `asyncio.StreamReader`
    does. In detail, as StreamReader (Lib/asyncio/streams.py):

    * The limit counts the bytes before the separator: a line of `limit` bytes
      and its separator is returned. A separator that starts after more than
      `limit` bytes, or a buffer without a separator in which more than
      `limit` bytes cannot be the start of one still on its way
      (`len(buffer) - len(separator) + 1 > limit`), raises
      `LimitOverrunError(message, consumed)` at once, without waiting for
      more, and leaves the buffer as it is. `consumed` is that position:
      where the separator starts, or `len(buffer) - len(separator) + 1`.
      `readexactly` has no limit.
    * At the end of the stream, `IncompleteReadError(partial, expected)`:
      `partial` is everything left in the buffer (bytes), `expected` is `n`
      for readexactly and None for readuntil. The buffer is then empty, and a
      later readuntil, or readexactly of one byte or more, raises it again
      with `partial=b""`.
    * A read cancelled while it waits (by `asyncio.timeout`, say) leaves the
      bytes it had received in the buffer, for the next read.

    The checks run every scenario with asyncio.StreamReader too and compare.

    Hint: after a receive, a separator may end in the new bytes and start in
    the last `len(separator) - 1` of the old ones; search from there.
    """

    def __init__(self, loop, sock, limit=65536):
        raise NotImplementedError("challenge 2: write Reader")

    async def readuntil(self, separator=b"\n"):
        raise NotImplementedError("challenge 2: write Reader.readuntil")

    async def readexactly(self, n):
        raise NotImplementedError("challenge 2: write Reader.readexactly")


# ── 3. Hardcore: an echo server with a limit ──────────────────────────────

async def serve_echo(loop, sock, *, max_connections, echoed):
    """Echo every byte each client sends on the listening socket `sock`, until cancelled.

    Only `loop.sock_accept`, `loop.sock_recv` and `loop.sock_sendall` calls:
    one task per connection, closing it when its client's stream ends.

    * Serve at most `max_connections` clients at once; the others wait in the
      listening socket's backlog — so don't accept a connection you cannot
      serve yet (an accepted socket holds a file descriptor and buffers,
      however long it waits for its turn).
    * Count the bytes echoed in `echoed[0]` (a list of one int), as they are
      sent back: the count is read while the server runs.
    * Cancelled, close every connection you accepted before the cancellation
      comes through — no file descriptor left open (the checks count them in
      `/proc/self/fd`) — and let the cancellation through: whoever cancelled
      the server must see it cancelled, not finished.

    Hint: an `asyncio.Semaphore(max_connections)`, and an `asyncio.TaskGroup`.
    """
    raise NotImplementedError("challenge 3: write serve_echo(loop, sock, *, max_connections, echoed)")
