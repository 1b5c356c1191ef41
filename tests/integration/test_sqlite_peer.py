"""The SQLite peer of the scale benchmark: a faithful copy of a real DuckDB file, indexed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, func, select

from project_architect_db import Database
from project_architect_db.datagen import generate_dataset, load_dataset
from project_architect_db.exceptions import ConfigurationError, StorageError
from project_architect_db.selfbench._sqlite_peer import PEER_INDEXES, copy_to_sqlite, peer_metadata


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.duckdb"
    async with Database.open(path, load_fts=False) as db:
        await load_dataset(
            db,
            generate_dataset(
                5,
                projects=6,
                conversations_per_project=2,
                messages_per_conversation=4,
                documents_per_project=2,
                builds_per_repository=3,
                deployments_per_repository=2,
                attachment_rate=0.5,
            ),
        )
    return path


def _duck_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return {
            name: duck.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
            for name in peer_metadata().tables
        }


async def test_every_row_is_copied_and_reads_back_as_the_library_reads_it(
    source: Path, tmp_path: Path
) -> None:
    seen: list[tuple[str, int]] = []
    counts = copy_to_sqlite(
        source, tmp_path / "peer.sqlite", batch=7, progress=lambda *a: seen.append(a)
    )
    assert counts == _duck_counts(source)
    assert ("messages", counts["messages"]) in seen  # progress per batch, up to the total
    assert [n for table, n in seen if table == "messages"][:2] == [7, 14]

    tables = peer_metadata().tables
    projects, messages = tables["projects"], tables["messages"]
    engine = create_engine(f"sqlite:///{tmp_path / 'peer.sqlite'}")
    async with Database.open(source, load_fts=False, read_only=True) as db:
        with engine.connect() as lite:
            for row in lite.execute(select(projects)).mappings():
                read = await db.projects.get(row["id"])
                assert read is not None
                assert (row["name"], row["slug"], row["status"]) == (
                    read.name,
                    read.slug,
                    read.status,
                )
                assert row["tags"] == read.tags and row["architecture"] == read.architecture
                assert row["created_at"] == read.created_at  # aware UTC on both sides
            conversation = (await db.conversations.list(limit=1)).items[0]
            page = await db.conversations.messages(conversation.id, limit=100)
            peer = lite.execute(
                select(messages.c.id, messages.c.content)
                .where(messages.c.conversation_id == conversation.id)
                .order_by(messages.c.sequence)
            ).all()
            assert [(m.id, m.content) for m in page.items] == [tuple(row) for row in peer]
            assert (
                lite.execute(select(func.count()).select_from(messages)).scalar_one()
                == (counts["messages"])
            )
    engine.dispose()


def test_the_peer_indexes_serve_the_everyday_calls(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer.sqlite"
    copy_to_sqlite(source, target)
    with sqlite3.connect(target) as lite:
        names = {row[1] for row in lite.execute("PRAGMA index_list('projects')")}
        plan = " ".join(
            str(row[-1])
            for row in lite.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM projects WHERE status = 'active' "
                "ORDER BY created_at DESC, id DESC LIMIT 51"
            )
        )
    expected = {f"peer_{table}_{'_'.join(keys)}" for table, keys in PEER_INDEXES}
    assert {"ix_projects_slug"} | {n for n in expected if n.startswith("peer_projects")} <= names
    assert "USING INDEX peer_projects_status_created_at_id" in plan
    assert "TEMP B-TREE" not in plan  # no sort: the index gives the order


def test_an_existing_target_is_refused_and_left_alone(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer.sqlite"
    target.write_bytes(b"mine")
    with pytest.raises(ConfigurationError, match="exists"):
        copy_to_sqlite(source, target)
    assert target.read_bytes() == b"mine"


async def test_a_file_that_is_not_migrated_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ConfigurationError, match="migrate"):
        copy_to_sqlite(empty, tmp_path / "peer.sqlite")
    assert not (tmp_path / "peer.sqlite").exists()


def test_a_missing_source_and_a_bad_batch_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open"):
        copy_to_sqlite(tmp_path / "nowhere.duckdb", tmp_path / "peer.sqlite")
    with pytest.raises(ConfigurationError, match="positive"):
        copy_to_sqlite(tmp_path / "nowhere.duckdb", tmp_path / "peer.sqlite", batch=0)
    assert not (tmp_path / "peer.sqlite").exists()


def test_a_copy_stopped_midway_leaves_no_file(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "peer.sqlite"

    def stop(table: str, copied: int) -> None:
        if table == "messages":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_to_sqlite(source, target, batch=5, progress=stop)
    assert not target.exists()
    copy_to_sqlite(source, target)  # and it can be made again
    assert target.exists()
