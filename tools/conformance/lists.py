"""The two reviewed lists: not-applicable.txt and expected-failures.txt.

Format, one pattern a line, grouped under the reason that covers them:

    ## the reason (or the chapter that will fix it)
    test_module.TestClass.test_name        an exact test
    test_module.TestClass.test_sock_*      fnmatch pattern (case-sensitive)
    test_module.TestClass.test_x  [3.12+]  only on Python 3.12 and newer ([3.11] only
                                           on 3.11, [-3.12] up to 3.12)
    test_module.TestClass.*  [unless-ours] (not-applicable.txt) run them all: those that
                                           make or run our loop count as ours, the others
                                           as not applicable (for classes that mix both)

Blank lines and lines starting with a single `#` are comments. Standard library only.
"""
import fnmatch
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_APPLICABLE = HERE / "not-applicable.txt"
EXPECTED_FAILURES = HERE / "expected-failures.txt"

_VERSIONS = re.compile(r"\[(-)?(\d+)\.(\d+)(\+)?\]$")


class Entry:
    def __init__(self, pattern, reason, line, versions, unless_ours=False):
        self.pattern, self.reason, self.line, self.versions = pattern, reason, line, versions
        self.unless_ours = unless_ours

    def applies(self, version=sys.version_info[:2]):
        low, high = self.versions
        return low <= tuple(version) <= high

    def matches(self, test_id):
        return fnmatch.fnmatchcase(test_id, self.pattern)

    def __repr__(self):
        return f"{self.pattern} (line {self.line})"


def read(path):
    entries, reason = [], None
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if line.startswith("##"):
            reason = line[2:].strip()
            continue
        if not line or line.startswith("#"):
            continue
        versions = ((0, 0), (99, 99))
        words = line.split()
        unless_ours = words[-1] == "[unless-ours]"
        if unless_ours:
            words = words[:-1]
        found = _VERSIONS.match(words[-1]) if len(words) > 1 else None
        if found:
            up_to, major, minor, and_later = found.groups()
            version = (int(major), int(minor))
            versions = ((0, 0), version) if up_to else (version, (99, 99)) if and_later else (version, version)
            words = words[:-1]
        if len(words) != 1 or reason is None:
            raise ValueError(f"{path}:{number}: expected one pattern under a '## reason' line: {raw!r}")
        entries.append(Entry(words[0], reason, number, versions, unless_ours))
    return entries


def applicable(entries, version=sys.version_info[:2]):
    return [entry for entry in entries if entry.applies(version)]


def first_match(entries, test_id):
    return next((entry for entry in entries if entry.matches(test_id)), None)
