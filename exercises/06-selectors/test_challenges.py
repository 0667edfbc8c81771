"""Checks for chapter 6's challenges (see challenges.py next to this file).

Run them with `python3 tools/dev.py exercises 6`. They never import
challenges.py themselves: the `challenges` fixture (exercises/conftest.py)
hands them your file, or the reference solution in the project's full test run.

Real sockets and pipes throughout, on the course's real loop. A check steers
the loop one pass at a time where the order of events matters (`one_pass`):
bytes sent on a socketpair are in the other end's buffer when `send()`
returns, so the next pass sees them. Where a check waits for something, a
backstop timer stops the loop after BACKSTOP seconds: what takes milliseconds
when right fails the check instead of hanging it.

The checks of PollSelector watch `select.poll()`: they replace it, for the
check's duration, with `WatchedPoll`, which hands every call to a real poll
object and remembers what it was asked.
"""
import asyncio
import contextlib
import os
import select
import selectors
import socket
import threading

import pytest

BACKSTOP = 2.0  # seconds; everything here takes milliseconds


# ── helpers ────────────────────────────────────────────────────────────────

@pytest.fixture
def pair():
    """A connected, non-blocking socketpair, closed after the check."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def errors(loop):
    """What reached the loop's exception handler: [(message, exception), ...]."""
    caught = []
    loop.set_exception_handler(lambda loop, context: caught.append(
        (context.get("message"), context.get("exception"))))
    return caught


def one_pass(loop, passes=1):
    """Run the loop for exactly `passes` passes (each one looks at the descriptors)."""
    for _ in range(passes):
        loop.stop()  # before run_forever: stop after one pass
        loop.run_forever()


def run_until(loop, done, what):
    """Run the loop until `done()` is true, for BACKSTOP seconds at most."""
    deadline = loop.time() + BACKSTOP
    while not done():
        if loop.time() > deadline:
            pytest.fail(f"after {BACKSTOP:g} s, {what}", pytrace=False)
        loop.run_until_complete(asyncio.sleep(0.001))


def watched(loop, sock):
    """The events the loop's selector watches `sock` for (0: not registered)."""
    try:
        return loop._selector.get_key(sock).events
    except KeyError:
        return 0


# ── 1. wait_readable ────────────────────────────────────────────────────────

def test_wait_readable_settles_when_the_socket_is_readable(challenges, loop, pair, errors):
    receiver, sender = pair
    future = challenges.wait_readable(loop, receiver)
    assert isinstance(future, asyncio.Future), "wait_readable returns a future: loop.create_future()"
    one_pass(loop, 3)
    assert not future.done(), "nothing was sent yet: the future must still be pending"
    loop.call_later(0.01, sender.send, b"ping")
    run_until(loop, future.done, "the future had not settled, although the socket had bytes to read")
    assert not future.cancelled() and future.result() is None
    assert receiver.recv(100) == b"ping", "the bytes are the caller's: wait_readable must not read them"
    assert not watched(loop, receiver), "once the future is done, the reader must be gone"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_wait_readable_settles_once_although_the_socket_stays_readable(challenges, loop, pair, errors):
    receiver, sender = pair
    sender.send(b"never read")
    future = challenges.wait_readable(loop, receiver)
    one_pass(loop, 5)
    assert future.done() and future.result() is None
    assert not errors, (
        f"the loop's exception handler got {errors!r}: a reader left behind runs again in every "
        "pass while the bytes stay unread, and set_result() on a done future raises"
    )
    assert not watched(loop, receiver), "the reader must remove itself the first time it runs"


def test_cancelling_wait_readable_removes_its_reader(challenges, loop, pair, errors):
    receiver, sender = pair
    future = challenges.wait_readable(loop, receiver)
    one_pass(loop)
    future.cancel()
    one_pass(loop)  # the future's done callbacks run in the pass after cancel()
    assert not watched(loop, receiver), (
        "a cancelled wait must leave no reader behind: nobody awaits it any more"
    )
    sender.send(b"late")
    one_pass(loop, 3)
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_wait_readable_cancelled_in_the_pass_it_becomes_readable(challenges, loop, pair, errors):
    receiver, sender = pair
    future = challenges.wait_readable(loop, receiver)
    sender.send(b"x")
    # One batch: the cancel() first, then the reader, which the same pass found
    # ready. By the time the reader runs, the future is already cancelled.
    loop.call_soon(future.cancel)
    one_pass(loop, 3)
    assert future.cancelled()
    assert not errors, (
        f"the loop's exception handler got {errors!r}: the reader ran after the future was "
        "cancelled in the same pass, and must not set a result on it"
    )
    assert not watched(loop, receiver)


def test_wait_readable_under_a_timeout_in_a_task(challenges, loop, pair, errors):
    receiver, sender = pair

    async def main():
        try:
            async with asyncio.timeout(0.01):
                await challenges.wait_readable(loop, receiver)
        except TimeoutError:
            return "timed out"
        return "readable?"

    assert loop.run_until_complete(main()) == "timed out"
    one_pass(loop)
    assert not watched(loop, receiver), "the timeout cancelled the wait: its reader must be gone"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_a_cancelled_wait_leaves_the_next_ones_reader_alone(challenges, loop, pair, errors):
    receiver, sender = pair
    first = challenges.wait_readable(loop, receiver)
    first.cancel()
    second = challenges.wait_readable(loop, receiver)  # replaces the first's reader
    one_pass(loop)  # the first's done callbacks run here
    assert watched(loop, receiver) == selectors.EVENT_READ, (
        "the first wait's cleanup removed the reader of the second: the first's reader had "
        "been replaced (its handle cancelled), so the socket's reader was not its own any more"
    )
    sender.send(b"x")
    run_until(loop, second.done, "the second wait had not settled")
    assert second.result() is None and not watched(loop, receiver)
    assert not errors, f"the loop's exception handler got {errors!r}"


# ── 2. read_lines ───────────────────────────────────────────────────────────

def test_read_lines_joins_lines_split_across_reads(challenges, loop, pair, errors):
    receiver, sender = pair
    lines = []
    challenges.read_lines(loop, receiver, lines.append)
    pieces = [b"hel", b"lo\nwor", b"ld", b"\n", b"\n", b"one\ntwo\nthr", b"ee\n", b"tail"]
    for piece in pieces:
        sender.send(piece)
        one_pass(loop)  # each piece arrives in a recv() of its own
    sender.close()
    run_until(loop, lambda: None in lines, "read_lines had not reported the end of the stream")
    assert lines == [b"hello\n", b"world\n", b"\n", b"one\n", b"two\n", b"three\n", b"tail", None], (
        "every complete line once, with its b'\\n', however the bytes were split; then the "
        "unfinished last line; then None"
    )
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_read_lines_hands_over_every_line_of_one_read_at_once(challenges, loop, pair, errors):
    receiver, sender = pair
    lines = []
    challenges.read_lines(loop, receiver, lines.append)
    sender.send(b"a\nb\n\nc\nunfinished")
    one_pass(loop)
    assert lines == [b"a\n", b"b\n", b"\n", b"c\n"], (
        "four complete lines arrived in one recv(): on_line must be called for each of them "
        "in that pass, not one per read (the next bytes may be a long time coming)"
    )
    assert all(type(line) is bytes for line in lines), "each line is a bytes object"
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_read_lines_reports_the_end_once_and_stops_watching(challenges, loop, errors):
    for sent, expected in [
        (b"x\ny", [b"x\n", b"y", None]),  # an unfinished last line
        (b"x\n", [b"x\n", None]),
        (b"", [None]),
    ]:
        receiver, sender = socket.socketpair()
        receiver.setblocking(False)
        lines = []
        try:
            challenges.read_lines(loop, receiver, lines.append)
            sender.send(sent)
            sender.close()
            run_until(loop, lambda: None in lines, "read_lines had not reported the end of the stream")
            one_pass(loop, 5)  # a reader left behind would see the end again in each pass
            assert lines == expected, (
                f"after {sent!r} and the end of the stream, on_line got {lines!r}: the unfinished "
                "line if there is one (never an empty b''), then None, once"
            )
            assert not watched(loop, receiver), "after the end of the stream, the reader must be gone"
        finally:
            loop.remove_reader(receiver)
            receiver.close()
            sender.close()
    assert not errors, f"the loop's exception handler got {errors!r}"


def test_read_lines_on_a_mebibyte_from_a_thread(challenges, loop, pair, errors):
    receiver, sender = pair
    expected = [b"%d %s\n" % (n, b"x" * (n % 97)) for n in range(20_000)]
    payload = b"".join(expected)
    lines = []
    challenges.read_lines(loop, receiver, lines.append)

    def send_all():
        sender.setblocking(True)
        sender.sendall(payload)
        sender.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send_all)
    thread.start()
    try:
        run_until(loop, lambda: None in lines, f"read_lines had {len(lines)} lines, and no end")
    finally:
        thread.join()
    assert len(payload) > 1_000_000
    assert lines[-1] is None and lines[:-1] == expected
    assert not errors, f"the loop's exception handler got {errors!r}"


# ── 3. Hardcore: PollSelector and PollLoop ────────────────────────────────

REAL_POLL = select.poll


class WatchedPoll:
    """A real select.poll() object, with a record of what it was asked."""

    def __init__(self):
        self._poll = REAL_POLL()
        self.masks = {}  # fd -> the mask registered in the real poll object
        self.timeouts = []  # each poll() call's argument

    @staticmethod
    def _fd(fd):
        return fd if isinstance(fd, int) else fd.fileno()

    def register(self, fd, mask=select.POLLIN | select.POLLPRI | select.POLLOUT):
        self._poll.register(fd, mask)
        self.masks[self._fd(fd)] = mask

    def modify(self, fd, mask):
        self._poll.modify(fd, mask)
        self.masks[self._fd(fd)] = mask

    def unregister(self, fd):
        self._poll.unregister(fd)
        del self.masks[self._fd(fd)]

    def poll(self, timeout=None):
        self.timeouts.append(timeout)
        return self._poll.poll(timeout)


@pytest.fixture
def polls(monkeypatch):
    """The WatchedPoll objects made since the check began (select.poll() makes them)."""
    made = []

    def watched_poll():
        made.append(WatchedPoll())
        return made[-1]

    monkeypatch.setattr(select, "poll", watched_poll)
    return made


@contextlib.contextmanager
def poll_loop(challenges):
    """A PollLoop, closed afterwards."""
    cls = challenges.PollLoop
    loop = cls.__new__(cls)
    try:
        loop.__init__()
    except BaseException:
        loop._closed = True  # half-built: nothing to close, and its __del__ must not warn
        raise
    try:
        yield loop
    finally:
        loop.close()


@contextlib.contextmanager
def poll_selector(challenges):
    selector = challenges.PollSelector()
    try:
        yield selector
    finally:
        selector.close()


def test_poll_loop_waits_in_your_poll_selector(challenges, polls):
    cls = challenges.PollSelector
    borrowed = [c.__name__ for c in cls.__mro__
                if c.__module__ == "selectors" and c is not selectors.BaseSelector]
    assert not borrowed, f"PollSelector must be your own, not built on selectors' {borrowed}"
    with poll_loop(challenges) as loop:
        assert type(loop._selector) is cls, "PollLoop must hand the loop a PollSelector"
        assert len(polls) == 1, f"a PollLoop must make one select.poll() object (it made {len(polls)})"
        keys = loop._selector.get_map()
        assert len(keys) == 1 and loop._ssock.fileno() in keys, (
            "a new loop registers one descriptor of its own (the self-pipe of chapter 7)"
        )
        assert polls[0].masks == {loop._ssock.fileno(): select.POLLIN}, (
            f"your poll object watches {polls[0].masks}: it should watch the self-pipe for POLLIN"
        )
        loop.call_later(0.01, loop.stop)
        loop.run_forever()
        assert polls[0].timeouts, "the loop waited without calling poll()"


def test_poll_loop_runs_the_documentation_example(challenges, polls):
    with poll_loop(challenges) as loop:
        rsock, wsock = socket.socketpair()
        received = []

        def reader():
            received.append(rsock.recv(100))
            loop.remove_reader(rsock)
            loop.stop()

        loop.add_reader(rsock, reader)
        loop.call_soon(wsock.send, b"abc")
        backstop = loop.call_later(BACKSTOP, loop.stop)
        loop.run_forever()
        backstop.cancel()
        rsock.close()
        wsock.close()
    assert received == [b"abc"]


def test_poll_loop_sleeps_until_a_timer_or_a_descriptor(challenges, polls, pair):
    receiver, sender = pair
    trace = []
    with poll_loop(challenges) as loop:

        def read():
            trace.append(("read", receiver.recv(10)))
            loop.remove_reader(receiver)
            loop.call_later(0.02, timer)

        def timer():
            trace.append("timer")
            loop.stop()

        loop.add_reader(receiver, read)
        loop.call_later(0.02, sender.send, b"x")
        backstop = loop.call_later(BACKSTOP, loop.stop)
        loop.run_forever()
        backstop.cancel()
        waits = [t for t in polls[0].timeouts if t != 0]
    assert trace == [("read", b"x"), "timer"], "the loop slept through a timer or a descriptor"
    assert waits and all(t is not None and 0 < t <= BACKSTOP * 1000 + 1 for t in waits), (
        f"with timers due, each wait has a timeout in milliseconds (got {waits})"
    )


def test_poll_selector_never_sleeps_less_than_asked(challenges, polls, pair):
    receiver, sender = pair
    sender.send(b"ready")  # so that no poll() below really waits
    with poll_selector(challenges) as selector:
        selector.register(receiver, selectors.EVENT_READ)
        asked = [0.0004, 0.001, 0.0125, 2.5, 0, -1, None]
        for timeout in asked:
            selector.select(timeout)
        given = polls[0].timeouts
    assert len(given) == len(asked), f"select() must call poll() once per call (it made {len(given)} calls)"
    for seconds, milliseconds in zip(asked[:4], given):
        assert milliseconds is not None and seconds * 1000 <= milliseconds <= seconds * 1000 + 1, (
            f"select({seconds}) called poll({milliseconds!r}): poll() counts milliseconds, and "
            "must wait at least as long as asked (rounded up), or a loop whose next timer is "
            "0.4 ms away calls poll(0) again and again: it spins instead of sleeping"
        )
    assert given[4:6] == [0, 0], f"select(0) and select(-1) must not wait: poll(0), not {given[4:6]}"
    assert given[6] is None or given[6] < 0, f"select(None) waits forever: poll(None), not poll({given[6]!r})"


def test_poll_selector_reports_what_was_asked(challenges, polls, pair):
    receiver, sender = pair
    with poll_selector(challenges) as selector:
        key = selector.register(receiver, selectors.EVENT_READ | selectors.EVENT_WRITE, "data")
        assert (key.fileobj, key.fd, key.events, key.data) == (
            receiver, receiver.fileno(), selectors.EVENT_READ | selectors.EVENT_WRITE, "data")
        assert selector.select(0) == [(key, selectors.EVENT_WRITE)], "writable, not readable yet"
        sender.send(b"x")
        [(ready_key, events)] = selector.select(0)
        assert ready_key is selector.get_key(receiver)
        assert events == selectors.EVENT_READ | selectors.EVENT_WRITE
        key = selector.modify(receiver, selectors.EVENT_READ, "other data")
        assert key.data == "other data" and selector.get_key(receiver) is key
        assert polls[0].masks == {receiver.fileno(): select.POLLIN}, (
            f"after modify(EVENT_READ) your poll object watches {polls[0].masks}"
        )
        assert selector.select(0) == [(key, selectors.EVENT_READ)]


def test_poll_selector_sees_a_pipe_whose_writer_closed(challenges, polls):
    read_end, write_end = os.pipe()
    try:
        with poll_selector(challenges) as selector:
            selector.register(read_end, selectors.EVENT_READ)
            os.close(write_end)
            ready = selector.select(0)
    finally:
        os.close(read_end)
    assert [events for key, events in ready] == [selectors.EVENT_READ], (
        f"select() gave {ready}: a pipe whose writer closed reports POLLHUP to poll(), not "
        "POLLIN, and that must count as readable (reading gives b'', the end) — and as "
        "nothing that was not registered"
    )


def test_poll_loop_sees_the_end_of_a_pipe(challenges, polls):
    read_end, write_end = os.pipe()
    seen, open_ends = [], [read_end, write_end]

    def close_the_writer():
        open_ends.remove(write_end)
        os.close(write_end)

    try:
        with poll_loop(challenges) as loop:

            def on_readable():
                seen.append(os.read(read_end, 100))
                loop.remove_reader(read_end)
                loop.stop()

            loop.add_reader(read_end, on_readable)
            loop.call_soon(close_the_writer)
            backstop = loop.call_later(BACKSTOP, loop.stop)
            loop.run_forever()
            backstop.cancel()
    finally:
        for fd in open_ends:
            os.close(fd)
    assert seen == [b""], "the loop never saw the end of the pipe: its writer closed, and poll() said POLLHUP"


def test_poll_loop_replaces_readers_and_shares_a_descriptor(challenges, polls, pair):
    receiver, sender = pair
    trace = []
    with poll_loop(challenges) as loop:
        loop.add_reader(receiver, lambda: trace.append("old reader"))
        loop.add_reader(receiver, lambda: (trace.append(("new reader", receiver.recv(10))), loop.stop()))
        sender.send(b"x")
        backstop = loop.call_later(BACKSTOP, loop.stop)
        loop.run_forever()
        assert trace == [("new reader", b"x")], "a new reader replaces the old one"

        trace.clear()
        loop.add_writer(receiver, lambda: (trace.append("writable"), loop.remove_writer(receiver)))
        assert watched(loop, receiver) == selectors.EVENT_READ | selectors.EVENT_WRITE
        one_pass(loop, 2)
        assert trace == ["writable"], "a writer beside a reader on the same descriptor"
        assert watched(loop, receiver) == selectors.EVENT_READ, "removing the writer keeps the reader"
        assert polls[0].masks[receiver.fileno()] == select.POLLIN
        assert loop.remove_reader(receiver.fileno()) is True, (
            "the reader was added with the socket; removed by its number, it is the same descriptor"
        )
        assert receiver.fileno() not in polls[0].masks, (
            "removing the last interest must unregister the descriptor from the poll object too, "
            "or poll() goes on reporting it"
        )
        assert loop.remove_reader(receiver) is False
        backstop.cancel()


def test_poll_selector_refuses_as_selectors_do(challenges, polls, pair):
    receiver, sender = pair
    with poll_selector(challenges) as selector:
        with pytest.raises(KeyError):
            selector.get_key(receiver)
        with pytest.raises(KeyError):
            selector.unregister(receiver)
        with pytest.raises(KeyError):
            selector.modify(receiver, selectors.EVENT_READ)
        for events in (0, 4, selectors.EVENT_READ | 8):
            with pytest.raises(ValueError):
                selector.register(receiver, events)
        with pytest.raises(ValueError):
            selector.register(-1, selectors.EVENT_READ)
        with pytest.raises(ValueError):
            selector.register("not a file", selectors.EVENT_READ)
        selector.register(receiver, selectors.EVENT_READ)
        with pytest.raises(KeyError):
            selector.register(receiver.fileno(), selectors.EVENT_WRITE)  # the same descriptor
        assert selector.unregister(receiver.fileno()).fileobj is receiver
        assert polls[0].masks == {}, "unregister() must unregister from the poll object too"
        assert len(selector.get_map()) == 0
    with poll_loop(challenges) as loop:
        with pytest.raises(ValueError, match="Invalid file descriptor"):
            loop.add_reader(-1, print)
        doomed, other = socket.socketpair()
        loop.add_reader(doomed, print)
        fd = doomed.fileno()
        doomed.close()  # closed while watched: its fileno() is -1 now
        other.close()
        assert loop.remove_reader(doomed) is True, (
            "a socket closed while watched must still be removable by the object itself: "
            "look it up among the keys when fileno() gives -1, as selectors does"
        )
        assert fd not in polls[-1].masks


def test_poll_loop_moves_four_mebibytes(challenges, polls, pair):
    left, right = pair
    payload = os.urandom(4 * 1024 * 1024)
    sent, received = 0, bytearray()
    with poll_loop(challenges) as loop:

        def push():
            nonlocal sent
            try:
                sent += left.send(payload[sent:sent + 256 * 1024])
            except BlockingIOError:
                return
            if sent == len(payload):
                loop.remove_writer(left)

        def drain():
            received.extend(right.recv(256 * 1024))
            if len(received) == len(payload):
                loop.remove_reader(right)
                loop.stop()

        loop.add_writer(left, push)
        loop.add_reader(right, drain)
        backstop = loop.call_later(BACKSTOP * 3, loop.stop)
        loop.run_forever()
        backstop.cancel()
        assert bytes(received) == payload, f"sent {sent:,} bytes, received {len(received):,}"
        assert len(loop._selector.get_map()) == 1, "only the loop's own descriptor is left"


def test_poll_loop_hears_its_descriptors_while_busy(challenges, polls, pair):
    receiver, sender = pair
    passes = 0
    with poll_loop(challenges) as loop:

        def busy():
            nonlocal passes
            passes += 1
            loop.call_soon(busy)

        got = []

        def got_it():
            got.append((receiver.recv(10), passes > 0))
            loop.remove_reader(receiver)
            loop.stop()

        loop.call_soon(busy)
        loop.add_reader(receiver, got_it)
        loop.call_later(0.01, sender.send, b"x")
        backstop = loop.call_later(BACKSTOP, loop.stop)
        loop.run_forever()
        backstop.cancel()
    assert got == [(b"x", True)], "the reader must run while a callback keeps the loop busy"
