"""Chapter 9: the sock_* coroutines, on real sockets over 127.0.0.1 and socketpairs.

Scenarios run on asyncio's loop and ours and must tell the same story:
results, exceptions and their messages, and what is left registered.
"""
import asyncio
import io
import os
import selectors
import socket
import struct
import tempfile
import threading

import pytest

from _selectors import CountingSelector, PassCountingSelector, reuse_the_number_of_a_parked_socket_that_lives_on

CHAPTER = 9


def listening_socket(kind=socket.SOCK_STREAM):
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    sock.setblocking(False)
    return sock


def outcome(error_or_value):
    return error_or_value if not isinstance(error_or_value, BaseException) else (
        type(error_or_value).__name__, str(error_or_value))


async def attempt(awaitable):
    try:
        return "ok", await awaitable
    except Exception as error:
        return type(error).__name__, str(error)


def registered(loop, sock):
    try:
        loop._selector.get_key(sock)
    except KeyError:
        return False
    return True


async def connected_pair(loop):
    server = listening_socket()
    client = socket.socket()
    client.setblocking(False)
    accepting = asyncio.ensure_future(loop.sock_accept(server))
    await loop.sock_connect(client, server.getsockname())
    conn, peer = await accepting
    server.close()
    return client, conn, peer


def run(loop, coro):
    return loop.run_until_complete(coro)


def test_connect_accept_send_receive(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        client, conn, peer = await connected_pair(loop)
        trace = [peer[0], conn.gettimeout()]
        await loop.sock_sendall(client, b"ping")
        trace.append(await loop.sock_recv(conn, 100))
        buffer = bytearray(10)
        await loop.sock_sendall(conn, b"pong")
        trace.append(await loop.sock_recv_into(client, buffer))
        trace.append(bytes(buffer[:4]))
        trace.append([registered(loop, s) for s in (client, conn)])
        client.close()
        trace.append(await loop.sock_recv(conn, 100))  # EOF
        conn.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [
        "127.0.0.1", 0.0, b"ping", 4, b"pong", [False, False], b"",
    ]


def test_sendall_of_more_than_the_buffer_holds(loops):
    payload = os.urandom(8 * 1024 * 1024)

    async def scenario():
        loop = asyncio.get_running_loop()
        client, conn, _ = await connected_pair(loop)
        received = bytearray()

        async def drain():
            while chunk := await loop.sock_recv(conn, 1 << 16):
                received.extend(chunk)

        draining = asyncio.ensure_future(drain())
        await loop.sock_sendall(client, payload)
        client.close()
        await draining
        conn.close()
        return len(received), bytes(received) == payload

    assert loops.compare(lambda loop: run(loop, scenario())) == (len(payload), True)


def test_datagrams(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        a, b = listening_socket(socket.SOCK_DGRAM), listening_socket(socket.SOCK_DGRAM)
        trace = [await loop.sock_sendto(a, b"one", b.getsockname())]
        data, address = await loop.sock_recvfrom(b, 100)
        trace += [data, address == a.getsockname()]
        await loop.sock_sendto(b, b"two", a.getsockname())
        buffer = bytearray(100)
        n, address = await loop.sock_recvfrom_into(a, buffer)
        trace += [bytes(buffer[:n]), address == b.getsockname()]
        await loop.sock_sendto(a, b"three", b.getsockname())
        small = bytearray(100)
        trace.append((await loop.sock_recvfrom_into(b, small, 2))[0])
        a.close()
        b.close()
        return trace

    assert loops.compare(lambda loop: run(loop, scenario())) == [3, b"one", True, b"two", True, 2]


def test_refused_reset_and_timed_out(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        vacant = listening_socket()
        address = vacant.getsockname()
        vacant.close()
        client = socket.socket()
        client.setblocking(False)
        kind, message = await attempt(loop.sock_connect(client, address))
        trace.append((kind, message.replace(str(address[1]), "PORT")))
        trace.append(registered(loop, client))
        client.close()

        client, conn, _ = await connected_pair(loop)
        trace.append((await attempt(asyncio.wait_for(loop.sock_recv(client, 10), 0.05)))[0])
        trace.append(registered(loop, client))  # a timed-out recv leaves no reader
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        trace.append(await attempt(loop.sock_recv(client, 10)))
        trace.append((await attempt(loop.sock_sendall(client, b"x" * 10)))[0])
        client.close()
        return trace

    trace = loops.compare(lambda loop: run(loop, scenario()))
    assert trace[0][0] == "ConnectionRefusedError"
    assert trace[1:4] == [False, "TimeoutError", False]
    assert trace[4][0] == "ConnectionResetError"


def test_cancelled_operations_leave_nothing_registered(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        client, conn, _ = await connected_pair(loop)
        server = listening_socket()
        waits = [asyncio.ensure_future(loop.sock_recv(client, 10)),
                 asyncio.ensure_future(loop.sock_recv_into(conn, bytearray(10))),
                 asyncio.ensure_future(loop.sock_accept(server))]
        await asyncio.sleep(0.01)
        before = [registered(loop, s) for s in (client, conn, server)]
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        after = [registered(loop, s) for s in (client, conn, server)]
        for s in (client, conn, server):
            s.close()
        return before, after

    assert loops.compare(lambda loop: run(loop, scenario())) == ([True] * 3, [False] * 3)


def test_blocking_and_tls_sockets_are_refused(el, loop):
    """asyncio refuses a blocking socket only in debug mode; we always do (chapter 9 says why)."""
    blocking = socket.socket()
    with blocking:
        for call in (lambda: loop.sock_recv(blocking, 1), lambda: loop.sock_sendall(blocking, b"x"),
                     lambda: loop.sock_connect(blocking, ("127.0.0.1", 9)), lambda: loop.sock_accept(blocking)):
            with pytest.raises(ValueError, match="the socket must be non-blocking"):
                run(loop, call())


def test_blocking_sockets_are_refused_like_asyncio_in_debug_mode(loops):
    def scenario(loop):
        loop.set_debug(True)
        with socket.socket() as blocking:
            return run(loop, attempt(loop.sock_recv(blocking, 1)))

    assert loops.compare(scenario) == ("ValueError", "the socket must be non-blocking")


def test_names_are_resolved_and_numbers_are_not(el, loop):
    resolved = run(loop, loop._ensure_resolved(("127.0.0.1", "80")))
    assert resolved == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80))]
    assert el.base_events._ipaddr_info("localhost", 80, 0, socket.SOCK_STREAM, 0) is None
    assert el.base_events._ipaddr_info("::1", 80, 0, socket.SOCK_STREAM, 0)[4] == ("::1", 80, 0, 0)
    assert el.base_events._ipaddr_info("::1%lo", 80, 0, socket.SOCK_STREAM, 0) is None

    async def connect_by_name():
        server = listening_socket()
        client = socket.socket()
        client.setblocking(False)
        accepting = asyncio.ensure_future(loop.sock_accept(server))
        await loop.sock_connect(client, ("localhost", server.getsockname()[1]))
        conn, _ = await accepting
        for s in (client, conn, server):
            s.close()
        return "connected"

    assert run(loop, connect_by_name()) == "connected"


@pytest.mark.parametrize("make_file", ["disk", "bytesio"])
def test_sock_sendfile_native_and_fallback(loops, make_file):
    data = os.urandom(1_500_000)

    async def scenario(file):
        loop = asyncio.get_running_loop()
        left, right = socket.socketpair()
        left.setblocking(False)
        right.setblocking(False)
        received = bytearray()

        async def drain():
            while chunk := await loop.sock_recv(right, 65536):
                received.extend(chunk)

        draining = asyncio.ensure_future(drain())
        sent = await loop.sock_sendfile(left, file, offset=10, count=1_000_000)
        left.close()
        await draining
        right.close()
        return sent, bytes(received) == data[10:1_000_010], file.tell()

    def run_with(loop):
        if make_file == "disk":
            with tempfile.TemporaryFile() as file:
                file.write(data)
                return run(loop, scenario(file))
        return run(loop, scenario(io.BytesIO(data)))

    assert loops.compare(run_with) == (1_000_000, True, 1_000_010)


def test_sock_sendfile_checks_its_arguments_as_asyncio(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        trace = []
        with socket.socket() as stream, socket.socket(type=socket.SOCK_DGRAM) as datagram, \
                tempfile.TemporaryFile() as binary, tempfile.TemporaryFile("w") as text:
            stream.setblocking(False)
            datagram.setblocking(False)
            for sock, file, offset, count in [(stream, text, 0, None), (datagram, binary, 0, None),
                                              (stream, binary, -1, None), (stream, binary, "0", None),
                                              (stream, binary, 0, 0), (stream, binary, 0, 1.5)]:
                trace.append(await attempt(loop.sock_sendfile(sock, file, offset, count)))
            trace.append((await attempt(loop.sock_sendfile(stream, io.BytesIO(b"x"), fallback=False)))[0])
        return trace

    assert loops.compare(lambda loop: run(loop, scenario()))[-1] == "SendfileNotAvailableError"


def test_sock_sendfile_on_a_closed_socket_fails_and_reports_nothing_else(loops):
    async def scenario():
        loop = asyncio.get_running_loop()
        reported = []
        loop.set_exception_handler(lambda loop, context: reported.append(context["message"]))
        left, right = socket.socketpair()
        left.setblocking(False)
        left.close()
        with right, tempfile.TemporaryFile() as file:
            file.write(b"x" * 1000)
            file.seek(0)
            outcome = await attempt(loop.sock_sendfile(left, file))
        await asyncio.sleep(0)  # the future's done callbacks run at the next pass
        return outcome, reported

    assert loops.compare(lambda loop: run(loop, scenario())) == (
        ("OSError", "[Errno 9] Bad file descriptor"), [])


def test_an_echo_server_of_sock_calls(el, loop):
    async def echo_many(connections=8, messages=30, size=4096):
        server = listening_socket()

        async def handle(conn):
            with conn:
                while data := await loop.sock_recv(conn, 65536):
                    await loop.sock_sendall(conn, data)

        async def serve():
            async with asyncio.TaskGroup() as group:
                for _ in range(connections):
                    conn, _ = await loop.sock_accept(server)
                    group.create_task(handle(conn))

        async def client(i):
            with socket.socket() as sock:
                sock.setblocking(False)
                await loop.sock_connect(sock, server.getsockname())
                for n in range(messages):
                    message = bytes([(i + n) % 256]) * size
                    await loop.sock_sendall(sock, message)
                    echoed = bytearray()
                    while len(echoed) < size:
                        echoed.extend(await loop.sock_recv(sock, size - len(echoed)))
                    assert echoed == message
            return messages

        serving = asyncio.ensure_future(serve())
        counts = await asyncio.gather(*(client(i) for i in range(connections)))
        await serving
        server.close()
        return sum(counts)

    before = len(os.listdir("/proc/self/fd"))
    assert run(loop, echo_many()) == 8 * 30
    assert len(os.listdir("/proc/self/fd")) == before


# ---------------------------------------------------------------- parking


def nonblocking_pair(family=socket.AF_UNIX):
    a, b = socket.socketpair(family)
    a.setblocking(False)
    b.setblocking(False)
    return a, b


async def waited_recv(loop, sock, peer, data=b"x"):
    """A sock_recv that has to wait: the peer sends only once it is waiting."""
    loop.call_later(0.001, peer.send, data)
    return await loop.sock_recv(sock, 100)


def test_consecutive_waits_on_one_socket_register_it_once(el, new_loop):
    selector = CountingSelector()
    loop = new_loop(lambda: el.SelectorEventLoop(selector))
    sock, peer = nonblocking_pair()

    async def scenario():
        for _ in range(100):
            assert await waited_recv(loop, sock, peer) == b"x"

    before = len(selector.calls)
    loop.run_until_complete(scenario())
    assert selector.calls[before:] == [("register", selectors.EVENT_READ)], "one registration for a hundred waits"
    assert registered(loop, sock), "parked: registered, with no reader"
    assert loop.remove_reader(sock) is False, "a parked socket has no reader to remove, as in asyncio"
    sock.close()
    peer.close()


def test_data_for_a_parked_socket_unparks_it_and_the_loop_does_not_spin(el, new_loop):
    loop = new_loop(el.SelectorEventLoop)
    sock, peer = nonblocking_pair()

    async def scenario():
        await waited_recv(loop, sock, peer)
        peer.send(b"nobody is reading this yet")
        await asyncio.sleep(0.01)  # passes of the loop, with the parked socket readable
        # Still registered, select() would report it at every pass: the loop would spin.
        assert not registered(loop, sock), "a parked socket nobody reads is unregistered"
        return await loop.sock_recv(sock, 100)

    assert loop.run_until_complete(scenario()) == b"nobody is reading this yet"
    assert sock.fileno() not in loop._parked
    sock.close()
    peer.close()


class ReportCountingSelector(selectors.DefaultSelector):
    """A real selector that counts how often select() reports one file descriptor readable."""

    watched_fd = None
    reports = 0

    def select(self, timeout=None):
        ready = super().select(timeout)
        self.reports += sum(1 for key, events in ready if key.fd == self.watched_fd)
        return ready


def test_a_parked_socket_closed_while_another_owner_keeps_it_does_not_make_the_loop_spin(el, new_loop):
    """epoll keeps a registration while any descriptor of the file is open (a dup, a
    forked child): closing the parked socket leaves one the loop can no longer name."""
    loop = new_loop(lambda: el.SelectorEventLoop(PassCountingSelector()))
    sock, peer = nonblocking_pair()
    watched, watched_peer = nonblocking_pair()  # registered before the selector is renewed
    parked, parked_peer = nonblocking_pair()  # parked before, read after
    woken = []

    async def scenario():
        loop.add_reader(watched, lambda: woken.append(watched.recv(10)))
        await waited_recv(loop, parked, parked_peer)
        await waited_recv(loop, sock, peer)
        other_owner = sock.dup()
        sock.close()
        peer.send(b"for the other owner, who never reads it")
        passes = PassCountingSelector.passes
        await asyncio.sleep(0.3)
        slept = PassCountingSelector.passes - passes
        # What was watched before is watched still, on the new selector.
        watched_peer.send(b"ping")
        parked_peer.send(b"pong")
        received = await asyncio.wait_for(loop.sock_recv(parked, 10), 2)
        while not woken:
            await asyncio.sleep(0.01)
        threadsafe = loop.create_future()  # the self-pipe too
        threading.Thread(target=loop.call_soon_threadsafe, args=(threadsafe.set_result, "woken")).start()
        other_owner.close()
        return slept, received, woken, await asyncio.wait_for(threadsafe, 2)

    slept, *rest = loop.run_until_complete(scenario())
    assert slept < 20, f"{slept} passes in 0.3 s: the loop spun"
    assert rest == [b"pong", [b"ping"], "woken"]
    loop.remove_reader(watched)
    for s in (peer, watched, watched_peer, parked, parked_peer):
        s.close()


def test_a_wait_on_the_reused_number_of_a_socket_that_lives_on_is_not_busy(el, new_loop):
    loop = new_loop(lambda: el.SelectorEventLoop(PassCountingSelector()))

    async def scenario():
        other_owner, peer, new, new_peer = await reuse_the_number_of_a_parked_socket_that_lives_on(loop)
        loop.call_later(0.3, new_peer.send, b"at last")
        passes = PassCountingSelector.passes
        data = await asyncio.wait_for(loop.sock_recv(new, 10), 2)
        passes = PassCountingSelector.passes - passes
        for s in (other_owner, peer, new, new_peer):
            s.close()
        return data, passes

    data, passes = loop.run_until_complete(scenario())
    assert data == b"at last"
    assert passes < 20, f"{passes} passes in 0.3 s: the loop waited busily"


def test_a_parked_socket_nobody_reads_is_reported_twice_then_unparked(el, new_loop):
    selector = ReportCountingSelector()
    loop = new_loop(lambda: el.SelectorEventLoop(selector))
    sock, peer = nonblocking_pair()

    async def scenario():
        await waited_recv(loop, sock, peer)
        selector.watched_fd = sock.fileno()
        peer.send(b"nobody is reading this yet")
        await asyncio.sleep(0.05)  # with nothing else to do, the loop would sleep in select()
        return selector.reports

    # Level-triggered: the first report marks it, the second unparks it, and then the
    # loop sleeps. A loop that kept it registered would count hundreds of reports.
    assert loop.run_until_complete(scenario()) == 2
    assert not registered(loop, sock)
    assert sock.recv(100) == b"nobody is reading this yet"
    sock.close()
    peer.close()


def test_a_message_longer_than_one_read_keeps_the_socket_parked(el, new_loop):
    """The rest of the message is reported while the reader's task is already on its way:
    the first unread report must not unpark the socket (chapter 9, "The second report")."""
    selector = CountingSelector()
    loop = new_loop(lambda: el.SelectorEventLoop(selector))
    sock, peer = nonblocking_pair()
    peer.setblocking(True)
    message = os.urandom(6000)

    async def scenario():
        for _ in range(50):
            loop.call_later(0.001, peer.sendall, message)  # all of it, while the loop waits
            received = await loop.sock_recv(sock, 4000)  # a wait, then part of it
            while len(received) < len(message):
                received += await loop.sock_recv(sock, 4000)  # the rest: already there
            assert received == message

    before = len(selector.calls)
    loop.run_until_complete(scenario())
    assert selector.calls[before:] == [("register", selectors.EVENT_READ)], \
        "one registration for fifty messages of two reads each"
    sock.close()
    peer.close()


def test_a_number_reused_after_a_parked_socket_closed_still_wakes(el, new_loop):
    loop = new_loop(el.SelectorEventLoop)

    async def scenario():
        first, peer = nonblocking_pair()
        await waited_recv(loop, first, peer)
        number = first.fileno()
        first.close()  # closed while parked: the kernel forgets it, the loop's table does not
        peer.close()
        second, peer = nonblocking_pair()
        reused = second.fileno() == number
        data = await asyncio.wait_for(waited_recv(loop, second, peer, b"second"), timeout=2)
        second.close()
        peer.close()
        return reused, data

    reused, data = loop.run_until_complete(scenario())
    assert data == b"second"
    assert reused, "the test needs the number to be reused (the lowest free descriptor)"


def test_add_reader_on_a_parked_descriptor_is_called(el, new_loop):
    loop = new_loop(el.SelectorEventLoop)
    sock, peer = nonblocking_pair()
    called = []

    async def scenario():
        await waited_recv(loop, sock, peer)
        loop.add_reader(sock.fileno(), lambda: (called.append(sock.recv(100)), loop.remove_reader(sock)))
        peer.send(b"for add_reader")
        await asyncio.sleep(0.05)

    loop.run_until_complete(scenario())
    assert called == [b"for add_reader"]
    assert not registered(loop, sock)
    sock.close()
    peer.close()


def _small_buffer_pair():
    a, b = nonblocking_pair()
    for sock in (a, b):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return a, b


@pytest.mark.parametrize("reuse", [False, True], ids=["same socket", "number reused"])
def test_sendall_that_waits_on_a_parked_descriptor(el, new_loop, reuse):
    loop = new_loop(el.SelectorEventLoop)
    payload = os.urandom(1 << 20)

    async def drain(sock, n):
        received = bytearray()
        while len(received) < n:
            received += await loop.sock_recv(sock, 65536)
        return bytes(received)

    async def scenario():
        sock, peer = _small_buffer_pair()
        await waited_recv(loop, sock, peer)  # parked
        if reuse:
            number = sock.fileno()
            sock.close()
            peer.close()
            sock, peer = _small_buffer_pair()
            assert sock.fileno() == number
        receiving = asyncio.ensure_future(drain(peer, len(payload)))
        await asyncio.wait_for(loop.sock_sendall(sock, payload), timeout=5)  # must wait: 1 MiB, 4 KiB buffers
        received = await asyncio.wait_for(receiving, timeout=5)
        sock.close()
        peer.close()
        return received

    assert loop.run_until_complete(scenario()) == payload


@pytest.mark.chapter(10)
def test_a_transport_on_a_socket_that_was_parked(el, new_loop):
    loop = new_loop(el.SelectorEventLoop)
    sock, peer = nonblocking_pair()

    class Collect(asyncio.Protocol):
        def __init__(self):
            self.data, self.done = b"", loop.create_future()

        def data_received(self, data):
            self.data += data
            if self.data.endswith(b"!"):
                self.done.set_result(self.data)

    async def scenario():
        await waited_recv(loop, sock, peer)  # parked
        transport, protocol = await loop.connect_accepted_socket(Collect, sock)
        loop.call_later(0.01, peer.send, b"to the transport!")
        data = await asyncio.wait_for(protocol.done, timeout=2)
        transport.close()
        await asyncio.sleep(0)
        return data

    assert loop.run_until_complete(scenario()) == b"to the transport!"
    peer.close()


def test_failed_reads_do_not_park(el, new_loop):
    loop = new_loop(el.SelectorEventLoop)

    async def scenario():
        client, conn, _ = await connected_pair(loop)
        loop.call_later(0.01, lambda: (conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                       struct.pack("ii", 1, 0)), conn.close()))
        with pytest.raises(ConnectionResetError):
            await loop.sock_recv(client, 100)
        parked = registered(loop, client)
        client.close()
        return parked

    assert loop.run_until_complete(scenario()) is False


def test_a_select_selector_loop_does_not_park(el, new_loop):
    # select() raises EBADF for a closed descriptor: a socket closed while parked
    # would stop the loop.
    loop = new_loop(lambda: el.SelectorEventLoop(selectors.SelectSelector()))
    sock, peer = nonblocking_pair()

    async def scenario():
        await waited_recv(loop, sock, peer)
        parked = registered(loop, sock)
        sock.close()
        await asyncio.sleep(0.01)  # passes of the loop, in select()
        return parked

    assert loop.run_until_complete(scenario()) is False
    peer.close()
