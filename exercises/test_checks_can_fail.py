"""The exercises' checks can fail: every one fails on its untouched starter.

A check that passes against `challenges.py` as shipped — stubs that raise
NotImplementedError — cannot tell a solved challenge from an unsolved one. So,
for every chapter folder, run its test_challenges.py in a fresh pytest, once
against the starter (every check must fail: 0 passed, N failed, N > 0, no
errors) and once against the reference solution (every check must pass).

The subprocesses run one chapter's test file by path with --chapter, from the
repository's root with this Python, so they use the project's pytest settings
and never collect this file again (conftest.py also ignores it when
EVENTLOOP_EXERCISES_META is set). Plugin autoloading is off in them: the checks
need no plugin, and nbval's imports alone would triple the time.

If you have been solving a chapter in place, its starter is no longer the
untouched one: git then shows local changes to challenges.py, and the starter
half is skipped for that chapter (CI runs it on a clean checkout).
"""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
META_ENV = "EVENTLOOP_EXERCISES_META"  # as in conftest.py (not imported: any conftest is `conftest`)

CASES = [
    pytest.param(int(folder.name[:2]), folder, against, id=f"{folder.name}-{against}")
    for folder in sorted(HERE.glob("[0-9][0-9]-*/test_challenges.py"))
    for folder in [folder.parent]
    for against in ("starter", "solution")
]


def run_checks(number: int, folder: Path, against: str, tmp_path: Path) -> tuple[dict, str]:
    """Run a chapter's checks in a subprocess; return ({check: outcome}, output)."""
    report = tmp_path / "report.xml"
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env[META_ENV] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str((folder / "test_challenges.py").relative_to(ROOT)),
        "--chapter", str(number), "--against", against, f"--junitxml={report}",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert report.exists(), f"pytest wrote no report; it said:\n{output}"
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name")
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[name] = "error" if "error" in kinds else "failed" if "failure" in kinds \
            else "skipped" if "skipped" in kinds else "passed"
    return outcomes, output


def starter_has_local_changes(path: Path) -> bool:
    """True if git knows `path` and it differs from HEAD: someone is solving it in place."""
    try:
        done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(path)],
                              cwd=ROOT, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False  # no git: assume the starter is untouched
    return done.returncode == 1


@pytest.mark.parametrize("number, folder, against", CASES)
def test_every_check_fails_on_the_starter_and_passes_on_the_solution(number, folder, against, tmp_path):
    if against == "starter" and starter_has_local_changes(folder / "challenges.py"):
        pytest.skip(f"{folder.name}/challenges.py has local changes: it is no longer the untouched starter")
    outcomes, output = run_checks(number, folder, against, tmp_path)
    assert outcomes, f"no checks ran for {folder.name}; pytest said:\n{output}"
    if against == "starter":
        wrong = {name: outcome for name, outcome in outcomes.items() if outcome != "failed"}
        assert not wrong, (
            f"against the untouched {folder.name}/challenges.py every check must fail, but "
            f"these did not: {wrong}. A check that passes on the stubs cannot tell a solved "
            f"challenge from an unsolved one; an error (rather than a failure) means a fixture "
            f"or the check itself broke.\n{output}"
        )
    else:
        wrong = {name: outcome for name, outcome in outcomes.items() if outcome != "passed"}
        assert not wrong, f"the reference solution for {folder.name} does not pass: {wrong}\n{output}"
