"""CPython's suites parametrised with ours, and their expected failures: both
come from tools/conformance/ (cpython_suites.py, expected-failures.txt), which
`python3 tools/dev.py conformance` uses too, so each suite is defined once."""
import functools
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parents[2] / "tools" / "conformance"
sys.path.insert(0, str(HERE))
import cpython_suites  # noqa: E402
import lists  # noqa: E402

sys.path.remove(str(HERE))


def _expected_failure(test):
    # unittest.expectedFailure marks the function it is given, and CPython's base
    # class shares that function with every suite: mark a wrapper of our own.
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        return test(self, *args, **kwargs)
    return unittest.expectedFailure(wrapper)


def suites(name, module, module_name):
    """{class name: suite} for test_asyncio's `name`, as tools/conformance runs them,
    with the listed expected failures as strict unittest expected failures."""
    expected = lists.applicable(lists.read(lists.EXPECTED_FAILURES))
    classes = cpython_suites.suites_for(name, module, module_name)
    for class_name, cls in classes.items():
        for attribute in dir(cls):
            if attribute.startswith("test") and lists.first_match(expected, f"{name}.{class_name}.{attribute}"):
                setattr(cls, attribute, _expected_failure(getattr(cls, attribute)))
    return classes
