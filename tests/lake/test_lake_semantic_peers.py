"""Semantic search across OS processes on one lake (issue 16 on a lake; issue 14 point 5).

Real child processes (``_semantic_peer.py``) share only PostgreSQL and the data path with this
one. What they commit is found here after ``embedded()`` and, without waiting, once this
process's queue has looked (``poll_interval``); what they delete or rewrite is never found;
two embedding processes never write a row's chunks twice; a process killed inside its embedder
loses nothing; another model is refused; a process without an embedder searches by vector.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    EmbeddingMismatchError,
    EmbeddingTimeoutError,
    ProjectArchitectDBError,
    ReadOnlyError,
)
from tests.integration.lakeguard.conftest import kill, python
from tests.integration.semantic._embedders import Words, vector
from tests.lake._ask import ask
from tests.lake.conftest import Lake
from tests.lake.test_lake_feed import allow_connections, terminate_sessions

pytestmark = [pytest.mark.subprocess, pytest.mark.timeout(900)]


@dataclass
class Peer:
    """Another process on the lake: send a command, get its answer."""

    process: subprocess.Popen[bytes]
    project: str

    async def __call__(self, *command: Any) -> Any:
        answer = await self.ask(*command)
        assert "error" not in answer, answer
        return answer["ok"]

    async def ask(self, *command: Any) -> dict[str, Any]:
        return await ask(self.process, *command)

    def quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b'["quit"]\n')
        self.process.stdin.flush()
        _, error = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, error.decode()[-3000:]


class Peers:
    """Starts peers on one lake; every one still running is stopped at the end."""

    def __init__(self, lake: Lake, extensions: Path) -> None:
        self._lake = lake
        self._extensions = extensions
        self.started: list[Peer] = []

    async def start(self, embedder: str) -> Peer:
        lake = self._lake
        spec = json.dumps([lake.catalog, lake.data_path, str(self._extensions), embedder])
        process = python(
            "-m",
            "tests.lake._semantic_peer",
            spec,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if not line.startswith(b'["ready"'):
            kill(process)
            raise AssertionError(line + (process.stderr.read() if process.stderr else b""))
        peer = Peer(process, json.loads(line)[1])
        self.started.append(peer)
        return peer

    def stop(self) -> None:
        for peer in self.started:
            if peer.process.poll() is None:
                peer.quit()


@pytest.fixture
def peers(lake: Lake, extension_directory: Path) -> Iterator[Peers]:
    made = Peers(lake, extension_directory)
    try:
        yield made
        made.stop()
    finally:
        for peer in made.started:
            kill(peer.process)


@pytest.fixture
def words() -> Words:
    return Words()


@pytest.fixture
async def db(lake: Lake, extension_directory: Path, words: Words) -> AsyncIterator[Database]:
    """This process: embeds with the 64-dimension ``Words``, as the ``words`` peers do."""
    async with lake.open(extension_directory=extension_directory, embedder=words) as opened:
        opened.search.semantic.poll_interval = 0.2
        yield opened


async def found(db: Database, query: Any) -> list[str]:
    return [h.snippet for h in await db.search.similar(query, k=20)]


async def scalar(db: Database, sql: str) -> Any:
    async with db.transaction() as tx:
        return await tx.run_native(lambda con: con.execute(sql).fetchone()[0])


async def duplicate_and_missing_chunks(db: Database) -> tuple[int, int]:
    """Chunk rows written twice for one (row, version, chunk); live rows without a chunk."""
    sql = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM document_chunks
            GROUP BY document_id, version, chunk HAVING count(*) > 1))
     + (SELECT count(*) FROM (SELECT 1 FROM message_chunks
            GROUP BY message_id, chunk HAVING count(*) > 1)),
       (SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_chunks c
            WHERE c.document_id = d.id AND c.version = d.version))
     + (SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM message_chunks c
            WHERE c.message_id = m.id))"""
    async with db.transaction() as tx:
        row = await tx.run_native(lambda con: con.execute(sql).fetchone())
    return int(row[0]), int(row[1])


async def test_rows_another_process_commits_are_found_after_embedded(
    db: Database, peers: Peers
) -> None:
    peer = await peers.start("none")  # writes only: this process embeds
    assert await found(db, "anything") == []  # semantic search starts here
    gone = await peer("doc", "gone.md", "the payment service crashed")
    kept = await peer("doc", "kept.md", "the payment gateway timed out")
    await peer("message", "the invoice queue is stuck")

    await db.search.embedded()

    assert set(await found(db, "payment")) >= {
        "the payment service crashed",
        "the payment gateway timed out",
    }
    assert (await found(db, "invoice queue stuck"))[0] == "the invoice queue is stuck"
    await peer("delete", gone)
    await peer("update", kept, "the billing gateway recovered")
    assert "the payment service crashed" not in await found(db, "payment service crashed")
    assert "the payment gateway timed out" not in await found(db, "payment gateway timed out")
    await db.search.embedded()
    assert (await found(db, "billing gateway recovered"))[0] == "the billing gateway recovered"


async def test_without_waiting_another_process_rows_are_embedded_within_the_poll(
    db: Database, peers: Peers
) -> None:
    peer = await peers.start("none")
    await db.search.embedded()  # this process's queue runs from now on
    await peer("message", "the kafka consumer lags behind")
    started = time.monotonic()
    while not await found(db, "kafka consumer lags"):
        assert time.monotonic() - started < 120, "never embedded without embedded()"
        await asyncio.sleep(0.2)
    assert (await duplicate_and_missing_chunks(db)) == (0, 0)


async def test_a_process_without_an_embedder_searches_what_others_embedded(
    db: Database, peers: Peers
) -> None:
    peer = await peers.start("none")
    await peer("doc", "a.md", "the cache warms slowly")
    assert await peer("similar_vector", "cache warms") == []  # nothing embedded yet
    await db.search.embedded()
    hits = await peer("similar_vector", "cache warms slowly")  # its matrix catches up
    assert [snippet for _, snippet in hits] == ["the cache warms slowly"]
    refused = await peer.ask("similar", "cache")  # a text needs an embedder
    assert refused["error"].startswith("EmbedderUnavailableError")
    assert (await peer.ask("embedded"))["error"].startswith("EmbedderUnavailableError")


async def test_vectors_another_process_embeds_reach_this_process_and_deletes_leave_it(
    lake: Lake, extension_directory: Path, peers: Peers
) -> None:
    async with lake.open(extension_directory=extension_directory, embedder=False) as db:
        peer = await peers.start("words")
        first = await peer("doc", "a.md", "the search index is rebuilt nightly")
        await peer("embedded")
        assert await found(db, vector("search index rebuilt", 64)) == [
            "the search index is rebuilt nightly"
        ]  # loaded here: the peer's chunks
        await peer("doc", "b.md", "the search cluster lost a node")
        await peer("update", first, "the reports are mailed weekly")
        await peer("embedded")
        after = await found(db, vector("search", 64))
        assert "the search cluster lost a node" in after  # brought up to this snapshot
        assert "the search index is rebuilt nightly" not in after  # the old version's chunks
        await peer("delete", first)
        assert "the reports are mailed weekly" not in await found(db, vector("reports", 64))


async def test_two_embedding_processes_racing_embed_every_row_once(
    db: Database, words: Words, peers: Peers
) -> None:
    racers = [await peers.start("slowish"), await peers.start("slowish")]
    for racer in racers:
        await racer("batch", 2)
    db.search.semantic.batch_rows = 2
    async with db.transaction() as tx:
        project = await tx.projects.create({"name": "race", "slug": "race"})
        conversation = await tx.conversations.create({"project_id": project.id})
        for n in range(12):
            await tx.documents.create(
                {"project_id": project.id, "path": f"d{n}.md", "content": f"note {n} " * 150}
            )
        await tx.conversations.add_messages(
            conversation.id, [{"role": "user", "content": f"message {n}"} for n in range(15)]
        )

    await asyncio.gather(db.search.embedded(), *(racer("embedded") for racer in racers))

    assert await duplicate_and_missing_chunks(db) == (0, 0)
    assert len(await found(db, "message 7")) == 20
    # no batch was embedded by two processes: every passage text made exactly one chunk
    embedded = sum(n for kind, n in words.calls if kind == "passage")
    for racer in racers:
        embedded += await racer("passages")
    assert embedded == await scalar(
        db,
        "SELECT (SELECT count(*) FROM document_chunks WHERE embedding IS NOT NULL)"
        " + (SELECT count(*) FROM message_chunks WHERE embedding IS NOT NULL)",
    )
    assert await scalar(db, "SELECT count(*) - count(DISTINCT key) FROM semantic_state") == 0


async def test_a_process_killed_inside_its_embedder_loses_no_row(
    db: Database, peers: Peers
) -> None:
    assert await found(db, "anything") == []  # the model is recorded
    await db.search.close()  # this process embeds nothing until the peer is gone
    victim = await peers.start("slow")
    for n in range(5):
        await victim("doc", f"d{n}.md", f"runbook step {n}")
        await victim("message", f"deploy log line {n}")
    await victim("embed_in_background")  # inside its first passage call, holding the queue
    db.search.semantic.lock_wait = 0.3
    with pytest.raises(EmbeddingTimeoutError):  # this process's passes wait for the victim's
        await db.search.embedded(timeout=2)

    kill(victim.process)

    count = "SELECT (SELECT count(*) FROM document_chunks) + (SELECT count(*) FROM message_chunks)"
    assert await scalar(db, count) == 0
    survivor = await peers.start("words")  # the queue's lock died with the victim's session
    await asyncio.wait_for(survivor("embedded"), 120)
    hits = await survivor("similar", "runbook step 3")
    assert hits[0][1] == "runbook step 3"
    assert await duplicate_and_missing_chunks(db) == (0, 0)


async def test_an_embedder_of_another_model_is_refused_in_every_process(
    db: Database, peers: Peers, lake: Lake, extension_directory: Path
) -> None:
    await db.search.embedded()  # records test-words, 64 dimensions
    other = await peers.start("words32")
    await other("doc", "a.md", "text")

    for call in (("embedded",), ("similar", "text")):
        answer = await other.ask(*call)
        assert answer["error"].startswith("EmbeddingMismatchError"), answer
        assert "reset_embeddings" in answer["error"]
    async with lake.open(
        extension_directory=extension_directory, embedder=Words(model="another")
    ) as second:
        with pytest.raises(EmbeddingMismatchError, match="'test-words' \\(64 dimensions\\)"):
            await second.search.similar("text")


async def test_a_reset_in_one_process_empties_the_others_and_lets_a_new_model_in(
    db: Database, peers: Peers
) -> None:
    peer = await peers.start("none")
    await peer("doc", "a.md", "the warehouse loads hourly")
    await db.search.embedded()
    assert len(await peer("similar_vector", "warehouse")) == 1

    await db.search.reset_embeddings()

    assert await peer("similar_vector", "warehouse") == []  # its matrix saw the deletes
    words32 = await peers.start("words32")
    await words32("embedded")  # the record was dropped: another model may start
    assert [s for _, s in await words32("similar", "warehouse")] == ["the warehouse loads hourly"]


async def test_a_read_only_process_searches_but_never_embeds(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    project = await db.projects.create({"name": "ro", "slug": "ro"})
    await db.documents.create({"project_id": project.id, "path": "a.md", "content": "a lake"})
    await db.search.embedded()

    async with lake.open(
        extension_directory=extension_directory, embedder=Words(), read_only=True
    ) as reader:
        assert await found(reader, "lake") == ["a lake"]
        assert await found(reader, vector("lake", 64)) == ["a lake"]
        with pytest.raises(ReadOnlyError, match="nothing is embedded here"):
            await reader.search.embedded()
        with pytest.raises(ReadOnlyError, match="cannot be dropped"):
            await reader.search.reset_embeddings()


async def test_a_read_only_process_on_a_lake_never_embedded_says_what_to_do(
    db: Database, lake: Lake, extension_directory: Path
) -> None:
    async with lake.open(
        extension_directory=extension_directory, embedder=Words(), read_only=True
    ) as reader:
        with pytest.raises(ReadOnlyError, match="open it writable once"):
            await reader.search.similar("anything")


async def test_an_unreachable_catalog_is_a_typed_error_and_nothing_is_lost(
    db: Database, lake: Lake
) -> None:
    project = await db.projects.create({"name": "cat", "slug": "cat"})
    await db.search.embedded()
    await db.documents.create({"project_id": project.id, "path": "a.md", "content": "the outage"})
    await allow_connections(lake, False)
    try:
        await terminate_sessions(lake)
        await asyncio.sleep(1)  # the background queue's looks fail meanwhile, and go on
        with pytest.raises(ProjectArchitectDBError, match=r"(?i)catalog|postgres"):
            await db.search.embedded(timeout=60)
    finally:
        await allow_connections(lake, True)
    for attempt in range(20):  # the pools' sessions were killed: the next ones work
        try:
            await db.search.embedded(timeout=60)
            break
        except ProjectArchitectDBError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)
    assert await found(db, "the outage") == ["the outage"]
