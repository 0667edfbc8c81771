"""Chapter 6: the selector loop — add_reader, remove_reader, add_writer, remove_writer.

Real sockets (socketpairs) throughout. Where behaviour must equal asyncio's,
the scenario runs on asyncio's loop and ours (`loops.compare`); asyncio's
selector loop also watches its self-pipe, so scenarios never compare what is
registered, only what the program sees.
"""
import asyncio
import gc
import os
import selectors
import socket
import warnings

import pytest

from _selectors import CountingSelector

CHAPTER = 6


@pytest.fixture
def pair():
    """A connected, non-blocking socketpair, closed after the test."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def noop(*args):
    pass


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def outcome(function, *args):
    try:
        return "ok", function(*args)
    except Exception as error:
        return type(error).__name__, str(error)


def test_event_loop_is_the_selector_loop(el, el_chapter, loop):
    assert issubclass(el.EventLoop, el.SelectorEventLoop)
    assert type(loop) is el.EventLoop
    if el_chapter == 6:
        assert el.EventLoop is el.SelectorEventLoop
    assert isinstance(loop, el.BaseEventLoop)
    assert isinstance(loop._selector, selectors.BaseSelector)


def test_a_reader_runs_with_its_arguments_when_data_arrives(loops, pair):
    receiver, sender = pair

    def scenario(loop):
        trace = []

        def on_readable(tag):
            trace.append((tag, receiver.recv(100)))
            trace.append(("removed", loop.remove_reader(receiver), loop.remove_reader(receiver)))
            loop.stop()

        trace.append(("add_reader returns", loop.add_reader(receiver, on_readable, "first")))
        loop.call_later(0.01, sender.send, b"data")
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == [
        ("add_reader returns", None), ("first", b"data"), ("removed", True, False),
    ]


def test_a_new_reader_replaces_the_old_one(loops, pair):
    receiver, sender = pair

    def scenario(loop):
        trace = []
        loop.add_reader(receiver, trace.append, "old")
        loop.add_reader(receiver, lambda: (trace.append(receiver.recv(10)), loop.stop()))
        sender.send(b"x")
        loop.run_forever()
        loop.remove_reader(receiver)
        return trace

    assert loops.compare(scenario) == [b"x"]


def test_reader_and_writer_on_one_descriptor(loops, pair):
    receiver, sender = pair

    def scenario(loop):
        trace = []

        def writable():
            trace.append("writable")
            trace.append(("remove_writer", loop.remove_writer(receiver)))
            receiver.send(b"echo")

        def readable():
            trace.append(("readable", receiver.recv(10)))
            trace.append(("remove_reader", loop.remove_reader(receiver)))
            loop.stop()

        loop.add_writer(receiver, writable)
        loop.add_reader(receiver, readable)
        loop.call_later(0.02, sender.send, b"ping")
        loop.run_forever()
        trace.append(("echoed", sender.recv(10)))
        return trace

    assert loops.compare(scenario) == [
        "writable", ("remove_writer", True), ("readable", b"ping"), ("remove_reader", True), ("echoed", b"echo"),
    ]


class BadFileno:
    def fileno(self):
        raise ValueError("closed")


@pytest.mark.parametrize("fd", [-1, "3", None, 1.5, BadFileno()], ids=["negative", "str", "None", "float", "bad-fileno"])
def test_bad_descriptors_are_refused_as_asyncio_refuses_them(loops, fd):
    def scenario(loop):
        return [outcome(method, fd, print) for method in (loop.add_reader, loop.add_writer)] + [
            outcome(method, fd) for method in (loop.remove_reader, loop.remove_writer)
        ]

    trace = loops.compare(scenario)
    assert all(kind == "ValueError" for kind, _ in trace), trace


def test_a_closed_loop_refuses_readers_and_has_none_to_remove(loops, pair):
    receiver, _ = pair

    def scenario(loop):
        loop.close()
        return [outcome(loop.add_reader, receiver, print), outcome(loop.add_writer, receiver, print),
                outcome(loop.remove_reader, receiver), outcome(loop.remove_writer, receiver)]

    assert loops.compare(scenario) == [
        ("RuntimeError", "Event loop is closed"), ("RuntimeError", "Event loop is closed"),
        ("ok", False), ("ok", False),
    ]


def test_a_reader_that_raises_goes_to_the_exception_handler_and_the_loop_lives_on(loops, pair):
    receiver, sender = pair

    def scenario(loop):
        trace = []
        loop.set_exception_handler(lambda loop, context: trace.append(
            (context["message"].split(" at ")[0], type(context["exception"]).__name__, "handle" in context)))

        def fails():
            receiver.recv(10)
            loop.remove_reader(receiver)
            raise ZeroDivisionError

        loop.add_reader(receiver, fails)
        sender.send(b"x")
        loop.call_later(0.02, loop.stop)
        loop.run_forever()
        return trace

    trace = loops.compare(scenario)
    assert trace[0][1:] == ("ZeroDivisionError", True)


def test_a_cancelled_reader_is_dropped_when_its_descriptor_is_ready(el, loop, pair):
    receiver, sender = pair
    handle = loop._add_reader(receiver, pytest.fail, "a cancelled reader ran")
    handle.cancel()
    sender.send(b"x")
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    with pytest.raises(KeyError):
        loop._selector.get_key(receiver)


def test_callbacks_are_checked_at_once(el, loop, pair):
    """Deliberate: asyncio registers a non-callable and fails when it is called; we refuse it."""
    receiver, _ = pair
    with pytest.raises(TypeError, match="a callable object was expected by add_reader"):
        loop.add_reader(receiver, "not callable")

    async def coroutine_function():
        pass

    with pytest.raises(TypeError, match="coroutines cannot be used with add_writer"):
        loop.add_writer(receiver, coroutine_function)
    assert loop.remove_reader(receiver) is False


def test_a_full_socket_waits_for_its_writer(el, loop, pair):
    left, right = pair
    payload = os.urandom(2 * 1024 * 1024)
    sent, received = [0], bytearray()

    def push():
        try:
            sent[0] += left.send(payload[sent[0]:sent[0] + 65536])
        except BlockingIOError:
            return
        if sent[0] == len(payload):
            loop.remove_writer(left)

    def drain():
        received.extend(right.recv(65536))
        if len(received) == len(payload):
            loop.remove_reader(right)
            loop.stop()

    loop.add_writer(left, push)
    loop.add_reader(right, drain)
    loop.run_forever()
    assert bytes(received) == payload
    for sock in (left, right):  # both unregistered, once done
        with pytest.raises(KeyError):
            loop._selector.get_key(sock)


def test_the_loop_sleeps_in_the_selector_until_a_timer_or_a_descriptor(el, loop, pair):
    receiver, sender = pair
    trace = []
    loop.add_reader(receiver, lambda: trace.append(("read", receiver.recv(10), round(loop.time() - start, 1))))
    loop.call_later(0.2, lambda: trace.append(("timer", round(loop.time() - start, 1))))
    loop.call_later(0.1, sender.send, b"x")
    loop.call_later(0.3, loop.stop)
    start = loop.time()
    loop.run_forever()
    loop.remove_reader(receiver)
    assert trace == [("read", b"x", 0.1), ("timer", 0.2)]


def test_a_selector_can_be_given(el, new_loop):
    selector = selectors.PollSelector()
    loop = new_loop(lambda: el.SelectorEventLoop(selector))
    assert loop._selector is selector
    loop.close()
    assert loop._selector is None
    assert selector.get_map() is None  # what a closed selector answers


def test_loops_leave_no_descriptor_open(el):
    gc.collect()
    before = open_fds()
    for _ in range(20):
        el.new_event_loop().close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        unclosed = el.new_event_loop()
        del unclosed
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "unclosed event loop" in str(w.message) for w in caught)
    assert open_fds() == before


def test_close_refuses_while_running_and_keeps_the_selector(el, loop):
    def try_close():
        try:
            loop.close()
        except RuntimeError as error:
            seen.append(str(error))
        loop.stop()

    seen = []
    loop.call_soon(try_close)
    loop.run_forever()
    assert seen == ["Cannot close a running event loop"]
    assert loop._selector is not None


def test_a_loop_that_always_has_work_still_polls_its_descriptors(loops, pair):
    receiver, sender = pair

    def scenario(loop):
        trace = []

        def busy():
            loop.call_soon(busy)

        def readable():
            trace.append(receiver.recv(10))
            loop.remove_reader(receiver)
            loop.stop()

        loop.call_soon(busy)
        loop.add_reader(receiver, readable)
        sender.send(b"x")
        loop.call_later(1.0, loop.stop)  # a starved reader would leave the trace empty
        loop.run_forever()
        return trace

    assert loops.compare(scenario) == [b"x"]


def registered(loop, fd):
    """What the selector holds for `fd`: (events, reader, writer), or None."""
    try:
        key = loop._selector.get_key(fd)
    except KeyError:
        return None
    return key.events, *key.data


def test_the_loops_table_and_the_selector_agree_and_change_only_what_changes(el, new_loop, pair):
    receiver, sender = pair
    selector = CountingSelector()
    loop = new_loop(lambda: el.SelectorEventLoop(selector))
    fd = receiver.fileno()
    selector.calls.clear()  # the self-pipe's registration, from chapter 7 on

    first = loop._add_reader(fd, noop)
    second = loop._add_reader(receiver, noop)  # the same descriptor, as an object: a replacement
    assert first.cancelled() and not second.cancelled()
    assert registered(loop, fd) == (selectors.EVENT_READ, second, None)
    assert selector.calls == [("register", selectors.EVENT_READ)], "a new reader needs no system call"

    writer = loop._add_writer(fd, noop)
    assert registered(loop, fd) == (selectors.EVENT_READ | selectors.EVENT_WRITE, second, writer)
    assert loop._watched[fd] is loop._selector.get_key(fd).data  # one list, shared

    assert loop.remove_reader(fd) is True and loop.remove_reader(fd) is False
    assert registered(loop, fd) == (selectors.EVENT_WRITE, None, writer)
    assert loop.remove_writer(receiver) is True
    assert registered(loop, fd) is None and fd not in loop._watched
    assert selector.calls == [("register", selectors.EVENT_READ),
                              ("modify", selectors.EVENT_READ | selectors.EVENT_WRITE),
                              ("modify", selectors.EVENT_WRITE), ("unregister",)]
    assert second.cancelled() and writer.cancelled()


def test_a_socket_closed_while_watched_can_still_be_removed(el, loop):
    receiver, sender = socket.socketpair()
    fd = receiver.fileno()
    loop.add_reader(receiver, noop)
    receiver.close()  # its fileno() is now -1: the loop finds it by the object
    assert loop.remove_reader(receiver) is True
    assert registered(loop, fd) is None and fd not in loop._watched
    sender.close()


def test_close_forgets_every_descriptor(el, new_loop, pair):
    receiver, sender = pair
    loop = new_loop(el.SelectorEventLoop)
    loop.add_reader(receiver, noop)
    loop.add_writer(sender, noop)
    loop.close()
    assert loop._watched == {}


def test_an_int_of_any_class_is_a_descriptor_number(loops, pair):
    import enum

    receiver, sender = pair
    Descriptor = enum.IntEnum("Descriptor", {"RECEIVER": receiver.fileno()})

    def scenario(loop):
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 3.13's "bool is used as a file descriptor"
            # True is descriptor 1: whatever that is under pytest, both loops must say the same of it.
            trace.append(outcome(loop.add_writer, True, noop))
            trace.append(outcome(loop.remove_writer, True))
        loop.add_reader(Descriptor.RECEIVER, lambda: (trace.append(receiver.recv(10)), loop.stop()))
        sender.send(b"x")
        loop.run_forever()
        trace.append(("remove_reader", loop.remove_reader(receiver.fileno())))
        return trace

    trace = loops.compare(scenario)
    assert trace[-2:] == [b"x", ("remove_reader", True)], trace


def test_a_change_the_kernel_refuses_leaves_the_descriptor_unwatched(loops):
    """Closed behind the loop's back, the number taken by a new socket: the kernel
    says ENOENT to a modify, selectors forgets the descriptor, and so must the loop."""

    def scenario(loop):
        trace = []
        first, peer = socket.socketpair()
        number = first.fileno()
        loop.add_reader(number, trace.append, "the closed socket's reader")
        first.close()
        peer.close()
        new, new_peer = socket.socketpair()
        try:
            assert new.fileno() == number, "the test needs the number reused"
            trace.append(outcome(loop.add_writer, number, noop))
            loop.add_reader(number, lambda: (trace.append(("read", new.recv(10))), loop.stop()))
            new_peer.send(b"y")
            loop.call_later(2.0, loop.stop)  # a reader the kernel never heard of would never run
            loop.run_forever()
            trace.append(("remove_writer", loop.remove_writer(number)))
            trace.append(("remove_reader", loop.remove_reader(number)))
        finally:
            new.close()
            new_peer.close()
        return trace

    assert loops.compare(scenario) == [
        ("FileNotFoundError", "[Errno 2] No such file or directory"),
        ("read", b"y"), ("remove_writer", False), ("remove_reader", True),
    ]
