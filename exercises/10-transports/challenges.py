"""Chapter 10 — Transports and protocols: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 10

(That runs `python -m pytest -q exercises --chapter 10`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/10_transports.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package, with
real sockets; it should run unchanged on asyncio's own loop. What chapter 10
built, and these challenges may use:

* A protocol (subclass `asyncio.Protocol`) is called by its transport:
  `connection_made(transport)` first; `data_received(data)` with whatever
  one `recv` returned — a message may come in several pieces, or several
  messages in one; `eof_received()` when the peer has ended its stream (a
  true return value keeps the connection open for writing, half-closed;
  anything else closes it); `connection_lost(exc)` exactly once, last (exc
  is None, or the error that ended the connection). And, for flow control,
  `pause_writing()` when the transport's write buffer has grown past its
  high-water mark (64 KiB), `resume_writing()` when it has drained to the
  low-water mark (16 KiB) or below.
* The transport: `write(data)` (never blocks: what the kernel does not take
  is buffered), `write_eof()` (our sending half ends once the buffer is sent;
  the peer may still send), `close()` (reading stops; the buffer is sent,
  then the connection closes), `abort()` (closes now; the buffer is lost),
  `pause_reading()` / `resume_reading()` / `is_reading()`,
  `get_write_buffer_size()`, `is_closing()`, and `get_extra_info("peername")`.
* `await loop.create_connection(protocol_factory, host, port)` connects and
  returns `(transport, protocol)`, once `connection_made` has run; it raises
  OSError (ConnectionRefusedError, say) if it cannot connect.
* `await loop.connect_accepted_socket(protocol_factory, sock)` does the same
  for a socket that is connected already, one `loop.sock_accept` returned.
  (Chapter 11 brings `create_server`; here a server is a loop of
  `sock_accept` calls, as in chapter 9.)
"""

import asyncio


# ── 1. A line protocol ────────────────────────────────────────────────────

class LineProtocol(asyncio.Protocol):
    """A protocol that calls `on_line(line)` once per line the peer sends.

    * A line is the bytes up to and including a `b"\\n"` (so `b"\\r\\n"` ends
      one too, with its `b"\\r"` kept), handed to `on_line` as `bytes`, in the
      order they came — however the bytes are split across `data_received`
      calls: a line may come in several pieces, several lines in one.
    * At the end of the stream (`eof_received`), an unterminated last line,
      if there is one, goes to `on_line` too, once. If the stream ended with
      `b"\\n"`, or was empty, there is no such call: `on_line` never gets `b""`.

    What arrives is what `asyncio.StreamReader.readline()` would return, one
    line per call, before it returns `b""`; the checks compare.
    """

    def __init__(self, on_line):
        raise NotImplementedError("challenge 1: write LineProtocol")

    def data_received(self, data):
        raise NotImplementedError("challenge 1: write LineProtocol.data_received")

    def eof_received(self):
        raise NotImplementedError("challenge 1: write LineProtocol.eof_received")


# ── 2. Back-pressure you can await ────────────────────────────────────────

class Writer:
    """Writes to `transport`; `await writer.drain()` waits while the transport has paused writing.

    The transport calls its *protocol*, not the writer: the connection's
    protocol forwards three of its calls to the writer, which has methods of
    the same names — `pause_writing()`, `resume_writing()` and
    `connection_lost(exc)`. (asyncio splits the work the same way: its
    StreamWriter.drain awaits a helper of the protocol, FlowControlMixin.)
    The checks make the writer as soon as `connect_accepted_socket` returns,
    with such a protocol.

    * `write(data)` writes `data` to the transport.
    * `await drain()` returns at once — without suspending, so that a loop of
      `write(...); await drain()` costs nothing on a fast connection — unless
      the transport has called `pause_writing()`; then it waits, and returns
      when `resume_writing()` comes. Any number of tasks may wait in `drain()`
      at once: `resume_writing()` wakes them all. A drain cancelled while it
      waits (by `asyncio.timeout`, say) leaves nothing behind that a later
      `resume_writing()` or `connection_lost()` trips over.
    * Once `connection_lost(exc)` has been called, `drain()` raises — a drain
      that was waiting, and every drain after: `exc` if it is an exception,
      else `ConnectionResetError("Connection lost")`.

    That is asyncio.StreamWriter.drain, with one difference: a drain that is
    waiting when the connection ends without an error — the transport was
    aborted, `connection_lost(None)` — returns there, as if the bytes had been
    sent (FlowControlMixin.connection_lost, 3.11–3.13); yours raises
    ConnectionResetError, because they were not. The checks run the other
    scenarios with StreamWriter too and compare.

    Hint: a list of futures, one per waiting drain; `resume_writing` sets the
    result of each that is not done yet.
    """

    def __init__(self, transport):
        raise NotImplementedError("challenge 2: write Writer")

    def write(self, data):
        raise NotImplementedError("challenge 2: write Writer.write")

    async def drain(self):
        raise NotImplementedError("challenge 2: write Writer.drain")

    def pause_writing(self):
        raise NotImplementedError("challenge 2: write Writer.pause_writing")

    def resume_writing(self):
        raise NotImplementedError("challenge 2: write Writer.resume_writing")

    def connection_lost(self, exc):
        raise NotImplementedError("challenge 2: write Writer.connection_lost")


# ── 3. Hardcore: a proxy ──────────────────────────────────────────────────

async def proxy(loop, listen_sock, target_address):
    """Forward every connection made to `listen_sock` to `target_address`, both ways, until cancelled.

    For each connection `await loop.sock_accept(listen_sock)` returns, open one
    to `target_address` (a `(host, port)` pair) with `loop.create_connection`,
    make the accepted socket a transport with `loop.connect_accepted_socket`,
    and forward what each side sends to the other, unchanged and in order.
    One connection must not hold up the others, nor the accepting.

    * Flow control: when one side's transport calls `pause_writing()` (its
      peer reads more slowly than the other side sends), pause reading the
      other side, and resume it at `resume_writing()`. The proxy then holds
      no more than about a high-water mark and one read per direction,
      however fast one side sends and however slowly the other reads.
    * Half-close: when one side ends its stream (`eof_received`), end the
      other side's with `write_eof()`, and keep the connection open for the
      other direction. When both directions have ended, close both
      transports. When one side is lost otherwise (a reset, an error),
      close the other.
    * Data a client sends at once, before the connection to the target is
      made, must reach the target too.
    * If the target cannot be reached (`create_connection` raises OSError),
      close the client's connection, and go on serving the others.
    * Cancelled, stop accepting, abort both transports of every connection
      (and close a client socket accepted but not yet a transport), and let
      the cancellation through; their sockets close as the transports call
      `connection_lost`, a pass of the loop later. `listen_sock` is the
      caller's: leave it open.

    The checks count the proxy's sockets in `/proc/self/fd` (so they run on
    Linux) and look at its transports' `is_reading()` and
    `get_write_buffer_size()`.

    Hint: one protocol class for both sides, each instance knowing its
    `peer`; the target's first, so that the client's transport starts
    reading only once there is somewhere to send its bytes.
    """
    raise NotImplementedError("challenge 3: write proxy(loop, listen_sock, target_address)")
