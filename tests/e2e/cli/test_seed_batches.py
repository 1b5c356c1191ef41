"""``seed`` in batches: the scale preset, the memory limit, the search index, interruptions.

The peak RSS of ``seed --preset scale`` (10M messages) is measured by
``benchmarks/measure_memory.py seed``; seeding it takes many minutes, so these tests run the
same code on the small presets and interrupt a real ``--preset scale`` run once (``-m slow``).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from project_architect_db import datagen
from project_architect_db.cli import app
from project_architect_db.cli import seed as seed_module
from project_architect_db.cli._common import INTERRUPTED_MESSAGE, ExitCode
from project_architect_db.cli._seed_progress import TABLE
from project_architect_db.cli.seed import Preset, _sizes, expected_rows

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "seed.duckdb")
    result = runner.invoke(app, ["init", "--database", path])
    assert result.exit_code == 0, result.output
    return path


def _projects(path: str) -> int:
    with duckdb.connect(path, read_only=True) as duck:
        return int(duck.execute("SELECT count(*) FROM projects").fetchone()[0])  # type: ignore[index]


def test_seed_without_the_search_index_says_the_first_search_builds_it(database: str) -> None:
    result = runner.invoke(
        app,
        ["seed", "--database", database, "--preset", "tiny", "--no-search-index",
         "--memory-limit", "512MB", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["search_index"] == "built by the first search"
    assert summary["rows"]["messages"] == 100
    assert _projects(database) == 5


def test_seed_help_offers_the_scale_preset_and_the_memory_limit() -> None:
    result = runner.invoke(app, ["seed", "--help"])
    assert result.exit_code == 0
    for option in ("scale", "--memory-limit", "--search-index"):
        assert option in result.stdout


def test_the_scale_preset_is_issue_13_s_19m_rows() -> None:
    sizes = _sizes(Preset.SCALE)
    assert sizes == dict(datagen.SCALE_SIZES)
    # 1M projects, conversations, documents, their versions, repositories and deployments,
    # 10M messages, 3M builds, ~200k attachments
    assert 19_000_000 < expected_rows(sizes) < 19_500_000
    assert expected_rows(_sizes(Preset.TINY)) < 1000


def test_seed_refuses_a_bad_memory_limit_and_writes_nothing(database: str) -> None:
    result = runner.invoke(
        app, ["seed", "--database", database, "--preset", "tiny", "--memory-limit", "lots"]
    )
    assert result.exit_code == ExitCode.USAGE
    assert "memory_limit" in result.output
    assert _projects(database) == 0


NOW = datetime(2025, 6, 30, tzinfo=UTC)


@pytest.fixture
def two_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``seed`` batches of 2 projects (tiny: 3 batches), its data dated ``NOW``."""
    monkeypatch.setattr(seed_module, "_projects_per_batch", lambda sizes: 2)
    monkeypatch.setattr(datagen, "start_of_day", lambda: NOW)


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """Ctrl-C while ``seed`` makes the batch after ``batches`` (counted from where it starts)."""
    real = datagen.generate_batches

    def interrupted(seed: int, **arguments: Any) -> Iterator[datagen.Dataset]:
        made = real(seed, **arguments)
        for _ in range(batches):
            yield next(made)
        raise KeyboardInterrupt

    monkeypatch.setattr(datagen, "generate_batches", interrupted)


def _marker(path: str) -> tuple[Any, ...] | None:
    with duckdb.connect(path, read_only=True) as duck:
        tables = {
            row[0] for row in duck.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if TABLE not in tables:
            return None
        return duck.execute(f"SELECT seed, preset, done, batches FROM {TABLE}").fetchone()


def _contents(path: str) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(path, read_only=True) as duck:
        return {
            name: duck.execute(f'SELECT * FROM "{name}" ORDER BY id').fetchall()
            for name in datagen.TABLE_NAMES
        }


def test_seed_interrupted_between_two_batches_keeps_them_says_so_and_resumes(
    database: str, tmp_path: Path, two_per_batch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_after(monkeypatch, 1)
    result = runner.invoke(app, ["seed", "--database", database, "--preset", "tiny"])
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    assert INTERRUPTED_MESSAGE in result.output
    assert "1 of 3 batches" in result.output
    assert "Run the same command again to resume" in result.output
    assert "db-reset" in result.output
    assert _projects(database) == 2  # the first batch is committed, with the marker
    assert _marker(database) == (42, "tiny", 1, 3)
    committed = sum(map(len, _contents(database).values()))

    monkeypatch.undo()
    monkeypatch.setattr(seed_module, "_projects_per_batch", lambda sizes: 2)
    monkeypatch.setattr(datagen, "start_of_day", lambda: datetime(2031, 1, 1, tzinfo=UTC))
    resumed = runner.invoke(app, ["seed", "--database", database, "--preset", "tiny", "--json"])
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert summary["resumed"] == f"seed 42 (preset tiny): 1 of 3 batches, {committed:,} rows"
    assert summary["rows"]["projects"] == 3  # the two batches left: 2 + 1
    assert _marker(database) is None

    # the same rows as a seed never interrupted (dated as the first run, not the resume)
    whole = str(tmp_path / "whole.duckdb")
    assert runner.invoke(app, ["init", "--database", whole]).exit_code == 0
    monkeypatch.setattr(datagen, "start_of_day", lambda: NOW)
    assert runner.invoke(app, ["seed", "--database", whole, "--preset", "tiny"]).exit_code == 0
    assert _contents(database) == _contents(whole)


def test_a_partial_seed_refuses_another_seed_and_adds_nothing(
    database: str, two_per_batch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_after(monkeypatch, 2)
    assert runner.invoke(app, ["seed", "--database", database, "--preset", "tiny"]).exit_code
    monkeypatch.undo()
    for other in (["--preset", "tiny", "--seed", "7"], ["--preset", "small"]):
        result = runner.invoke(app, ["seed", "--database", database, *other])
        assert result.exit_code == ExitCode.ERROR, result.output
        assert "stopped midway (seed 42 (preset tiny): 2 of 3 batches" in result.output
        assert "--preset tiny --seed 42" in result.output
        assert "db-reset" in result.output
    assert _projects(database) == 4
    assert _marker(database) == (42, "tiny", 2, 3)


def test_db_reset_drops_a_partial_seed_and_its_marker(
    database: str, two_per_batch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_after(monkeypatch, 1)
    assert runner.invoke(app, ["seed", "--database", database, "--preset", "tiny"]).exit_code
    assert _marker(database) is not None
    reset = runner.invoke(app, ["db-reset", "--database", database, "--yes"])
    assert reset.exit_code == 0, reset.output
    assert _marker(database) is None
    assert _projects(database) == 0
    monkeypatch.undo()
    again = runner.invoke(app, ["seed", "--database", database, "--preset", "tiny", "--seed", "7"])
    assert again.exit_code == 0, again.output
    assert _projects(database) == 5


def test_a_clash_in_a_later_batch_keeps_the_batches_before_it_and_says_what_to_do(
    database: str, two_per_batch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = datagen.generate_batches

    def clashing(seed: int, **arguments: Any) -> Iterator[datagen.Dataset]:
        made = real(seed, **arguments)
        first = next(made)
        yield first
        yield first  # the same rows again: the second batch clashes with the first

    monkeypatch.setattr(datagen, "generate_batches", clashing)
    result = runner.invoke(app, ["seed", "--database", database, "--preset", "tiny"])
    assert result.exit_code == ExitCode.ERROR, result.output
    assert "batch 2 of seed 42 (tiny)" in result.output
    assert "that batch was not added" in result.output
    assert "1 of 3 batches" in result.output
    assert _projects(database) == 2
    assert _marker(database) == (42, "tiny", 1, 3)


def test_seed_that_clashes_in_a_later_batch_leaves_the_database_unchanged(
    database: str,
) -> None:
    first = runner.invoke(app, ["seed", "--database", database, "--preset", "tiny"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["seed", "--database", database, "--preset", "small"])
    assert again.exit_code == ExitCode.ERROR
    assert "nothing was added" in again.output
    assert _projects(database) == 5


@pytest.mark.slow
@pytest.mark.subprocess
def test_ctrl_c_during_a_scale_seed_leaves_the_database_unchanged(database: str) -> None:
    before = Path(database).stat().st_size
    process = subprocess.Popen(
        [sys.executable, "-m", "project_architect_db", "seed", "--database", database,
         "--preset", "scale", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # the first batch is being written once the file grows (DuckDB writes large
        # uncommitted appends to the file)
        deadline = time.monotonic() + 600
        wal = Path(f"{database}.wal")
        while time.monotonic() < deadline and process.poll() is None:
            size = Path(database).stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            if size > before:
                break
            time.sleep(0.5)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert INTERRUPTED_MESSAGE in stderr
    assert _projects(database) == 0


async def test_the_progress_bar_follows_every_batch_and_ends_full(tmp_path: Path) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from project_architect_db import Database
    from project_architect_db.cli.seed import seed_database

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    sizes = _sizes(Preset.TINY)
    descriptions: list[str] = []
    async with Database.open(tmp_path / "bar.duckdb") as db:
        with Progress(
            TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
            console=console, auto_refresh=False,
        ) as progress:  # fmt: skip
            task = progress.add_task("generating", total=expected_rows(sizes))
            real_update = progress.update

            def update(task_id: Any, **fields: Any) -> None:
                if "description" in fields:
                    descriptions.append(fields["description"])
                real_update(task_id, **fields)
                progress.refresh()

            progress.update = update  # type: ignore[method-assign]
            batches = datagen.generate_batches(5, projects_per_batch=2, **sizes)
            written = await seed_database(db, batches, progress, task, search_index=False)
            state = progress.tasks[0]
    assert state.completed == state.total == written
    assert descriptions.count("generating") == 3  # after each of the 3 batches (2 + 2 + 1)
    assert descriptions[-1] == "committing"
    assert "loading messages" in descriptions
    assert f"{written}/{written}" in out.getvalue()
