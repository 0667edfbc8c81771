"""Chapter 11 — Servers: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 11

(That runs `python -m pytest -q exercises --chapter 11`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/11_servers.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package, with
real sockets. What chapter 11 built, and these challenges may use:

* `await loop.create_server(protocol_factory, host, port, *, reuse_port=None,
  backlog=100, start_serving=True)` returns a `Server`: `server.sockets`
  (asyncio's `TransportSocket` wrappers: `getsockname()`, `fileno()`),
  `is_serving()`, `close()` (stop listening; the connections stay),
  `await wait_closed()` (until closed *and* every connection is gone),
  `close_clients()` and `abort_clients()` (3.13's; the course's Server has
  them on every Python).
* Its internals, named as in asyncio: `server._sockets`, the listening
  sockets themselves (the wrappers have no `accept()`); `server._clients`, a
  `weakref.WeakSet` of the transports accepted and not yet lost (a transport
  leaves it when it calls `connection_lost`); `server._start_serving()`,
  which calls `listen()` and registers the loop's accept loop.
* The accept loop, `loop._accept_connection`: each time a listening socket
  is readable it accepts *every* connection waiting — up to `backlog` — and
  makes a transport for each with
  `loop._make_socket_transport(conn, protocol, extra={"peername": address},
  server=server)`, which attaches it to the server. It is the reader of the
  listening socket: `loop.add_reader(sock.fileno(), callback, *args)` puts
  another in its place, `loop.remove_reader(sock.fileno())` removes it.
* From chapter 10: protocols and transports (`write`, `close`, `abort`,
  `get_extra_info("peername")`, `pause_writing()`/`resume_writing()` when
  the write buffer passes 64 KiB / drains to 16 KiB).
"""

import asyncio


# ── 1. A limited server ───────────────────────────────────────────────────

async def serve_limited(loop, protocol_factory, host, port, max_clients):
    """Serve on `host`:`port`, never more than `max_clients` connections at once; return the Server.

    Return a serving Server (one `loop.create_server` made). While it has
    `max_clients` connections it accepts none — the clients that connect
    meanwhile wait in the listening socket's queue, in the kernel — and it
    accepts again when one of them ends, however it ends: the client closes,
    your protocol closes it, a reset.

    * The limit holds for clients that arrive together too: five connecting
      at once, with `max_clients=2`, get two connections, and the three
      others wait for them.
    * `protocol_factory()` makes an `asyncio.Protocol`; each one must get
      every call its transport makes — `connection_made`, `data_received`,
      `eof_received` (and what it returns matters: True keeps the
      connection half-open), `pause_writing`, `resume_writing`,
      `connection_lost` — as if the server were `loop.create_server`'s.
    * Once the server is closed (`server.close()`) it stays closed: a
      connection that ends afterwards starts no accepting, and
      `wait_closed()` returns once the last connection is gone.

    The checks count the server's sockets in `/proc/self/fd` (so they run on
    Linux).

    Hint: the accept loop takes all the connections that wait, so a
    protocol factory that stops it when the limit is reached stops it too
    late. Accept yourself: a reader of your own on each of `server._sockets`
    that accepts only while there is room, and a protocol wrapped in one of
    yours that passes every call on and frees the room in `connection_lost`.
    """
    raise NotImplementedError("challenge 1: write serve_limited(loop, protocol_factory, host, port, max_clients)")


# ── 2. A chat room ────────────────────────────────────────────────────────

async def chat_server(loop, host, port):
    """A chat room on `host`:`port`: return the Server.

    * Each line a client sends — the bytes up to and including a `b"\\n"`,
      however they are split across reads — goes to every *other* connected
      client, as `b"%d: " % port + line`, where `port` is the sender's (its
      peername's, as the server sees it): `b"40312: hello\\n"`. The sender
      does not get its own line. An unterminated last line, when a client
      leaves, is not sent.
    * A client that leaves — it closes its connection, or resets it — is
      removed from the room: nothing is written to it afterwards.
    * A slow client — one whose transport has called `pause_writing()` —
      has the lines for it dropped, whole, until `resume_writing()`; the
      others get every line, and nobody waits for it.

    The checks look at each client's transport on the server's side through
    the loop's registry of transports (`loop._transports`): the size of its
    write buffer, and how many writes it got after its connection was lost.
    """
    raise NotImplementedError("challenge 2: write chat_server(loop, host, port)")


# ── 3. Hardcore: graceful restart ─────────────────────────────────────────

async def handover(old_server, new_server, *, grace=10.0):
    """Hand `old_server`'s port over to `new_server`; give `old_server`'s clients `grace` seconds.

    `new_server` must be serving on every address `old_server` listens on —
    both made with `reuse_port=True`, which lets them listen on one port at
    the same time — or `handover` raises ValueError and leaves `old_server`
    as it was.

    Then `old_server` stops accepting (`close()`): from now on new
    connections go to `new_server`. The clients `old_server` has have
    `grace` seconds to finish (their connections to end, however they end);
    those still connected then are aborted. Return `(finished, aborted)`:
    how many of the clients `old_server` had when `handover` began ended
    within the grace period, and how many were aborted. When `handover`
    returns, every one of them is gone (its `connection_lost` has been
    called); and it returns as soon as that is so — if they all finish in
    one second, `handover` takes one second, not `grace`.

    (Linux resets the connections already waiting in `old_server`'s queue,
    not yet accepted, when it closes: `net.ipv4.tcp_migrate_req` is 0 by
    default. The checks have none.)

    The checks run `handover` on a loop with a virtual clock and real
    sockets: when no socket is ready, time jumps to the next timer, so a
    grace period costs no real time.

    Hint: `old_server._clients`, `asyncio.timeout(grace)` around
    `old_server.wait_closed()`, then `abort_clients()`.
    """
    raise NotImplementedError("challenge 3: write handover(old_server, new_server, *, grace=10.0)")
