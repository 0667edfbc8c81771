"""CPython's own test_futures suite, run against `eventloop.Future`.

The suite is written once (`BaseFutureTests` and friends) and parametrised by
class: CPython runs it with `futures._PyFuture` and `futures._CFuture`. Here the
same base classes run with the course's `Future`, imported from the running
Python's `test` package (so it is the suite that matches this interpreter).
The parametrised classes are tools/conformance/cpython_suites.py's, which
`python3 tools/dev.py conformance` runs too.

The suites use asyncio's own `TestLoop` (a `BaseEventLoop` on a virtual
clock): they test the future, not our loop.
"""
import pytest

test_futures = pytest.importorskip("test.test_asyncio.test_futures")
from _shared import suites  # noqa: E402

# CPython's suites expect their own warning filters (some tests assert a
# warning, others trigger deprecations); pyproject turns warnings into errors.
pytestmark = pytest.mark.filterwarnings("default")

globals().update(suites("test_futures", test_futures, __name__))
