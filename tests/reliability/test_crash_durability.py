"""Committed transactions survive SIGKILL at random points; nothing uncommitted appears.

A writer process (``_crash_writer.py``) commits single creates, bulk creates, document
revisions, message appends and cascading project deletes on a DuckDB file through the library,
logging each transaction's intent before it and its commit after it (fsync'd). The test kills
it with SIGKILL at a random moment (while it opens the file, right after, or up to
``max_delay`` later), reopens the file with ``Database.open`` and checks it against the log
(see ``_crash.py``): every committed transaction is there or correctly deleted, the one
in-flight transaction is wholly there or wholly absent, no phantom rows, no orphans.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability._crash import ForkServer, FreshProcesses, Launcher, run_campaign
from tests.reliability._figures import FigureBook

#: Kill points per campaign in CI (4 campaigns: 52 kill points).
KILLS = 13
SEEDS = [101, 202, 303, 404]
#: The slow run: fresh interpreters (no fork server), more and longer campaigns.
SLOW_KILLS = 40
SLOW_SEEDS = [505, 606, 707, 808]


@pytest.fixture(scope="session")
def fork_server() -> Iterator[ForkServer]:
    """One writer fork server per xdist worker."""
    server = ForkServer()
    try:
        yield server
    finally:
        server.close()


def _campaign(
    folder: Path,
    seed: int,
    launcher: Launcher,
    kills: int,
    max_delay: float,
    figures: FigureBook,
    launcher_name: str,
) -> None:
    result = run_campaign(folder, seed, launcher, kills, max_delay=max_delay)
    figures.add("crash durability", **vars(result))
    figures.add(f"crash durability ({launcher_name})", kill_points=result.kill_points)
    print(f"seed {seed} ({launcher_name}): {result}")
    assert result.kill_points == kills
    assert result.killed_while_writing > 0
    assert result.committed_checked >= 5, "the writer committed almost nothing: test is blind"
    assert (result.lost, result.phantom, result.partial) == (0, 0, 0)
    assert (result.orphans, result.id_mismatches) == (0, 0)


@pytest.mark.subprocess
@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_at_random_points_loses_no_committed_transaction(
    seed: int, tmp_path: Path, fork_server: ForkServer, figures: FigureBook
) -> None:
    _campaign(tmp_path, seed, fork_server, KILLS, 1.5, figures, ForkServer.name)


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_sigkill_campaign_with_a_fresh_interpreter_per_kill(
    seed: int, tmp_path: Path, figures: FigureBook
) -> None:
    launcher = FreshProcesses()
    try:
        _campaign(tmp_path, seed, launcher, SLOW_KILLS, 3.0, figures, FreshProcesses.name)
    finally:
        launcher.close()
