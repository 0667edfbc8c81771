"""CPython's own test_tasks suite, run against `eventloop.Task` (and `Future`).

`BaseTaskTests` is parametrised by a `Task` and a `Future` class; CPython runs
it with every pair of its C and Python classes. We add the pairs that involve
ours — including mixed pairs, which is what proves the `_asyncio_future_blocking`
protocol works both ways — and the subclass variant (`add_subclass_tests`).
The parametrised classes are tools/conformance/cpython_suites.py's, and their
expected failures tools/conformance/expected-failures.txt's (strict).
"""
import pytest

test_tasks = pytest.importorskip("test.test_asyncio.test_tasks")
from _shared import suites  # noqa: E402

pytestmark = pytest.mark.filterwarnings("default")

globals().update(suites("test_tasks", test_tasks, __name__))
