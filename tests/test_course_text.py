"""The course speaks of itself alone.

Its text cites the old reference by name — Python 3.6's asyncio documentation
page "Base Event Loop" — and never talks about how the course was made. This
test reads every file a reader or a programmer sees (README, the site's pages,
the notebooks, the package, the exercises) and fails on words that would.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Phrases about how the course came to be; "seed" alone is fine (a random seed, PYTHONHASHSEED).
FORBIDDEN = re.compile(r"seed document|the seed\b|seed's|commissioned|commission\b", re.IGNORECASE)

READ_BY_SOMEONE = ["README.md", "docs/**/*.md", "docs/hooks/*.py", "notebooks/*.ipynb", "notebooks/*.py",
                   "eventloop/*.py", "exercises/**/*.py", "exercises/**/*.md"]


def files():
    found = set()
    for pattern in READ_BY_SOMEONE:
        found.update(path for path in ROOT.glob(pattern) if "vendor" not in path.parts)
    return sorted(found)


def test_there_are_files_to_read():
    names = {path.name for path in files()}
    assert {"README.md", "00-introduction.ipynb", "loop.py"} <= names


@pytest.mark.parametrize("path", files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_course_does_not_talk_about_how_it_was_made(path):
    text = path.read_text(encoding="utf-8")
    hits = [f"line {text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}" for match in FORBIDDEN.finditer(text)]
    assert not hits, f"{path.relative_to(ROOT)} talks about how the course was made: " + "; ".join(hits)


def test_the_check_catches_what_it_should():
    for sentence in ("The seed document says", "as the seed puts it", "the seed's wording", "commissioned from"):
        assert FORBIDDEN.search(sentence), sentence
    for sentence in ("PYTHONHASHSEED=0", "a random seed of 2024", "--seed", "lambda seed=seed: work(seed)"):
        assert not FORBIDDEN.search(sentence), sentence
