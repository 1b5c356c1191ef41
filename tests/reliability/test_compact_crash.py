"""A compaction killed at any moment leaves the database openable with exactly its content."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from project_architect_db.maintenance import TEMP_SUFFIX
from tests.integration.maintenance.helpers import content, fragmented
from tests.reliability._figures import FigureBook

TRIALS = 12


def _vacuum(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "project_architect_db", "db-vacuum", "--database", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.subprocess
def test_sigkill_at_random_points_of_a_vacuum_never_loses_the_file(
    tmp_path: Path, extension_directory: Path, figures: FigureBook
) -> None:
    path = tmp_path / "victim.duckdb"
    asyncio.run(fragmented(path, extension_directory))
    expected = content(path)

    # How long a whole vacuum takes here (interpreter start included), so the kills land
    # anywhere from the start to the end of the work, on a quiet or a loaded machine.
    started = time.monotonic()
    whole = _vacuum(path)
    _, stderr = whole.communicate(timeout=300)
    assert whole.returncode == 0, stderr.decode()
    duration = time.monotonic() - started
    assert content(path) == expected

    rng = random.Random(20261207)
    outcomes = {"killed": 0, "finished": 0, "left_a_temporary_copy": 0}
    for trial in range(TRIALS):
        process = _vacuum(path)
        time.sleep(rng.uniform(0, duration * 1.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            outcomes["killed"] += 1
        else:
            outcomes["finished"] += 1
        process.communicate(timeout=300)
        if Path(f"{path}{TEMP_SUFFIX}").exists():
            outcomes["left_a_temporary_copy"] += 1
        with duckdb.connect(str(path)) as duck:  # opens (read-write: replays any log)
            assert duck.execute("SELECT count(*) FROM projects").fetchone() == (40,), trial
        assert content(path) == expected, f"trial {trial}: the content changed"

    # the next vacuum clears whatever a killed one left behind
    final = _vacuum(path)
    _, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr.decode()
    assert not Path(f"{path}{TEMP_SUFFIX}").exists()
    assert not Path(f"{path}{TEMP_SUFFIX}.wal").exists()
    assert content(path) == expected
    assert outcomes["killed"] >= 1, outcomes
    figures.add("compaction under SIGKILL", **outcomes)
