"""Chapter 6 — Selectors: the challenges.

Write your answers in this file, replacing each `raise NotImplementedError`, then
check them from the repository's root:

    python3 tools/dev.py exercises 6

(That runs `python -m pytest -q exercises --chapter 6`.) Every check fails
until you write its challenge; the message of a failing check says what went
wrong and why it matters. The checks are in `test_challenges.py`, next to this
file. A reference solution is in `exercises/solutions/06_selectors.py`: make a
real attempt before you open it.

Your code runs on the course's loop, the installed `eventloop` package, with
real sockets and pipes. What chapter 6 built, and these challenges may use:

* `loop.add_reader(fd, callback, *args)`: call `callback(*args)`, in a pass of
  the loop, whenever `fd` is readable — an int, or an object with `fileno()`,
  such as a socket. A new reader for the same descriptor *replaces* the old
  one, whose handle is cancelled. `loop.remove_reader(fd)` stops it and returns
  whether there was a reader. `add_writer` and `remove_writer`, the same for
  "writable". The reader stays until it is removed: a socket with unread
  bytes, or at the end of its stream, is readable in every pass.
* `loop._add_reader(fd, callback, *args)` does the same and returns the
  reader's `Handle` (the public method returns None).
* A non-blocking socket's `recv(n)` returns at most n bytes, whatever has
  arrived — a message may come in several pieces, or several in one — and
  `b""` at the end of the stream (the other end closed); with nothing to read
  it raises `BlockingIOError`.
* `loop._selector`, a `selectors` selector: `register(fileobj, events,
  data)`, `modify`, `unregister`, `get_key(fileobj)` (KeyError if it is not
  registered), `get_map()`, `select(timeout)`, `close()`. The loop keeps the
  pair `(reader handle, writer handle)` in each key's `data`.
* Each pass looks at the descriptors — `select(0)` when callbacks are ready,
  else it sleeps in `select(timeout)` until a descriptor is ready or the next
  timer is due — and the callbacks of the ready descriptors run in that
  pass's batch.
* From earlier chapters: futures (`loop.create_future()`, done callbacks,
  `cancel()`), tasks, `asyncio.timeout()`.
"""

import math
import select
import selectors
from collections.abc import Mapping
from selectors import EVENT_READ, EVENT_WRITE, SelectorKey

from eventloop import EventLoop


# ── 1. wait_readable ────────────────────────────────────────────────────────

def wait_readable(loop, sock):
    """Return a future that is done, with the result None, once `sock` is readable.

    `await wait_readable(loop, sock)` in a task waits until `sock` has bytes
    to read (or has reached the end of its stream) without blocking the loop.

    * Register a reader now. The first time it runs, set the future's result
      and remove the reader: `sock` stays readable until someone reads it, so
      a reader left behind runs again in every pass.
    * Read nothing: the bytes are the caller's.
    * If the future is cancelled first (by `cancel()`, or because the task
      awaiting it was cancelled, by a timeout say), remove the reader too.
      Beware of the pass in which both happen: the future may be cancelled by
      a callback that runs just before your reader, in the same batch.
    * Only remove the reader if it is still yours: if another
      `wait_readable(loop, sock)` replaced it meanwhile, leave that one alone.

    Hint: `loop._add_reader` returns the reader's handle, and `add_reader`
    cancels the handle of the reader it replaces.
    """
    raise NotImplementedError("challenge 1: write wait_readable(loop, sock)")


# ── 2. read_lines ───────────────────────────────────────────────────────────

def read_lines(loop, sock, on_line):
    """Call `on_line(line)` for every line that arrives on the non-blocking `sock`.

    A line is a `bytes` object that ends with `b"\\n"`, and `on_line` gets it
    with its `b"\\n"`, as soon as the read that completes it arrives: however
    the bytes are split between `recv()` calls — a line in three pieces, or
    five lines and the start of a sixth in one piece — each line is handed
    over once, whole, in the order of the stream.

    At the end of the stream (`recv()` returns `b""`), hand over what is left
    of an unfinished last line, if anything (never an empty `b""`), then call
    `on_line(None)`, once, and stop watching `sock`. Return None; the socket
    stays the caller's to close.

    Hint: a reader, and a buffer for what arrived after the last `b"\\n"`.
    """
    raise NotImplementedError("challenge 2: write read_lines(loop, sock, on_line)")


# ── 3. Hardcore: a selector of your own, on poll() ─────────────────────────

class PollSelector(selectors.BaseSelector):
    """A selector built on `select.poll()` directly: what the loop's `_selector` must be.

    The loop talks to its selector through a few methods only; implement them
    on a `select.poll()` object and a dict of keys, without `selectors`'
    ready-made selectors (you may use `selectors.BaseSelector`, the abstract
    interface this class derives from, `selectors.SelectorKey` and the
    constants `EVENT_READ`, `EVENT_WRITE`):

    * `__init__()`: make one poll object with `select.poll()` (the checks
      watch that function).
    * `register(fileobj, events, data=None)` returns a new
      `SelectorKey(fileobj, fd, events, data)`. `fileobj` is an int or an
      object with `fileno()`. `ValueError` for `events` that are not a
      non-zero combination of EVENT_READ and EVENT_WRITE, for a negative
      descriptor ("Invalid file descriptor: -1") and for an object without a
      usable fileno() ("Invalid file object: ..."); `KeyError` if the
      descriptor is registered already — a socket and its `fileno()` are the
      same descriptor.
    * `unregister(fileobj)` and `modify(fileobj, events, data=None)` return
      the key removed, or the new key; `KeyError` if it was not registered.
      The poll object must watch exactly what the keys say.
    * `get_key(fileobj)` (the base class's, through `get_map()`): the key,
      looked up by socket or by number, and also for a socket closed while
      registered, whose `fileno()` answers -1: find it among the keys.
    * `get_map()`: a mapping `{fd: key}`, looked up by fd or by file object
      (derive from `collections.abc.Mapping`); None once closed.
    * `select(timeout=None)`: a list of `(key, events)` for the ready
      descriptors. `poll()` counts in *milliseconds* and `None` waits
      forever; round a timeout *up*, so that the loop never wakes before its
      timer is due (a timer 0.4 ms away must not become `poll(0)`, a spin).
      `poll()` reports more than POLLIN and POLLOUT: POLLHUP (a pipe whose
      writer closed reports POLLHUP, not POLLIN), POLLERR, POLLNVAL. Count
      those as readable and writable, so that the callback's next
      `recv()`/`send()` finds out what happened — but report only events the
      key asked for.
    * `close()`.

    Hint: selectors' own `_PollLikeSelector`, in Lib/selectors.py, is about
    90 lines on top of `_BaseSelectorImpl`: write yours first, compare after.
    """

    def __init__(self):
        raise NotImplementedError("challenge 3: write PollSelector")

    def register(self, fileobj, events, data=None):
        raise NotImplementedError("challenge 3: PollSelector.register")

    def unregister(self, fileobj):
        raise NotImplementedError("challenge 3: PollSelector.unregister")

    def select(self, timeout=None):
        raise NotImplementedError("challenge 3: PollSelector.select")

    def get_map(self):
        raise NotImplementedError("challenge 3: PollSelector.get_map")


class PollLoop(EventLoop):
    """The course's loop, sleeping in your PollSelector: written for you.

    The checks run the chapter's scenarios on it — readers and writers on
    socketpairs, replacing a reader, four mebibytes through a socketpair, a
    busy loop that still hears its descriptors — and a pipe whose writer
    closed. A new loop already has one descriptor of its own registered (the
    self-pipe chapter 7 explains), so `len(loop._selector.get_map())` starts
    at 1.
    """

    def __init__(self, *, pure_python=None):
        super().__init__(PollSelector(), pure_python=pure_python)
