"""Real selectors that count what the loop asks of them, and a socket that lives on: chapters 6, 9 and 10 test with them."""
import selectors
import socket


class CountingSelector(selectors.DefaultSelector):
    """A real selector that counts the changes the loop asks of it."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def register(self, fileobj, events, data=None):
        self.calls.append(("register", events))
        return super().register(fileobj, events, data)

    def modify(self, fileobj, events, data=None):
        self.calls.append(("modify", events))
        return super().modify(fileobj, events, data)

    def unregister(self, fileobj):
        self.calls.append(("unregister",))
        return super().unregister(fileobj)


class PassCountingSelector(selectors.DefaultSelector):
    """Counts select() calls on the class: the loop may swap its selector for a new one."""

    passes = 0

    def select(self, timeout=None):
        PassCountingSelector.passes += 1
        return super().select(timeout)


async def reuse_the_number_of_a_parked_socket_that_lives_on(loop):
    """Park a socket (a sock_recv that waited), close it while a dup keeps its file
    readable, and let a new socketpair take its number: (the dup, the old peer, the new pair)."""
    sock, peer = socket.socketpair()
    sock.setblocking(False)
    loop.call_later(0.001, peer.send, b"x")
    await loop.sock_recv(sock, 100)
    number, other_owner = sock.fileno(), sock.dup()
    sock.close()
    peer.send(b"for the other owner, who never reads it")
    new, new_peer = socket.socketpair()
    new.setblocking(False)
    assert new.fileno() == number, "the test needs the number reused"
    return other_owner, peer, new, new_peer
