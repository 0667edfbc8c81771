"""CPython's own test_futures suite, run against `eventloop.Future`.

The suite is written once (`BaseFutureTests` and friends) and parametrised by
class: CPython runs it with `futures._PyFuture` and `futures._CFuture`. Here the
same base classes run with the course's `Future`, imported from the running
Python's `test` package (so it is the suite that matches this interpreter).

The suites use asyncio's own `TestLoop` (a `BaseEventLoop` on a virtual
clock): they test the future, not our loop.
"""
import asyncio

import pytest

test_futures = pytest.importorskip("test.test_asyncio.test_futures")
from test.test_asyncio import utils as test_utils  # noqa: E402

import eventloop  # noqa: E402

# CPython's suites expect their own warning filters (some tests assert a
# warning, others trigger deprecations); pyproject turns warnings into errors.
pytestmark = pytest.mark.filterwarnings("default")

#: Tests expected to fail, with why. Applied as strict xfails: if one starts
#: passing, the run says so.
#: (None today: eventloop.Future follows each Python's set_exception(StopIteration()).)
EXPECTED_FAILURES = {}


def _mark_expected_failures(cls):
    import unittest
    for name, reason in EXPECTED_FAILURES.items():
        if hasattr(cls, name):
            setattr(cls, name, unittest.expectedFailure(getattr(cls, name)))
    return cls


@_mark_expected_failures
class EventloopFutureTests(test_futures.BaseFutureTests, test_utils.TestCase):
    cls = eventloop.Future


@_mark_expected_failures
class EventloopSubFutureTests(test_futures.BaseFutureTests, test_utils.TestCase):
    class SubFuture(eventloop.Future):
        pass

    cls = SubFuture


class EventloopFutureDoneCallbackTests(test_futures.BaseFutureDoneCallbackTests, test_utils.TestCase):
    def _new_future(self):
        return eventloop.Future(loop=self.loop)


class EventloopFutureInheritanceTests(test_futures.BaseFutureInheritanceTests, test_utils.TestCase):
    def _get_future_cls(self):
        return eventloop.Future


class DuckTypingTests(test_utils.TestCase):
    """asyncio's functions take our futures for futures."""

    def test_isfuture_and_wrap(self):
        loop = self.new_test_loop()
        fut = eventloop.Future(loop=loop)
        self.assertTrue(asyncio.isfuture(fut))
        self.assertIs(asyncio.ensure_future(fut), fut)
        fut.cancel()
