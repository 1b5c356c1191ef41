"""The embedding queue: a SIGKILL loses nothing; out-of-stamp-order commits are not skipped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from project_architect_db import Database
from tests.integration.semantic._embedders import Words
from tests.integration.semantic.conftest import project_with

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from project_architect_db import Database
from tests.integration.semantic._embedders import Slow

async def main(path):
    slow = Slow(seconds=0)
    async with Database.open(path, embedder=slow) as db:
        await db.search.embedded()  # semantic search in use here: commits wake the queue
        slow.seconds = 120  # the queue will be stuck inside the embedder when killed
        project = await db.projects.create({{"name": "crash"}})
        conversation = await db.conversations.create({{"project_id": project.id, "title": "t"}})
        for i in range(5):
            await db.documents.create({{"project_id": project.id, "path": f"{{i}}.md",
                                        "title": "t", "content": f"crashed document {{i}}"}})
            await db.conversations.add_message(
                conversation.id, {{"role": "user", "content": f"crashed message {{i}}"}})
        print("committed", flush=True)
        while not slow.entered:  # inside the embedder now
            await asyncio.sleep(0.01)
        print("embedding", flush=True)
        await asyncio.sleep(600)

asyncio.run(main(sys.argv[1]))
"""


def _chunk_count(db_path: Path) -> Any:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "SELECT (SELECT count(*) FROM document_chunks), (SELECT count(*) FROM message_chunks)"
        ).fetchone()


def _run_child_until_embedding(path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
        assert child.stdout.readline().strip() == "embedding"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


async def test_a_sigkill_between_commit_and_embedding_loses_no_row(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    await asyncio.to_thread(_run_child_until_embedding, path)
    assert await asyncio.to_thread(_chunk_count, path) == (0, 0)  # killed before any chunk

    async with Database.open(path, embedder=Words()) as db:
        await db.search.embedded()
        documents = await db.search.similar("crashed document", k=20, scope="documents")
        messages = await db.search.similar("crashed message", k=20, scope="messages")

    assert sorted(h.snippet for h in documents) == [f"crashed document {i}" for i in range(5)]
    assert sorted(h.snippet for h in messages) == [f"crashed message {i}" for i in range(5)]


async def _commit_out_of_order(db: Database) -> tuple[Any, Any]:
    """A row stamped first but committed after a newer one was embedded."""
    project = await project_with(db)
    await db.search.embedded()
    written, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> Any:
        async with db.transaction() as tx:
            row = await tx.documents.create(
                {"project_id": project.id, "path": "old.md", "title": "t", "content": "older stamp"}
            )
            written.set()
            await release.wait()
        return row

    task = asyncio.ensure_future(slow_writer())
    await written.wait()
    newer = await db.documents.create(
        {"project_id": project.id, "path": "new.md", "title": "t", "content": "newer stamp"}
    )
    await db.search.embedded()  # the high-water mark moves past the older row's stamp
    release.set()
    older = await task
    assert older.updated_at < newer.updated_at
    await db.search.embedded()
    return older, newer


async def test_a_row_committed_out_of_stamp_order_is_not_skipped(db: Database) -> None:
    older, newer = await _commit_out_of_order(db)

    hits = await db.search.similar("stamp", k=10)

    assert {h.id for h in hits} == {older.id, newer.id}


async def test_without_the_window_that_row_would_be_skipped(db: Database) -> None:
    # what the window is for: with none, the late commit is behind the high-water mark
    db.search.semantic.window = timedelta(0)
    _older, newer = await _commit_out_of_order(db)

    hits = await db.search.similar("stamp", k=10)

    assert {h.id for h in hits} == {newer.id}


async def test_embedding_twice_keeps_one_set_of_chunks(db: Database, words: Words) -> None:
    project = await project_with(db, a="idempotent")
    await db.search.embedded()
    doc = await db.documents.get_by_path(project.id, "a.md")

    async with db.transaction() as tx:  # as if a crash lost the high-water mark's move
        await tx.run_native(lambda con: con.execute("UPDATE semantic_state SET hwm = NULL"))
        await tx.run_native(
            lambda con: con.execute(
                "DELETE FROM document_chunks WHERE document_id = $d AND chunk = 0", {"d": doc.id}
            )
        )
    await db.search.embedded()

    hits = await db.search.similar("idempotent", k=10)
    assert [h.id for h in hits] == [doc.id]
