"""Chapter 11: servers (create_server, the Server object, connect_accepted_socket) and Unix sockets.

Most scenarios run on asyncio's loop and ours (`loops.compare`) and must tell
the same story. Where asyncio changed between 3.11 and 3.13 (what wait_closed
waits for, whether a Unix server removes its socket file, the wording of a bind
error), the expected trace says which version does what: ours must behave as
the Python it runs on.
"""
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
from _transports import Recorder, attempt, fill, listening_socket, needs_ipv6, open_fds, receive_all, run

CHAPTER = 11

PY313 = sys.version_info >= (3, 13)


# ---------------------------------------------------------------- helpers


def recording(protocols):
    """A protocol factory that keeps each Recorder it makes, in order."""

    def factory():
        protocols.append(Recorder())
        return protocols[-1]

    return factory


async def accepted(protocols, count=1):
    """The server's transports for its first `count` connections (a client's connect ends before the accept)."""
    while len(protocols) < count:
        await asyncio.sleep(0)
    return [await protocol.made for protocol in protocols[:count]]


async def raw_client(loop, address, family=socket.AF_INET):
    client = socket.socket(family, socket.SOCK_STREAM)
    client.setblocking(False)
    await loop.sock_connect(client, address)
    return client


def address_of(server):
    return server.sockets[0].getsockname()


def unix_folder():
    """A short temporary folder: a Unix socket's path must fit in 108 bytes."""
    return tempfile.TemporaryDirectory(prefix="el-")


def option(sock, name, level=socket.SOL_SOCKET):
    return sock.getsockopt(level, name) != 0


# ---------------------------------------------------------------- create_server


def passive_addresses(hosts, family):
    """What create_server should bind: each address getaddrinfo gives for the hosts, once."""
    infos = {info for host in hosts for info in socket.getaddrinfo(
        host, 0, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)}
    return sorted((info[0].name, info[4][0], True) for info in infos)


@pytest.mark.parametrize("host, family, hosts", [
    (None, socket.AF_UNSPEC, [None]), ("", socket.AF_UNSPEC, [None]), (None, socket.AF_INET, [None]),
    ("127.0.0.1", socket.AF_UNSPEC, ["127.0.0.1"]),
    pytest.param(["127.0.0.1", "::1"], socket.AF_UNSPEC, ["127.0.0.1", "::1"], marks=needs_ipv6),
    (["127.0.0.1", "localhost", "127.0.0.1"], socket.AF_UNSPEC, ["127.0.0.1", "localhost"]),
], ids=["None", "empty", "None-AF_INET", "127.0.0.1", "two-hosts", "one-host-thrice"])
def test_create_server_binds_each_address_once(loops, host, family, hosts):
    async def scenario():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, host, 0, family=family)
        sockets = server.sockets
        trace = [sorted((s.family.name, s.getsockname()[0], s.getsockname()[1] > 0) for s in sockets),
                 {type(s).__name__ for s in sockets},
                 # An IPv6 socket does not also take IPv4's connections: that is the IPv4 socket's job.
                 [option(s, socket.IPV6_V6ONLY, socket.IPPROTO_IPV6) for s in sockets if s.family == socket.AF_INET6],
                 server.is_serving(), server.get_loop() is loop]
        server.close()
        await server.wait_closed()
        trace += [server.sockets, server.is_serving()]
        return trace

    bound = passive_addresses(hosts, family)
    assert loops.compare(lambda loop: run(loop, scenario())) == [
        bound, {"TransportSocket"}, [True] * sum(name == "AF_INET6" for name, _, _ in bound), True, True, (), False,
    ]


def test_create_server_socket_options(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        for kwargs in [{}, dict(reuse_address=False), dict(reuse_port=True)]:
            server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, **kwargs)
            [sock] = server.sockets
            trace.append((option(sock, socket.SO_REUSEADDR), option(sock, socket.SO_REUSEPORT)))
            if kwargs.get("reuse_port"):  # a second server may share the port
                twin = await loop.create_server(asyncio.Protocol, *address_of(server), reuse_port=True)
                trace.append(address_of(twin) == address_of(server))
                twin.close()
            else:  # but not without it
                port = str(address_of(server)[1])
                kind, message = await attempt(loop.create_server(asyncio.Protocol, *address_of(server)))
                trace.append((kind, message.replace(port, "PORT")))
            server.close()
        return trace

    why = "[errno 98] address already in use" if PY313 else "address already in use"
    in_use = ("OSError", f"[Errno 98] error while attempting to bind on address ('127.0.0.1', PORT): {why}")
    assert loops.compare(lambda loop: run(loop, scenario())) == [
        (True, False), in_use, (False, False), in_use, (True, True), True,
    ]


@pytest.mark.skipif(not PY313, reason="keep_alive is new in Python 3.13")
def test_keep_alive(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        for keep_alive in (None, True):
            protocols = []
            server = await loop.create_server(recording(protocols), "127.0.0.1", 0, keep_alive=keep_alive)
            client = await raw_client(loop, address_of(server))
            [transport] = await accepted(protocols)
            trace.append((option(server.sockets[0], socket.SO_KEEPALIVE),
                          option(transport.get_extra_info("socket"), socket.SO_KEEPALIVE)))
            client.close()
            await protocols[0].lost
            server.close()
            await server.wait_closed()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [(False, False), (True, True)]


def test_create_server_refuses_bad_arguments(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        with socket.socket() as stream, socket.socket(type=socket.SOCK_DGRAM) as datagram:
            for kwargs in [dict(host="127.0.0.1", port=0, sock=stream), dict(port=0, sock=stream), {},
                           dict(sock=datagram), dict(host="127.0.0.1", port=0, ssl=True),
                           dict(host="127.0.0.1", port=0, ssl_handshake_timeout=1),
                           dict(host="127.0.0.1", port=0, ssl_shutdown_timeout=1)]:
                kind, message = await attempt(loop.create_server(asyncio.Protocol, **kwargs))
                trace.append((kind, message.replace(repr(datagram), "SOCKET")))
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        ("ValueError", "host/port and sock can not be specified at the same time"),
        ("ValueError", "host/port and sock can not be specified at the same time"),
        ("ValueError", "Neither host/port nor sock were specified"),
        ("ValueError", "A Stream Socket was expected, got SOCKET"),
        ("TypeError", "ssl argument must be an SSLContext or None"),
        ("ValueError", "ssl_handshake_timeout is only meaningful with ssl"),
        ("ValueError", "ssl_shutdown_timeout is only meaningful with ssl"),
    ]


def test_create_server_on_a_sock_it_is_given(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound, not listening: the server makes it listen
        protocols = []
        server = await loop.create_server(recording(protocols), sock=sock)
        trace = [address_of(server) == sock.getsockname(), sock.gettimeout()]
        client = await raw_client(loop, sock.getsockname())
        await accepted(protocols)
        await loop.sock_sendall(client, b"hello")
        client.shutdown(socket.SHUT_WR)
        await protocols[0].lost
        trace.append(protocols[0].trace)
        client.close()
        server.close()
        trace.append(sock.fileno())  # closing the server closed its socket
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, 0.0, ["connection_made", ("data", 5), "eof_received", ("connection_lost", None)], -1,
    ]


def test_start_serving_later(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        protocols = []
        server = await loop.create_server(recording(protocols), "127.0.0.1", 0, start_serving=False)
        address = address_of(server)
        trace = [server.is_serving()]
        client = socket.socket()
        client.setblocking(False)
        kind, _ = await attempt(loop.sock_connect(client, address))  # bound, but not listening yet
        trace.append(kind)
        client.close()
        await server.start_serving()
        trace.append(server.is_serving())
        await server.start_serving()  # twice is harmless
        client = await raw_client(loop, address)
        [transport] = await accepted(protocols)
        trace.append(transport.get_extra_info("peername") == client.getsockname())
        client.close()
        await protocols[0].lost
        server.close()
        await server.wait_closed()
        return trace, len(protocols)

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [False, "ConnectionRefusedError", True, True], 1,
    )


def test_each_connection_gets_a_protocol_of_its_own(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        protocols = []
        server = await loop.create_server(recording(protocols), "127.0.0.1", 0)
        clients = [await raw_client(loop, address_of(server)) for _ in range(3)]
        await accepted(protocols, 3)
        for n, client in enumerate(clients, 1):
            await loop.sock_sendall(client, b"x" * n)
            client.shutdown(socket.SHUT_WR)
        await asyncio.gather(*(protocol.lost for protocol in protocols))
        peers = {protocol.transport.get_extra_info("peername") for protocol in protocols}
        trace = [sorted(protocol.trace for protocol in protocols),
                 peers == {client.getsockname() for client in clients},
                 [await receive_all(loop, client) for client in clients]]
        for client in clients:
            client.close()
        server.close()
        await server.wait_closed()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        [["connection_made", ("data", n), "eof_received", ("connection_lost", None)] for n in (1, 2, 3)],
        True, [b"", b"", b""],
    ]


# ---------------------------------------------------------------- the Server's life


def test_wait_closed_waits_for_the_connections(loops):
    """Python 3.12.1 fixed wait_closed: it waits for the connections even once the server is closed."""

    async def scenario():
        loop = asyncio.get_running_loop()
        idle = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        waiting_for_idle = asyncio.ensure_future(idle.wait_closed())
        protocols = []
        server = await loop.create_server(recording(protocols), "127.0.0.1", 0)
        client = await raw_client(loop, address_of(server))
        await accepted(protocols)
        before_close = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0)
        server.close()
        after_close = asyncio.ensure_future(server.wait_closed())
        for _ in range(3):
            await asyncio.sleep(0)
        trace = [waiting_for_idle.done(), before_close.done(), after_close.done()]
        idle.close()
        client.close()  # the last connection ends: its transport sees EOF and closes
        await asyncio.gather(waiting_for_idle, before_close, after_close)
        trace.append(protocols[0].trace[-1])
        return trace

    reference, ours = loops.run(lambda loop: run(loop, scenario()))
    assert ours == [False, False, False, ("connection_lost", None)]
    # asyncio 3.11's wait_closed() returns at once on a closed server (the bug 3.12.1
    # fixed); ours waits on every Python, as chapter 11 says.
    assert reference == [False, False, sys.version_info < (3, 12), ("connection_lost", None)]


def test_async_with_closes_the_server(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        async with server as entered:
            trace = [entered is server, server.is_serving()]
        trace += [server.is_serving(), server.sockets]
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [True, True, False, ()]


def test_serve_forever(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        for ending in ("cancel", "close"):
            server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, start_serving=False)
            forever = asyncio.ensure_future(server.serve_forever())
            await asyncio.sleep(0)
            trace.append(server.is_serving())
            kind, message = await attempt(server.serve_forever())
            trace.append((kind, message.replace(repr(server), "SERVER")))
            if ending == "cancel":
                forever.cancel()
            else:
                server.close()  # which ends serve_forever the same way
            try:
                await forever
            except asyncio.CancelledError:
                trace.append("cancelled")
            trace += [server.is_serving(), server.sockets]
            kind, message = await attempt(server.serve_forever())
            trace.append((kind, message.replace(repr(server), "SERVER")))
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, ("RuntimeError", "server SERVER is already being awaited on serve_forever()"), "cancelled",
        False, (), ("RuntimeError", "server SERVER is closed"),
    ] * 2


@pytest.mark.skipif(not PY313, reason="close_clients and abort_clients are new in Python 3.13")
@pytest.mark.parametrize("how", ["close_clients", "abort_clients"])
def test_close_clients_and_abort_clients(loops, how):
    async def scenario():
        loop = asyncio.get_running_loop()
        protocols = []
        server = await loop.create_server(recording(protocols), "127.0.0.1", 0)
        clients = [await raw_client(loop, address_of(server)) for _ in range(2)]
        # What each server-side transport holds for its client, which reads nothing yet.
        written = {transport.get_extra_info("peername"): fill(transport) for transport in await accepted(protocols, 2)}
        server.close()
        getattr(server, how)()
        received = {client.getsockname(): await receive_all(loop, client) for client in clients}
        await server.wait_closed()
        for client in clients:
            client.close()
        return ([received[peer] == written[peer] for peer in written],
                [written[peer].startswith(received[peer]) for peer in written],
                [protocol.trace[-1] for protocol in protocols])

    flushed = how == "close_clients"
    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [flushed] * 2, [True] * 2, [("connection_lost", None)] * 2,
    )


# ---------------------------------------------------------------- streams


async def shout(reader, writer):
    """A stream handler: each line back in capitals, until the client has said all."""
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_start_server_and_open_connection(loops):
    async def scenario():
        server = await asyncio.start_server(shout, "127.0.0.1", 0)
        async with server:
            reader, writer = await asyncio.open_connection(*address_of(server))
            writer.writelines([b"one\n", b"two\n", b"three\n"])
            writer.write_eof()
            replies = await reader.read()
            writer.close()
            await writer.wait_closed()
        return replies, server.is_serving()

    assert loops.compare(lambda loop: run(loop, scenario())) == (b"ONE\nTWO\nTHREE\n", False)


def test_start_unix_server_and_open_unix_connection(loops):
    async def scenario():
        with unix_folder() as folder:
            path = os.path.join(folder, "shout.sock")
            server = await asyncio.start_unix_server(shout, path)
            async with server:
                reader, writer = await asyncio.open_unix_connection(path)
                names = [writer.get_extra_info("peername") == path, writer.get_extra_info("sockname"),
                         server.sockets[0].getsockname() == path, server.sockets[0].family]
                writer.write(b"over a unix socket\n")
                writer.write_eof()
                replies = await reader.read()
                writer.close()
                await writer.wait_closed()
        return names, replies

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        [True, "", True, socket.AF_UNIX], b"OVER A UNIX SOCKET\n",
    )


# ---------------------------------------------------------------- Unix sockets


def test_create_unix_server_and_connection(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        with unix_folder() as folder:
            path = os.path.join(folder, "server.sock")
            protocols = []
            server = await loop.create_unix_server(recording(protocols), path)
            transport, protocol = await loop.create_unix_connection(Recorder, path)
            [theirs] = await accepted(protocols)
            trace = [transport.get_extra_info("peername") == path, transport.get_extra_info("sockname"),
                     theirs.get_extra_info("sockname") == path, theirs.get_extra_info("peername"),
                     type(transport.get_extra_info("socket")).__name__]
            transport.write(b"ping")
            transport.write_eof()
            await protocols[0].eof
            trace.append(bytes(protocols[0].received))
            await protocol.lost  # the server's protocol closed its end after EOF
            # An already-connected Unix socket works too.
            ours, peer = socket.socketpair()
            transport, protocol = await loop.create_unix_connection(Recorder, sock=ours)
            peer.sendall(b"pong")
            peer.close()
            await protocol.lost
            trace.append((bytes(protocol.received), protocol.trace))
            server.close()
            await server.wait_closed()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, "", True, "", "TransportSocket", b"ping",
        (b"pong", ["connection_made", ("data", 4), "eof_received", ("connection_lost", None)]),
    ]


def test_unix_calls_refuse_bad_arguments(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        with unix_folder() as folder, socket.socket(socket.AF_UNIX) as unix, socket.socket() as tcp:
            path = os.path.join(folder, "nobody.sock")
            for call, kwargs in [
                (loop.create_unix_server, dict(path=path, sock=unix)), (loop.create_unix_server, {}),
                (loop.create_unix_server, dict(sock=tcp)), (loop.create_unix_server, dict(path=path, ssl=True)),
                (loop.create_unix_server, dict(path=path, ssl_handshake_timeout=1)),
                (loop.create_unix_connection, dict(path=path, sock=unix)), (loop.create_unix_connection, {}),
                (loop.create_unix_connection, dict(sock=tcp)),
                (loop.create_unix_connection, dict(path=path, server_hostname="example.org")),
                (loop.create_unix_connection, dict(path=path)),  # nobody listens there
            ]:
                kind, message = await attempt(call(asyncio.Protocol, **kwargs))
                trace.append((kind, message.replace(repr(tcp), "SOCKET").replace(folder, "DIR")))
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        ("ValueError", "path and sock can not be specified at the same time"),
        ("ValueError", "path was not specified, and no sock specified"),
        ("ValueError", "A UNIX Domain Stream Socket was expected, got SOCKET"),
        ("TypeError", "ssl argument must be an SSLContext or None"),
        ("ValueError", "ssl_handshake_timeout is only meaningful with ssl"),
        ("ValueError", "path and sock can not be specified at the same time"),
        ("ValueError", "no path and sock were specified"),
        ("ValueError", "A UNIX Domain Stream Socket was expected, got SOCKET"),
        ("ValueError", "server_hostname is only meaningful with ssl"),
        ("FileNotFoundError", "[Errno 2] No such file or directory"),
    ]


def test_create_unix_server_replaces_a_stale_socket_file_only(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        with unix_folder() as folder:
            path = os.path.join(folder, "stale.sock")
            with socket.socket(socket.AF_UNIX) as gone:
                gone.bind(path)  # its file outlives it
            server = await loop.create_unix_server(asyncio.Protocol, path)
            client = await raw_client(loop, path, socket.AF_UNIX)
            trace = ["serving on the stale path"]
            client.close()
            server.close()
            await server.wait_closed()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            Path(path).write_text("not a socket")  # a file that is not a socket is left alone
            kind, message = await attempt(loop.create_unix_server(asyncio.Protocol, path))
            trace += [(kind, message.replace(folder, "DIR")), Path(path).read_text()]
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        "serving on the stale path", ("OSError", "[Errno 98] Address 'DIR/stale.sock' is already in use"),
        "not a socket",
    ]


def test_a_closed_unix_server_removes_its_socket_file_from_313(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        with unix_folder() as folder:
            path = os.path.join(folder, "server.sock")
            server = await loop.create_unix_server(asyncio.Protocol, path)
            trace = [os.path.exists(path)]
            server.close()
            await server.wait_closed()
            trace.append(os.path.exists(path))
            if PY313:
                server = await loop.create_unix_server(asyncio.Protocol, path, cleanup_socket=False)
                server.close()
                trace.append(os.path.exists(path))
                server = await loop.create_unix_server(asyncio.Protocol, path)
                os.unlink(path)
                with socket.socket(socket.AF_UNIX) as newcomer:
                    newcomer.bind(path)  # another socket now owns the name: not the server's to remove
                    server.close()
                    trace.append(os.path.exists(path))
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == ([True, False, True, True] if PY313 else [True, True])


# ---------------------------------------------------------------- connect_accepted_socket


def test_connect_accepted_socket(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        server = listening_socket()
        accepting = asyncio.ensure_future(loop.sock_accept(server))
        client = await raw_client(loop, server.getsockname())
        conn, _ = await accepting
        server.close()
        transport, protocol = await loop.connect_accepted_socket(Recorder, conn)
        trace = [transport.get_extra_info("peername") == client.getsockname()]
        await loop.sock_sendall(client, b"over an accepted socket")
        client.shutdown(socket.SHUT_WR)
        await protocol.lost
        trace += [protocol.trace, await receive_all(loop, client)]
        client.close()
        with socket.socket(type=socket.SOCK_DGRAM) as datagram, socket.socket() as stream:
            kind, message = await attempt(loop.connect_accepted_socket(asyncio.Protocol, datagram))
            trace.append((kind, message.replace(repr(datagram), "SOCKET")))
            trace.append(await attempt(loop.connect_accepted_socket(asyncio.Protocol, stream,
                                                                    ssl_handshake_timeout=1)))
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        True, ["connection_made", ("data", 23), "eof_received", ("connection_lost", None)], b"",
        ("ValueError", "A Stream Socket was expected, got SOCKET"),
        ("ValueError", "ssl_handshake_timeout is only meaningful with ssl"),
    ]


def test_nagle_is_turned_off_where_asyncio_turns_it_off(loops):
    """asyncio sets TCP_NODELAY only on sockets whose proto says TCP: socket.socket() says 0."""

    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        for proto in (0, socket.IPPROTO_TCP):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto) as listener:
                listener.bind(("127.0.0.1", 0))
                listener.listen()
                listener.setblocking(False)
                accepting = asyncio.ensure_future(loop.sock_accept(listener))
                client = await raw_client(loop, listener.getsockname())
                conn, _ = await accepting
                transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, conn)
                trace.append((proto, conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0))
                transport.close()
                client.close()
                await asyncio.sleep(0)
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [(0, False), (socket.IPPROTO_TCP, True)]


def test_a_factory_that_closes_its_server_leaves_nothing_unraisable(loops):
    import gc

    async def scenario():
        loop = asyncio.get_running_loop()
        unraisable = []
        hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
        loop.set_exception_handler(lambda loop, context: None)  # the two loops differ here, by design
        try:
            def factory():
                server.close()
                return asyncio.Protocol()

            server = await loop.create_server(factory, "127.0.0.1", 0)
            clients = [socket.create_connection(server.sockets[0].getsockname()) for _ in range(2)]
            await asyncio.sleep(0.1)
            for client in clients:
                client.close()
            await asyncio.wait_for(server.wait_closed(), 2)
            gc.collect()
        finally:
            sys.unraisablehook = hook
        return [str(u.exc_value) for u in unraisable if not isinstance(u.exc_value, ResourceWarning)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # asyncio leaves accepted sockets to the collector
        trace = loops.run(lambda loop: run(loop, scenario()))
    assert trace[1] == [], trace


# ---------------------------------------------------------------- out of file descriptors

#: Run in a fresh interpreter, whose file descriptor limit it lowers: `python -c EMFILE MODULE`.
EMFILE = r'''
import asyncio, errno, importlib, json, os, resource, socket, sys

loop = importlib.import_module(sys.argv[1]).new_event_loop()
handled = []
loop.set_exception_handler(lambda loop, context: handled.append([
    context["message"], errno.errorcode[context["exception"].errno], type(context["socket"]).__name__,
    sorted(context)]))


class Hello(asyncio.Protocol):
    """Says hello, and keeps its file descriptor until the client hangs up."""

    def connection_made(self, transport):
        transport.write(b"hello")


def limit_leaving(free):
    """The soft RLIMIT_NOFILE under which exactly `free` more file descriptors can be opened."""
    fd = 0
    while True:
        try:
            os.fstat(fd)
        except OSError:
            if free == 0:
                return fd
            free -= 1
        fd += 1


async def greeting(client):
    greeting = await loop.sock_recv(client, 5)
    client.close()  # the server's transport sees EOF and closes: one descriptor free again
    return greeting.decode()


async def main():
    server = await loop.create_server(Hello, "127.0.0.1", 0)
    address = server.sockets[0].getsockname()
    clients = [socket.socket() for _ in range(5)]  # made before the limit leaves no room for them
    for client in clients:
        client.setblocking(False)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit_leaving(2), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    # Four connect at once; the server accepts two, and the third accept() fails with EMFILE.
    await asyncio.gather(*(loop.sock_connect(client, address) for client in clients[:4]))
    greetings = await asyncio.gather(*(greeting(client) for client in clients[:4]))
    await loop.sock_connect(clients[4], address)  # served at once: the server came back
    greetings.append(await greeting(clients[4]))
    serving = server.is_serving()
    server.close()
    await server.wait_closed()
    distinct = [entry for n, entry in enumerate(handled) if entry not in handled[:n]]
    return {"greetings": greetings, "serving": serving, "handled": distinct, "reports": len(handled)}


print(json.dumps(loop.run_until_complete(main())))
loop.close()
'''


def run_emfile(module):
    """The EMFILE script's report, with `module`'s new_event_loop()."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(module.__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", EMFILE, module.__name__], env=env, capture_output=True,
                          text=True, timeout=15)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_server_out_of_file_descriptors_backs_off_and_serves_on(el):
    """accept() fails with EMFILE: the loop reports it, stops accepting for a second, and then goes on.

    How many times it is reported is not compared: asyncio (3.11.7 to 3.13.0) goes on calling
    accept() after the first EMFILE, up to `backlog` times in the same callback, reporting each
    (CPython issue gh-151615); reporting it once is as good.
    """
    reference, ours = run_emfile(asyncio), run_emfile(el)
    assert ours["reports"] >= 1 and reference["reports"] >= 1
    del ours["reports"], reference["reports"]
    assert ours == reference == {
        "greetings": ["hello"] * 5, "serving": True,
        "handled": [["socket.accept() out of system resource", "EMFILE", "TransportSocket",
                     ["exception", "message", "socket"]]],
    }


# ---------------------------------------------------------------- nothing left


@needs_ipv6
def test_no_file_descriptor_outlives_a_server(el, loop):
    async def serve_and_close():
        protocols = []
        server = await loop.create_server(recording(protocols), ["127.0.0.1", "::1"], 0)
        clients = [await raw_client(loop, sock.getsockname(), sock.family) for sock in server.sockets]
        await accepted(protocols, len(clients))
        for client in clients:
            client.close()
        await asyncio.gather(*(protocol.lost for protocol in protocols))
        server.close()
        await server.wait_closed()
        with unix_folder() as folder:
            server = await loop.create_unix_server(asyncio.Protocol, os.path.join(folder, "s.sock"))
            transport, protocol = await loop.create_unix_connection(Recorder, os.path.join(folder, "s.sock"))
            transport.close()
            await protocol.lost
            server.close()
            await server.wait_closed()
        taken = listening_socket()
        await attempt(loop.create_server(asyncio.Protocol, *taken.getsockname()))  # its socket closed on failure
        taken.close()

    run(loop, asyncio.sleep(0))
    before = open_fds()
    run(loop, serve_and_close())
    assert open_fds() == before
