"""CPython's own test_tasks suite, run against `eventloop.Task` (and `Future`).

`BaseTaskTests` is parametrised by a `Task` and a `Future` class; CPython runs
it with every pair of its C and Python classes. We add the pairs that involve
ours — including mixed pairs, which is what proves the `_asyncio_future_blocking`
protocol works both ways — and the subclass variant (`add_subclass_tests`).
"""
import asyncio
import functools
import unittest

import pytest

test_tasks = pytest.importorskip("test.test_asyncio.test_tasks")
from asyncio import futures, tasks  # noqa: E402
from test.test_asyncio import utils as test_utils  # noqa: E402

import eventloop  # noqa: E402

pytestmark = pytest.mark.filterwarnings("default")

#: {test name: reason}: expected failures of the suites whose Task is ours, applied with
#: unittest.expectedFailure (strict: a test that starts passing fails the run).
EXPECTED_FAILURES = {
    "test_get_stack": "Task.get_stack()/print_stack() are debugging aids: they arrive with the "
                      "chapter on errors and debug mode (chapter 4's 'How asyncio does it' says so)",
}


def _expected_failure(test):
    # unittest.expectedFailure marks the function it is given, and CPython's base
    # class shares that function with every suite: mark a wrapper of our own.
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        return test(self, *args, **kwargs)
    return unittest.expectedFailure(wrapper)


def _mark_expected_failures(cls):
    if not issubclass(cls.Task, eventloop.Task):
        return cls
    for name, reason in EXPECTED_FAILURES.items():
        if getattr(cls, name, None) is not None:
            setattr(cls, name, _expected_failure(getattr(cls, name)))
    return cls


@_mark_expected_failures
class EventloopTask_EventloopFuture_Tests(test_tasks.BaseTaskTests, test_tasks.SetMethodsTest,
                                          test_utils.TestCase):
    Task = eventloop.Task
    Future = eventloop.Future


@_mark_expected_failures
@test_tasks.add_subclass_tests
class EventloopTask_EventloopFuture_SubclassTests(test_tasks.BaseTaskTests, test_utils.TestCase):
    Task = eventloop.Task
    Future = eventloop.Future


@_mark_expected_failures
class EventloopTask_CFuture_Tests(test_tasks.BaseTaskTests, test_utils.TestCase):
    """Our Task awaiting asyncio's C futures."""
    Task = eventloop.Task
    Future = getattr(futures, "_CFuture", futures._PyFuture)


@_mark_expected_failures
class CTask_EventloopFuture_Tests(test_tasks.BaseTaskTests, test_utils.TestCase):
    """asyncio's C Task awaiting our futures."""
    Task = getattr(tasks, "_CTask", tasks._PyTask)
    Future = eventloop.Future


class EventloopCurrentLoopTests(test_tasks.BaseCurrentLoopTests, test_utils.TestCase):
    current_task = staticmethod(asyncio.current_task)  # 3.12+ reads it; 3.11 calls asyncio's

    def new_task(self, coro):
        return eventloop.Task(coro, loop=self.loop)
