"""The suite's own safety net: a worker that dies or hangs leaves readable evidence in the summary.

Runs pytest with xdist on a scratch folder of tests that crash (a segmentation fault), hang
and pass, with ``tests/_crash_evidence.py`` as the only plugin, and reads what the run prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

REPOSITORY = Path(__file__).resolve().parents[2]

SCRATCH_TESTS = textwrap.dedent(
    """
    import asyncio
    import ctypes
    import time


    def test_fine():
        assert True


    def test_crashes():
        ctypes.string_at(0)  # SIGSEGV in C: the worker dies


    def test_sleeps_past_the_dump():
        time.sleep(float(__import__("os").environ["SCRATCH_SLEEP"]))


    async def _waits_forever_for(event):
        await event.wait()


    def test_awaits_past_the_dump():
        async def main():
            event = asyncio.Event()
            task = asyncio.create_task(_waits_forever_for(event), name="stuck-waiter")
            await asyncio.sleep(float(__import__("os").environ["SCRATCH_SLEEP"]))
            event.set()
            await task

        asyncio.run(main())
    """
)


def _run(tmp_path: Path, *args: str, dump_after: str = "0.5") -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": str(REPOSITORY),
        "PADB_HANG_DUMP_SECONDS": dump_after,
        "SCRATCH_SLEEP": "1.5",
        "PYTHONFAULTHANDLER": "",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only xdist and the plugin under test: fast start
    }
    env.pop("PADB_CRASH_EVIDENCE_DIR", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini")),
            *("--rootdir", str(tmp_path), "-p", "tests._crash_evidence"),
            *("-p", "no:cacheprovider", "-p", "xdist.plugin"),
            *args,
            str(tmp_path / "test_scratch.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_crashed_and_a_hung_worker_leave_their_stacks_in_the_summary(tmp_path: Path) -> None:
    run = _run(tmp_path, "-n", "2")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr  # the crash is a failure
    assert "crashed while running" in out
    assert "worker evidence:" in out
    assert "Fatal Python error: Segmentation fault" in out
    assert "test_crashes" in out  # the crashing frame, from faulthandler
    # the hangs: one line per frame, the test's own frames and the stuck task's await
    assert "test_sleeps_past_the_dump still running after 0.5 s" in out
    assert "test_scratch.py:" in out
    # native stacks by py-spy: the C frames under the test's sleep, then its Python frame
    assert "native stacks (innermost first):" in out
    assert re.search(r"test_sleeps_past_the_dump \(.*test_scratch\.py:\d+\)", out), out
    assert "task stuck-waiter:" in out
    assert "_waits_forever_for" in out
    # the evidence sits after the other summaries, before pytest's short summary
    assert out.index("worker evidence:") < out.index("short test summary info")
    [kept] = (tmp_path / "tmp").glob("padb-crash-evidence-*")  # kept, as the summary says
    assert str(kept) in out


def test_a_clean_run_prints_no_evidence_and_leaves_no_folder(tmp_path: Path) -> None:
    run = _run(tmp_path, "-n", "2", "-k", "fine", dump_after="60")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "worker evidence" not in run.stdout
    assert not any((tmp_path / "tmp").glob("padb-crash-evidence-*"))
    assert "still running" not in run.stdout + run.stderr
    assert not any((tmp_path / "tmp").glob("padb-crash-evidence-*"))


def test_without_xdist_a_hang_is_written_to_stderr(tmp_path: Path) -> None:
    run = _run(tmp_path, "-k", "sleeps", "-s")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_sleeps_past_the_dump still running after 0.5 s" in run.stderr
    assert "worker evidence" not in run.stdout
    assert not any((tmp_path / "tmp").glob("padb-crash-evidence-*"))
