"""Full-text search: freshness after writes, ranking, filters, snippets and unhappy queries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import InvalidQueryError, ReadOnlyError
from project_architect_db.models import Base
from project_architect_db.search import DocumentHit, MessageHit


async def _project(db: Database, name: str = "Atlas") -> uuid.UUID:
    return (await db.projects.create({"name": name})).id


async def _doc(
    db: Database, project_id: uuid.UUID, path: str, content: str, **extra: object
) -> uuid.UUID:
    data = {"project_id": project_id, "path": path, "content": content, **extra}
    return (await db.documents.create(data)).id


async def test_committed_document_is_found_deleted_is_not(db: Database) -> None:
    project = await _project(db)
    await db.search.rebuild()  # an index exists; the rows below are all "delta"
    doc = await _doc(db, project, "a.md", "WebSocket authentication with tokens")
    hits = await db.search.documents("websocket")
    assert [h.id for h in hits] == [doc]
    assert isinstance(hits[0], DocumentHit)
    assert hits[0].score > 0
    assert "**WebSocket**" in hits[0].snippet
    await db.documents.delete(doc)
    assert await db.search.documents("websocket") == []


async def test_deleted_indexed_document_disappears(db: Database) -> None:
    project = await _project(db)
    doc = await _doc(db, project, "a.md", "kafka streaming pipeline")
    await db.search.rebuild()
    assert [h.id for h in await db.search.documents("kafka")] == [doc]
    await db.documents.delete(doc)
    assert await db.search.documents("kafka") == []


async def test_updated_document_found_by_new_words_only(db: Database) -> None:
    project = await _project(db)
    doc = await _doc(db, project, "a.md", "postgres replication notes")
    await db.search.rebuild()
    await db.documents.update(doc, {"content": "duckdb columnar storage"})
    assert await db.search.documents("postgres") == []
    hits = await db.search.documents("columnar")
    assert [h.id for h in hits] == [doc]
    assert hits[0].version == 2


async def test_ranking_best_match_first_and_delta_scores_like_index(db: Database) -> None:
    project = await _project(db)
    best = await _doc(db, project, "best.md", "cache cache cache invalidation strategy")
    await _doc(db, project, "mid.md", "a cache layer in front of the service and more words")
    await _doc(db, project, "none.md", "nothing relevant here at all")
    before = await db.search.documents("cache")  # first search builds the index
    assert next(h.id for h in before) == best
    assert len(before) == 2
    # The same rows scored through the delta path (changed since the build) score the same.
    await db.documents.update(best, {"title": "best"})
    after = await db.search.documents("cache")
    assert after[0].id == best
    assert after[0].score == pytest.approx(before[0].score, rel=0.3)


async def test_filters_project_and_doc_type(db: Database) -> None:
    p1, p2 = await _project(db, "One"), await _project(db, "Two")
    a = await _doc(db, p1, "a.md", "gateway design", doc_type="adr")
    b = await _doc(db, p1, "b.md", "gateway notes", doc_type="note")
    c = await _doc(db, p2, "c.md", "gateway spec", doc_type="spec")
    assert {h.id for h in await db.search.documents("gateway")} == {a, b, c}
    assert {h.id for h in await db.search.documents("gateway", project_id=p1)} == {a, b}
    assert [h.id for h in await db.search.documents("gateway", doc_type="adr")] == [a]
    assert await db.search.documents("gateway", project_id=p2, doc_type="adr") == []
    assert len(await db.search.documents("gateway", limit=1)) == 1


async def test_messages_filters_and_roles(db: Database) -> None:
    project = await _project(db)
    conv = await db.conversations.create({"project_id": project})
    other = await db.conversations.create({"project_id": project})
    await db.conversations.add_message(conv.id, {"role": "user", "content": "How to shard?"})
    await db.conversations.add_message(
        conv.id, {"role": "assistant", "content": "Shard by tenant id, then rebalance."}
    )
    await db.conversations.add_message(other.id, {"role": "user", "content": "shard later"})
    hits = await db.search.messages("shard")
    assert len(hits) == 3
    assert all(isinstance(h, MessageHit) for h in hits)
    # the same instant as the message's *Read record, timezone-aware like it
    stored = {m.id: m.created_at for m in (await db.conversations.messages(conv.id)).items}
    for hit in hits:
        assert hit.created_at.utcoffset() == timedelta(0)
        assert hit.id not in stored or stored[hit.id] == hit.created_at
    assert {h.role for h in await db.search.messages("shard", role="assistant")} == {"assistant"}
    only = await db.search.messages("shard", conversation_id=conv.id)
    assert {h.conversation_id for h in only} == {conv.id}
    assert len(only) == 2
    assert len(await db.search.messages("shard", project_id=project)) == 3
    assert await db.search.messages("shard", project_id=uuid.uuid4()) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "!!! ... ???", "--", "54321"])
async def test_empty_and_punctuation_queries_return_nothing(db: Database, query: str) -> None:
    project = await _project(db)
    await _doc(db, project, "a.md", "some text 12345 !!!")
    assert await db.search.documents(query) == []
    assert await db.search.messages(query) == []


async def test_a_number_is_a_word(db: Database) -> None:
    project = await _project(db)
    doc = await _doc(db, project, "a.md", "some text 12345 !!!")
    hits = await db.search.documents("#12345")
    assert [h.id for h in hits] == [doc]
    assert "**12345**" in hits[0].snippet


async def test_huge_query_and_bad_limit_are_rejected(db: Database) -> None:
    with pytest.raises(InvalidQueryError):
        await db.search.documents("word " * 300)
    for limit in (0, -1, 1001):
        with pytest.raises(InvalidQueryError):
            await db.search.documents("word", limit=limit)
    with pytest.raises(InvalidQueryError):
        await db.search.messages("word", limit=5000)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE documents; --",
        '" OR 1=1 --',
        "$q $stems ? %s {}",
        "Robert'); DELETE FROM documents WHERE ('1'='1",
    ],
)
async def test_injection_strings_are_inert(db: Database, query: str) -> None:
    project = await _project(db)
    doc = await _doc(db, project, "a.md", "documents table robert")
    await db.search.documents(query)
    await db.search.messages(query)
    assert (await db.documents.get(doc)).id == doc


async def test_non_latin_text(db: Database) -> None:
    project = await _project(db)
    ru = await _doc(db, project, "ru.md", "Архитектура базы данных и поиск")
    fr = await _doc(db, project, "fr.md", "Crème brûlée à la façon du café")
    cjk = await _doc(db, project, "zh.md", "数据库 架构 设计")
    assert [h.id for h in await db.search.documents("Архитектура")] == [ru]
    assert [h.id for h in await db.search.documents("архитектура")] == [ru]  # lower-cased
    assert [h.id for h in await db.search.documents("creme brulee")] == [fr]  # accents
    assert [h.id for h in await db.search.documents("CAFÉ")] == [fr]
    # CJK: no word segmentation; a whitespace-separated run is one token.
    assert [h.id for h in await db.search.documents("架构")] == [cjk]
    assert await db.search.documents("架") == []


async def test_search_racing_writes_sees_every_commit(db: Database) -> None:
    project = await _project(db)
    db.search.rebuild_threshold = 5  # force background rebuilds during the race
    await db.search.rebuild()

    async def write(i: int) -> None:
        await _doc(db, project, f"d{i}.md", f"racing document number {i}")

    async def read(_: int) -> None:
        await db.search.documents("racing", limit=1000)

    await asyncio.gather(*(f(i) for i in range(30) for f in (write, read)))
    hits = await db.search.documents("racing", limit=1000)
    assert len(hits) == 30
    await asyncio.gather(*db.search._keeper.tasks.values())  # a background rebuild ran meanwhile
    assert db.search._keeper.tasks
    assert len(await db.search.documents("racing", limit=1000)) == 30


async def test_search_inside_transaction_sees_own_writes(db: Database) -> None:
    project = await _project(db)
    await db.search.rebuild()
    async with db.transaction() as tx:
        doc = (
            await tx.documents.create({"project_id": project, "path": "x.md", "content": "zebra"})
        ).id
        assert [h.id for h in await db.search.documents("zebra")] == [doc]


async def test_custom_markers_and_snippet_window(db: Database) -> None:
    project = await _project(db)
    filler = " ".join(f"filler{i}" for i in range(200))
    await _doc(db, project, "a.md", f"{filler} the Kubernetes cluster {filler}")
    db.search.markers = ("<b>", "</b>")
    (hit,) = await db.search.documents("kubernetes")
    assert "<b>Kubernetes</b>" in hit.snippet
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("…")
    assert len(hit.snippet) < 250


async def test_read_only_process_uses_the_stored_index(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "ro.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        project = await _project(db)
        doc = await _doc(db, project, "a.md", "persisted index words")
        await db.search.rebuild()
        late = await _doc(db, project, "b.md", "persisted later")
    async with Database.open(path, read_only=True, extension_directory=extension_directory) as ro:
        assert {h.id for h in await ro.search.documents("persisted")} == {doc, late}
        with pytest.raises(ReadOnlyError):
            await ro.search.rebuild()
