"""Revision 0004 (version links): on a populated file at 0002, the upgrade fills each version's
``previous_created_at`` from the versions before it, so ``document_churn`` answers as the
``count(DISTINCT)`` it replaced; the downgrade drops the column and keeps every row."""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path

import duckdb
import pytest

from project_architect_db import Database, SchemaOutdatedError
from project_architect_db.migration import MigrationManager
from tests._analytics_before import BEFORE
from tests.integration.analytics.test_rewrite_equivalence import dataset_sql
from tests.integration.migration.helpers import EngineFactory

RECOUNT = """
SELECT count(*) FILTER (WHERE v.previous_created_at IS NOT DISTINCT FROM p.created_at),
    count(*), count(v.previous_created_at)
FROM document_versions v
LEFT JOIN document_versions p ON p.document_id = v.document_id AND p.version = v.version - 1
"""


def _columns(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [row[0] for row in con.execute("DESCRIBE document_versions").fetchall()]


def _versions(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM document_versions").fetchone()[0])  # type: ignore[index]


@pytest.fixture
async def populated(make_engine: EngineFactory, tmp_path: Path) -> Path:
    """A file at revision 0002 holding the edge-case dataset (written before the links)."""
    path = tmp_path / "old.duckdb"
    engine = make_engine(path)
    await MigrationManager(engine).upgrade("0002")
    await engine.dispose()
    with duckdb.connect(str(path)) as con:
        for statement in dataset_sql(links=False):
            con.execute(statement)
    return path


async def test_the_upgrade_fills_the_links_the_writes_would_have_kept(
    populated: Path, make_engine: EngineFactory
) -> None:
    versions = _versions(populated)
    assert "previous_created_at" not in _columns(populated)
    engine = make_engine(populated)
    await MigrationManager(engine).upgrade("head")
    await engine.dispose()
    assert _versions(populated) == versions
    with duckdb.connect(str(populated), read_only=True) as con:
        linked, total, filled = con.execute(RECOUNT).fetchone()  # type: ignore[misc]
        old = con.execute(*BEFORE["document_churn"]).fetchall()
    assert linked == total == versions
    assert 0 < filled < total  # the dataset has first versions and later ones
    async with Database.open(populated, read_only=True, load_fts=False) as db:
        new = await db.analytics.document_churn().rows()
    assert old and len(old) == len(new)
    for (period, count, documents, churn), row in zip(old, new, strict=True):
        assert (period.replace(tzinfo=UTC), count, documents) == (
            row["period"],
            row["versions"],
            row["documents"],
        )
        assert math.isclose(churn, row["churn"], rel_tol=1e-12)


async def test_the_downgrade_drops_the_links_and_keeps_every_row(
    populated: Path, make_engine: EngineFactory
) -> None:
    versions = _versions(populated)
    engine = make_engine(populated)
    manager = MigrationManager(engine)
    await manager.upgrade("head")
    await manager.downgrade("0002")
    assert await manager.current() == "0002"
    await engine.dispose()
    assert "previous_created_at" not in _columns(populated)
    assert _versions(populated) == versions


async def test_a_file_without_the_links_refuses_a_read_only_open(populated: Path) -> None:
    with pytest.raises(SchemaOutdatedError, match="migrate") as info:
        async with Database.open(populated, read_only=True, load_fts=False):
            pass
    assert info.value.current == "0002"
    assert "previous_created_at" not in _columns(populated)


async def test_a_writable_open_refuses_until_asked_to_upgrade(populated: Path) -> None:
    with pytest.raises(SchemaOutdatedError, match="project-architect-db migrate upgrade"):
        async with Database.open(populated, load_fts=False):
            pass
    assert "previous_created_at" not in _columns(populated)
    async with Database.open(populated, load_fts=False, upgrade=True) as db:
        assert await db.analytics.document_churn().rows()
    assert "previous_created_at" in _columns(populated)
