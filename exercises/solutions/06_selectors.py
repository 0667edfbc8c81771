"""Chapter 6 — Selectors: reference solutions.

Spoilers. Try the challenges in `exercises/06-selectors/challenges.py` first: a
solution you read teaches less than one you wrote, even a wrong one.

This file is never tangled into `eventloop` and nothing in the package imports
it. The project's test run checks it against `exercises/06-selectors/test_challenges.py`.
"""

import math
import select
import selectors
from collections.abc import Mapping
from selectors import EVENT_READ, EVENT_WRITE, SelectorKey

from eventloop import EventLoop


# ── 1. wait_readable ────────────────────────────────────────────────────────

def wait_readable(loop, sock):
    future = loop.create_future()

    def on_readable():
        loop.remove_reader(sock)
        if not future.done():  # cancelled earlier in this very batch
            future.set_result(None)

    def on_done(future):
        # A reader that was replaced has its handle cancelled (add_reader does
        # that): the socket's reader is someone else's now, not ours to remove.
        if future.cancelled() and not handle.cancelled():
            loop.remove_reader(sock)

    handle = loop._add_reader(sock, on_readable)
    future.add_done_callback(on_done)
    return future


# ── 2. read_lines ───────────────────────────────────────────────────────────

def read_lines(loop, sock, on_line):
    buffer = bytearray()  # what arrived after the last complete line

    def on_readable():
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return  # readable, then emptied by someone else: wait for the next time
        if not data:  # end of file: readable for ever after, so stop watching
            loop.remove_reader(sock)
            if buffer:
                on_line(bytes(buffer))
            on_line(None)
            return
        start = len(buffer)  # the bytes before it hold no b"\n": search only the new ones
        buffer.extend(data)
        line_start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            on_line(bytes(buffer[line_start:end + 1]))
            line_start = start = end + 1
        del buffer[:line_start]

    loop.add_reader(sock, on_readable)


# ── 3. Hardcore: a selector of your own, on poll() ─────────────────────────

def _fd_of(fileobj):
    """The descriptor number of an int or of an object with fileno(), as selectors words it."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class _KeyMap(Mapping):
    """What get_map() returns: the keys, looked up by descriptor or by file object."""

    def __init__(self, selector):
        self._selector = selector

    def __len__(self):
        return len(self._selector._keys)

    def __iter__(self):
        return iter(self._selector._keys)

    def __getitem__(self, fileobj):
        try:
            return self._selector._keys[self._selector._fd_for(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None


class PollSelector(selectors.BaseSelector):
    """A selector on select.poll(): one poll object, and a key per descriptor."""

    def __init__(self):
        self._poll = select.poll()
        self._keys = {}  # fd -> SelectorKey
        self._map = _KeyMap(self)

    def _fd_for(self, fileobj):
        try:
            return _fd_of(fileobj)
        except ValueError:
            # A socket closed while registered answers fileno() with -1; the
            # loop still names it by the object (key.fileobj) to unregister it.
            for key in self._keys.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    @staticmethod
    def _mask(events):
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        return (events & EVENT_READ and select.POLLIN) | (events & EVENT_WRITE and select.POLLOUT)

    def register(self, fileobj, events, data=None):
        mask = self._mask(events)
        fd = _fd_of(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = SelectorKey(fileobj, fd, events, data)
        self._poll.register(fd, mask)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj):
        fd = self._fd_for(fileobj)
        try:
            key = self._keys.pop(fd)
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        self._poll.unregister(fd)  # or poll() would go on reporting it
        return key

    def modify(self, fileobj, events, data=None):
        mask = self._mask(events)
        fd = self._fd_for(fileobj)
        try:
            key = self._keys[fd]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        if events != key.events:
            self._poll.modify(fd, mask)
        key = self._keys[fd] = key._replace(events=events, data=data)
        return key

    def select(self, timeout=None):
        if timeout is None:
            milliseconds = None  # forever
        elif timeout <= 0:
            milliseconds = 0
        else:
            # Rounded up: rounded down, a timer 0.4 ms away would give poll(0),
            # and the loop would spin until it is due instead of sleeping.
            milliseconds = math.ceil(timeout * 1000)
        ready = []
        for fd, happened in self._poll.poll(milliseconds):
            key = self._keys.get(fd)
            if key is None:
                continue
            # Beyond POLLIN and POLLOUT, poll() reports POLLHUP (the other end is
            # gone: a pipe whose writer closed says POLLHUP, never POLLIN), POLLERR,
            # POLLNVAL. Count them as both, as selectors does: the callback's next
            # recv() or send() tells the program what happened.
            events = ((happened & ~select.POLLOUT and EVENT_READ)
                      | (happened & ~select.POLLIN and EVENT_WRITE)) & key.events
            if events:
                ready.append((key, events))
        return ready

    def close(self):
        self._keys.clear()
        self._map = None  # what a closed selector's get_map() answers
        self._poll = None

    def get_map(self):
        return self._map


class PollLoop(EventLoop):
    """The course's loop, waiting in poll() through PollSelector."""

    def __init__(self, *, pure_python=None):
        super().__init__(PollSelector(), pure_python=pure_python)
