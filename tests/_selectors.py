"""A real selector that counts what the loop asks of it: chapters 6 and 9 test with it."""
import selectors


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
