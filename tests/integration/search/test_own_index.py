"""The library's own BM25 index: same scores as the fts extension, fresh, merged, recoverable."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    InvalidQueryError,
    ReadOnlyError,
    ValidationError,
)
from project_architect_db.models import Base
from project_architect_db.search import _ids, _index, _sql
from project_architect_db.search._stopwords import STOPWORDS

# Edge cases of the tokenizer: accents, punctuation runs, digits, stopwords only, repeated
# words, tabs and newlines, apostrophes, non-Latin scripts, empty text. Lengths differ, so no
# two rows tie on a score.
TEXTS = [
    "WebSocket authentication with tokens",
    "websocket websocket websocket reconnect logic",
    "Crème brûlée: café-au-lait, naïve résumé (v2.0)!",
    "the and of to",  # stopwords only
    "",
    "tab\tseparated\nnew-line text   with   runs of    spaces",
    "don't can't won't it's the authentication's token's",
    "Архитектура базы данных и поиск websocket",
    "数据库 架构 设计 websocket",
    "tokens, tokens; TOKENS... token_refresh tokenization tokenizer",
    "a very long document " + " ".join(f"filler{i}" for i in range(300)) + " websocket",
    "numbers 123 456 and 7e10 mixed4with5digits websocket",
    "authentication authentication authorization",
    "reconnect; backoff; jitter; websocket-reconnect",
    "Error PAY-417 since v2.3.1: ERR_504 from the gateway, fixed by sha 3f9c2e1 (PAY-418 next)",
    "pay 417 times, v2 of 3.1; err504",
]
QUERIES = [
    "websocket",
    "authentication tokens",
    "creme brulee cafe",
    "reconnect backoff",
    "token",
    "архитектура",
    "架构",
    "mixed with digits",
    "the websocket of authentication",
    "PAY-417",
    "v2.3.1",
    "ERR_504 3f9c2e1",
    "what does error 504 mean?",
]


async def _project(db: Database, name: str = "Atlas") -> uuid.UUID:
    return (await db.projects.create({"name": name})).id


async def _seed(db: Database) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    project = await _project(db)
    conversation = (await db.conversations.create({"project_id": project})).id
    docs, messages = [], []
    for i, text in enumerate(TEXTS):
        docs.append(
            (
                await db.documents.create(
                    {"project_id": project, "path": f"d{i}.md", "title": f"T{i}", "content": text}
                )
            ).id
        )
        messages.append(
            (await db.conversations.add_message(conversation, {"role": "user", "content": text})).id
        )
    return project, docs, messages


def _native(db: Database, sql: str, params: dict[str, Any] | None = None) -> Any:
    async def run() -> list[tuple[Any, ...]]:
        async with db.transaction() as tx:
            return await tx.run_native(lambda con: con.execute(sql, params or {}).fetchall())

    return run()


async def _fts_scores(db: Database, table: str, query: str) -> list[tuple[uuid.UUID, float]]:
    rows = await _native(
        db,
        f"SELECT id, score FROM (SELECT id, fts_main_{table}.match_bm25(id, $q) AS score "
        f"FROM {table}) WHERE score IS NOT NULL ORDER BY score DESC, id",
        {"q": query},
    )
    return [(row[0], float(row[1])) for row in rows]


async def _fts_index(db: Database) -> None:
    # the extension's tokenizer with the index's ``ignore`` (digits kept as words)
    ignore = _sql.FTS_IGNORE.replace("'", "''")
    await _native(
        db, f"PRAGMA create_fts_index('documents', 'id', 'title', 'content', ignore='{ignore}')"
    )
    await _native(db, f"PRAGMA create_fts_index('messages', 'id', 'content', ignore='{ignore}')")


@pytest.mark.parametrize("query", QUERIES)
async def test_scores_and_order_equal_the_fts_extension(db: Database, query: str) -> None:
    await _seed(db)
    await db.search.rebuild()
    await _fts_index(db)  # built after ours: our build drops fts_main_*
    for table, search in (("documents", db.search.documents), ("messages", db.search.messages)):
        expected = await _fts_scores(db, table, query)
        hits = await search(query, limit=100)
        assert [h.id for h in hits] == [row[0] for row in expected], (table, query)
        assert [h.score for h in hits] == pytest.approx([row[1] for row in expected], rel=1e-9)


async def test_changed_rows_score_as_after_a_merge(db: Database) -> None:
    _, docs, _ = await _seed(db)
    await db.search.rebuild()
    indexed = await db.search.documents("websocket tokens", limit=100)
    await db.documents.update(docs[1], {"path": "moved.md"})  # same words, a new version
    delta = await db.search.documents("websocket tokens", limit=100)
    await db.search.merge("documents")
    merged = await db.search.documents("websocket tokens", limit=100)
    for hits in (delta, merged):
        assert [h.id for h in hits] == [h.id for h in indexed]
        assert [h.score for h in hits] == pytest.approx([h.score for h in indexed], rel=1e-9)
    assert next(h for h in merged if h.id == docs[1]).version == 2


async def test_stopwords_are_the_extensions(db: Database) -> None:
    await _project(db)
    await _fts_index(db)
    rows = await _native(db, "SELECT sw FROM fts_main_documents.stopwords")
    assert tuple(row[0] for row in rows) == STOPWORDS


async def test_build_replaces_an_fts_extension_index(db: Database) -> None:
    await _seed(db)
    await _fts_index(db)
    await db.search.rebuild("documents")
    schemas = {r[0] for r in await _native(db, "SELECT schema_name FROM duckdb_schemas()")}
    assert "padb_search_documents" in schemas
    assert "fts_main_documents" not in schemas
    assert "fts_main_messages" in schemas  # not rebuilt: left alone


async def test_insert_update_delete_and_rollback_are_seen_before_and_after_a_merge(
    db: Database,
) -> None:
    project, docs, _ = await _seed(db)
    await db.search.rebuild()
    new = (
        await db.documents.create({"project_id": project, "path": "n.md", "content": "okapi"})
    ).id
    await db.documents.update(docs[0], {"content": "okapi giraffe"})
    await db.documents.delete(docs[1])
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.documents.create({"project_id": project, "path": "r.md", "content": "okapi"})
            raise RuntimeError("roll back")
    for step in ("delta", "merged"):
        assert {h.id for h in await db.search.documents("okapi")} == {new, docs[0]}, step
        assert {h.id for h in await db.search.documents("websocket", limit=100)}.isdisjoint(
            {docs[0], docs[1]}
        ), step
        await db.search.merge()


async def test_a_deleted_indexed_row_never_takes_a_place(db: Database) -> None:
    project = await _project(db)
    ids = [
        (
            await db.documents.create(
                {"project_id": project, "path": f"{i}.md", "content": "kiwi " * (i + 1)}
            )
        ).id
        for i in range(30)
    ]
    await db.search.rebuild()
    for doc in ids[-25:]:  # the best-scoring ones
        await db.documents.delete(doc)
    hits = await db.search.documents("kiwi", limit=5)
    assert {h.id for h in hits} == set(ids[:5])


async def test_direct_and_postings_paths_agree_for_a_project(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, _ = await _seed(db)
    other = await _project(db, "Other")
    await db.documents.create({"project_id": other, "path": "o.md", "content": "websocket"})
    await db.search.rebuild()
    direct = await db.search.documents("websocket tokens", project_id=project, limit=100)
    monkeypatch.setattr(_index, "DIRECT_ROWS", 0)  # read the postings instead
    postings = await db.search.documents("websocket tokens", project_id=project, limit=100)
    assert [h.id for h in postings] == [h.id for h in direct]
    assert [h.score for h in postings] == pytest.approx([h.score for h in direct], rel=1e-9)
    assert all(h.project_id == project for h in postings)


async def test_an_old_stamp_outside_the_window_waits_for_a_rebuild(db: Database) -> None:
    # The documented limit of the change window: a row stamped long before the index's
    # high-water mark but written later (a backfill through raw SQL) is found after rebuild().
    project, _, _ = await _seed(db)
    await db.search.rebuild()
    old = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    row = uuid.uuid4()
    await _native(
        db,
        "INSERT INTO documents (id, project_id, path, title, doc_type, content, content_hash, "
        "size_bytes, metadata, created_at, updated_at, version) VALUES ($id, $p, 'b.md', 'B', "
        "'note', 'backfilled okapi', 'x', 1, '{}', $t, $t, 1)",
        {"id": row, "p": project, "t": old},
    )
    assert await db.search.documents("okapi") == []
    await db.search.rebuild("documents")
    assert [h.id for h in await db.search.documents("okapi")] == [row]


async def test_writes_during_a_merge_are_all_found(db: Database) -> None:
    project, _, _ = await _seed(db)
    await db.search.rebuild()
    for i in range(20):
        await db.documents.create({"project_id": project, "path": f"a{i}.md", "content": "lynx"})

    async def write(i: int) -> uuid.UUID:
        data = {"project_id": project, "path": f"b{i}.md", "content": f"lynx {i}"}
        return (await db.documents.create(data)).id

    merge = asyncio.ensure_future(db.search.merge("documents"))
    written = await asyncio.gather(*(write(i) for i in range(20)))
    await merge
    hits = {h.id for h in await db.search.documents("lynx", limit=100)}
    assert len(hits) == 40
    assert set(written) <= hits
    await db.search.merge("documents")
    assert {h.id for h in await db.search.documents("lynx", limit=100)} == hits


async def test_a_failed_merge_leaves_the_index_usable(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, _ = await _seed(db)
    await db.search.rebuild()
    doc = (await db.documents.create({"project_id": project, "path": "f.md", "content": "yak"})).id
    real = _index.merge_index

    def crash(con: Any, spec: Any) -> None:
        real(con, spec)  # every statement of the merge ran; the commit never happens
        raise RuntimeError("power cut before the commit")

    monkeypatch.setattr(_index, "merge_index", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        await db.search.merge("documents")
    assert [h.id for h in await db.search.documents("yak")] == [doc]
    monkeypatch.setattr(_index, "merge_index", real)
    await db.search.merge("documents")
    assert [h.id for h in await db.search.documents("yak")] == [doc]


async def test_a_merge_cut_by_close_leaves_a_usable_index_on_reopen(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "cut.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        project, _, _ = await _seed(db)
        await db.search.rebuild()
        db.search.rebuild_threshold = 1
        doc = (
            await db.documents.create({"project_id": project, "path": "c.md", "content": "ibex"})
        ).id
        assert [h.id for h in await db.search.documents("ibex")] == [doc]  # starts a merge
        assert db.search._keeper.tasks  # close() cancels it, wherever it is
    async with Database.open(path, extension_directory=extension_directory) as db:
        assert [h.id for h in await db.search.documents("ibex")] == [doc]
        assert len(await db.search.documents("websocket", limit=100)) == 7


async def test_never_indexed_read_only_file_is_searchable(
    tmp_path: Path, extension_directory: Path
) -> None:
    path = tmp_path / "never.duckdb"
    async with Database.open(path, extension_directory=extension_directory) as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        _, docs, messages = await _seed(db)
    async with Database.open(path, read_only=True, extension_directory=extension_directory) as ro:
        assert docs[0] in {h.id for h in await ro.search.documents("websocket authentication")}
        assert messages[1] in {h.id for h in await ro.search.messages("reconnect")}
        with pytest.raises(ReadOnlyError):
            await ro.search.merge()
        with pytest.raises(ReadOnlyError):
            await ro.search.rebuild("messages")


async def test_merge_and_rebuild_reject_an_unknown_table(db: Database) -> None:
    for call in (db.search.merge, db.search.rebuild):
        with pytest.raises(InvalidQueryError, match="'documents', 'messages' or None"):
            await call("projects")


async def test_bad_filters_and_queries_are_rejected(db: Database) -> None:
    await _seed(db)
    await db.search.rebuild()
    with pytest.raises(ValidationError):
        await db.search.messages("websocket", project_id="not-a-uuid")
    with pytest.raises(ValidationError):
        await db.search.documents("websocket", project_id="42")
    with pytest.raises(InvalidQueryError):
        await db.search.messages("websocket", role=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        await db.search.documents(None)  # type: ignore[arg-type]


async def test_merge_of_a_table_without_index_builds_it(db: Database) -> None:
    _, docs, _ = await _seed(db)
    await db.search.merge("documents")  # no index yet: built
    hits = await db.search.documents("websocket authentication")
    assert hits[0].id == docs[0]


async def test_reads_by_id_agree_as_lookups_and_as_one_scan(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, _ = await _seed(db)
    await db.search.rebuild()
    for i in range(3):  # delta rows too
        await db.documents.create(
            {"project_id": project, "path": f"x{i}.md", "content": "websocket"}
        )
    lookups = await db.search.documents("websocket tokens", limit=100)
    monkeypatch.setattr(_sql, "LOOKUP_MAX", 1)  # more than one id: one scan with a semi-join
    monkeypatch.setattr(_ids, "LOOKUP_MAX", 1)
    scanned = await db.search.documents("websocket tokens", limit=100)
    assert [(h.id, h.score, h.snippet) for h in scanned] == [
        (h.id, h.score, h.snippet) for h in lookups
    ]
    assert len(lookups) > 3
