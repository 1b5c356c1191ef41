"""Revision 0002 (reply links): on a populated file, the upgrade fills the links from the messages
exactly as the window definition pairs them, and the downgrade drops them, keeping every row."""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import pytest

from project_architect_db import Database, SchemaOutdatedError
from project_architect_db.migration import MigrationManager
from tests._analytics_before import BEFORE
from tests.integration.analytics.test_reply_links import RECOUNT_ASKED, RECOUNT_AWAITING
from tests.integration.analytics.test_rewrite_equivalence import dataset_sql
from tests.integration.migration.helpers import EngineFactory

TABLES = ("projects", "conversations", "messages", "attachments", "builds")


def _columns(path: Path, table: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def _counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


@pytest.fixture
async def populated(make_engine: EngineFactory, tmp_path: Path) -> Path:
    """A file at revision 0001 holding the edge-case dataset (written before the links)."""
    path = tmp_path / "old.duckdb"
    engine = make_engine(path)
    await MigrationManager(engine).upgrade("0001")
    await engine.dispose()
    with duckdb.connect(str(path)) as con:
        for statement in dataset_sql(links=False):
            con.execute(statement)
    return path


async def test_the_upgrade_fills_the_links_the_appends_would_have_written(
    populated: Path, make_engine: EngineFactory
) -> None:
    before = _counts(populated)
    assert "asked_at" not in _columns(populated, "messages")
    engine = make_engine(populated)
    await MigrationManager(engine).upgrade("head")
    await engine.dispose()
    assert _counts(populated) == before
    with duckdb.connect(str(populated), read_only=True) as con:
        asked = con.execute(RECOUNT_ASKED).fetchall()
        awaiting = con.execute(RECOUNT_AWAITING).fetchall()
        old = con.execute(*BEFORE["reply_latency"]).fetchall()
    assert sum(row[2] is not None for row in asked) > 50  # the dataset has replies to fill
    assert all(row[1] == row[2] for row in asked)
    assert sum(row[2] is not None for row in awaiting) > 5
    assert all(row[1] == row[2] for row in awaiting)
    async with Database.open(populated, read_only=True, load_fts=False) as db:
        new = await db.analytics.reply_latency().rows()
    assert old and len(old) == len(new)
    for (period, replies, median), row in zip(old, new, strict=True):
        assert (period.replace(tzinfo=UTC), replies) == (row["period"], row["replies"])
        assert math.isclose(median, row["median_reply_seconds"], rel_tol=1e-12)


async def test_the_downgrade_drops_the_links_and_keeps_every_row(
    populated: Path, make_engine: EngineFactory
) -> None:
    before = _counts(populated)
    engine = make_engine(populated)
    manager = MigrationManager(engine)
    await manager.upgrade("head")
    await manager.downgrade("0001")
    assert await manager.current() == "0001"
    await engine.dispose()
    assert "asked_at" not in _columns(populated, "messages")
    assert "awaiting_reply_since" not in _columns(populated, "conversations")
    assert _counts(populated) == before


async def test_a_file_without_the_links_says_to_migrate(populated: Path) -> None:
    # read-only, the library cannot upgrade it: the error names the command
    with pytest.raises(SchemaOutdatedError, match="migrate") as info:
        async with Database.open(populated, read_only=True, load_fts=False):
            pass
    assert (info.value.current, info.value.head) == ("0001", "0003")


async def test_a_writable_open_also_refuses_until_asked_to_upgrade(populated: Path) -> None:
    with pytest.raises(SchemaOutdatedError, match="project-architect-db migrate upgrade"):
        async with Database.open(populated, load_fts=False):
            pass
    assert "asked_at" not in _columns(populated, "messages")
    async with Database.open(populated, load_fts=False, upgrade=True) as db:
        rows: list[dict[str, Any]] = await db.analytics.reply_latency().rows()
    assert rows
    assert "asked_at" in _columns(populated, "messages")
