"""tools/uvloop_tests.py's judgement of one test: what it records, and how the strict list reads it."""
import asyncio
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import uvloop_tests  # noqa: E402

sys.path.pop(0)


def test_a_missing_loop_method_is_named_even_behind_the_error_it_caused():
    loop = asyncio.AbstractEventLoop()

    def watch_and_close():  # as test_process's tests do: the end fails, for the start failed
        try:
            handle = loop.add_reader(0, print)  # asyncio's abstract method: no message
        finally:
            handle.cancel()

    try:
        watch_and_close()
    except UnboundLocalError as error:
        assert uvloop_tests.lacks(error) == "NotImplementedError (AbstractEventLoop.add_reader)"
    else:
        raise AssertionError("no UnboundLocalError")


def test_a_not_implemented_error_of_our_own_is_not_a_missing_loop_method():
    try:
        raise NotImplementedError("TLS (ssl=) comes with the TLS chapter")
    except NotImplementedError as error:
        assert uvloop_tests.lacks(error) is None


def test_one_failing_subtest_fails_the_test_once_and_the_rest_keep_their_outcomes():
    class Case(unittest.TestCase):  # made here, so that pytest does not collect it
        def test_subtests(self):
            for n in range(3):
                with self.subTest(n=n):
                    self.assertNotEqual(n, 1)

        def test_fine(self):
            pass

        @unittest.skip("not here")
        def test_skipped(self):
            pass

    emitted = []
    result = uvloop_tests.Recorder(emitted.append)
    result.timeout = 60  # SIGALRM, unhandled here, would end pytest: far above these tests' time
    unittest.TestLoader().loadTestsFromTestCase(Case).run(result)
    outcomes = {record["id"].rsplit(".", 1)[1]: record["outcome"] for record in emitted}
    assert outcomes == {"test_subtests": "failed", "test_fine": "passed", "test_skipped": "skipped"}
    assert len(emitted) == 3


def test_the_list_decides_between_expected_failure_unexpected_pass_and_failure(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("## chapter 14 · Pipes and subprocesses\ntest_process.Test_AIO_Process.*\n")
    expected = uvloop_tests.lists.read(listed)
    records = [{"id": "test_process.Test_AIO_Process.test_a", "outcome": "failed"},
               {"id": "test_process.Test_AIO_Process.test_b", "outcome": "passed"},
               {"id": "test_tcp.Test_AIO_TCP.test_c", "outcome": "failed"},
               {"id": "test_tcp.Test_AIO_TCP.test_d", "outcome": "skipped"}]
    uvloop_tests.judge(records, expected)
    assert [r["status"] for r in records] == ["expected failure", "unexpected pass", "failed", "skipped"]
    assert records[0]["reason"] == "chapter 14 · Pipes and subprocesses"
