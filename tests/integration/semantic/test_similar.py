"""db.search.similar / embedded: written rows are found, deleted and replaced ones never."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    InvalidQueryError,
    InvalidVectorError,
    ValidationError,
)
from project_architect_db.search import SimilarHit
from tests.integration.semantic._embedders import Words, vector
from tests.integration.semantic.conftest import project_with


async def test_a_written_document_is_found_after_embedded(db: Database) -> None:
    project = await project_with(
        db, deploy="deployment to production failed migration timeout", logo="a blue logo"
    )

    await db.search.embedded()
    hits = await db.search.similar("production deployment failed", k=2)

    assert [h.snippet for h in hits] == [
        "deployment to production failed migration timeout",
        "a blue logo",
    ]
    first = hits[0]
    assert isinstance(first, SimilarHit)
    assert (first.kind, first.project_id, first.version, first.chunk) == (
        "document",
        project.id,
        1,
        0,
    )
    assert first.document_id == first.id and first.conversation_id is None
    assert (first.start, first.end) == (0, len(first.snippet))
    assert hits[0].score > hits[1].score


async def test_a_written_message_is_found_with_its_conversation(db: Database) -> None:
    project = await project_with(db)
    conversation = await db.conversations.create({"project_id": project.id, "title": "t"})
    other = await db.conversations.create({"project_id": project.id, "title": "u"})
    message = await db.conversations.add_message(
        conversation.id, {"role": "user", "content": "the release broke on friday"}
    )
    await db.conversations.add_message(
        other.id, {"role": "user", "content": "the release broke on monday"}
    )

    await db.search.embedded()
    hits = await db.search.similar("release broke friday", conversation_id=conversation.id)

    assert [(h.kind, h.id, h.conversation_id) for h in hits] == [
        ("message", message.id, conversation.id)
    ]
    assert hits[0].version is None and hits[0].document_id is None


async def test_rows_are_not_found_before_they_are_embedded(
    target: str, extension_directory
) -> None:
    words = Words()
    async with Database.open(target, extension_directory=extension_directory, embedder=words) as db:
        assert await db.search.similar("anything") == []  # first use: records the model
        await db.search.close()  # no background queue: nothing embeds by itself
        await project_with(db, note="kept waiting")

        assert await db.search.similar("kept waiting") == []


async def test_filters_keep_only_matching_rows(db: Database) -> None:
    atlas = await project_with(db, spec="cache layer for the api")
    other = await project_with(db, adr="cache layer for the api")
    async with db.transaction() as tx:
        doc = await tx.documents.get_by_path(other.id, "adr.md")
        await tx.documents.update(doc.id, {"doc_type": "adr"})
    await db.search.embedded()

    by_project = await db.search.similar("cache layer", project_id=atlas.id)
    by_type = await db.search.similar("cache layer", doc_type="adr")
    messages_only = await db.search.similar("cache layer", scope="messages")
    later = await db.search.similar("cache layer", since=datetime.now(UTC) + timedelta(days=1))
    earlier = await db.search.similar("cache layer", until=datetime(2000, 1, 1))
    naive_window = await db.search.similar(
        "cache layer",
        since=datetime(2000, 1, 1),
        until=datetime(2999, 1, 1),
        project_id=str(atlas.id),
    )

    assert {h.project_id for h in by_project} == {atlas.id}
    assert [h.id for h in by_type] == [doc.id]
    assert messages_only == [] and later == [] and earlier == []
    assert [h.project_id for h in naive_window] == [atlas.id]


async def test_a_vector_query_finds_the_same_rows_as_its_text(db: Database, words: Words) -> None:
    await project_with(db, a="alpha beta", b="gamma delta")
    await db.search.embedded()

    by_text = await db.search.similar("gamma delta")
    by_vector = await db.search.similar(vector("gamma delta", words.dimension))

    exact = await db.search.similar(vector("b gamma delta", words.dimension))  # title + content

    assert [h.id for h in by_vector] == [h.id for h in by_text]
    assert exact[0].score == pytest.approx(1.0, abs=1e-5)


async def test_a_deleted_document_is_never_found(db: Database) -> None:
    project = await project_with(db, gone="the payment service", kept="the payment gateway")
    await db.search.embedded()
    gone = await db.documents.get_by_path(project.id, "gone.md")

    await db.documents.delete(gone.id)

    hits = await db.search.similar("the payment service", k=10)
    assert gone.id not in {h.id for h in hits}
    assert [h.snippet for h in hits] == ["the payment gateway"]


async def test_messages_of_a_deleted_conversation_are_never_found(db: Database) -> None:
    project = await project_with(db)
    conversation = await db.conversations.create({"project_id": project.id, "title": "t"})
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "secret plan"})
    await db.search.embedded()
    assert len(await db.search.similar("secret plan")) == 1

    await db.conversations.delete(conversation.id)

    assert await db.search.similar("secret plan") == []


async def test_deleted_rows_do_not_hide_live_ones_below_them(db: Database) -> None:
    # more deleted rows than the first candidate set holds: the search asks for more
    project = await project_with(db)
    ids = []
    for i in range(60):
        doc = await db.documents.create(
            {"project_id": project.id, "path": f"{i}.md", "title": "t", "content": "shared words"}
        )
        ids.append(doc.id)
    await db.documents.create(
        {"project_id": project.id, "path": "live.md", "title": "x", "content": "shared"}
    )
    await db.search.embedded()
    for doc_id in ids:
        await db.documents.delete(doc_id)

    hits = await db.search.similar("shared words", k=1, scope="documents")

    assert [h.snippet for h in hits] == ["shared"]


async def test_a_new_version_replaces_the_old_chunks(db: Database) -> None:
    project = await project_with(db, plan="we will use kafka for events")
    await db.search.embedded()
    doc = await db.documents.get_by_path(project.id, "plan.md")

    await db.documents.update(doc.id, {"content": "we will use postgres listen notify"})
    stale = await db.search.similar("kafka events")  # before the new version is embedded
    await db.search.embedded()
    hits = await db.search.similar("kafka events")

    assert stale == []  # the old version's chunks never show once the document changed
    assert [(h.id, h.version, h.snippet) for h in hits] == [
        (doc.id, 2, "we will use postgres listen notify")
    ]
    async with db.transaction() as tx:
        rows = await tx.run_native(
            lambda con: con.execute(
                "SELECT DISTINCT version FROM document_chunks WHERE document_id = $d",
                {"d": doc.id},
            ).fetchall()
        )
    assert rows == [(2,)]


async def test_a_long_document_is_chunked_with_offsets(db: Database) -> None:
    content = "filler text " * 400 + "zebra crossing"  # ~4,800 characters
    project = await project_with(db, long=content)
    await db.search.embedded()

    hits = await db.search.similar("zebra crossing", k=1)

    assert hits[0].chunk > 0
    assert content[hits[0].start : hits[0].end].endswith("zebra crossing")
    assert hits[0].snippet == content[hits[0].start : hits[0].end][: len(hits[0].snippet)]
    assert hits[0].project_id == project.id


async def test_an_empty_document_is_embedded_but_not_found_by_its_missing_text(
    db: Database,
) -> None:
    await project_with(db, empty="")
    await db.search.embedded()

    hits = await db.search.similar("empty")  # the title alone is embedded

    assert [(h.snippet, h.start, h.end) for h in hits] == [("", 0, 0)]


async def test_embedded_returns_at_once_when_nothing_waits(db: Database, words: Words) -> None:
    await db.search.embedded()
    calls = len(words.calls)

    await db.search.embedded()

    assert len(words.calls) == calls


async def test_bulk_writes_are_embedded_in_batches(db: Database, words: Words) -> None:
    project = await project_with(db)
    await db.search.embedded()
    records = [
        {"project_id": project.id, "path": f"{i}.md", "title": "t", "content": f"doc {i}"}
        for i in range(150)
    ]

    await db.documents.bulk_create(records)
    await db.search.embedded()

    passages = [n for kind, n in words.calls if kind == "passage"]
    assert sum(passages) == 150
    assert max(passages) <= db.search.semantic.batch_rows < 150
    assert len(await db.search.similar("doc 7", k=200)) == 150


async def test_a_commit_wakes_the_queue_without_embedded(db: Database) -> None:
    await db.search.embedded()  # semantic search in use here from now on

    await project_with(db, fresh="written after the first use")

    for _ in range(400):  # the background queue embeds it; no embedded() call
        if await db.search.similar("written after the first use"):
            break
        await asyncio.sleep(0.05)
    hits = await db.search.similar("written after the first use")
    assert [h.snippet for h in hits] == ["written after the first use"]


async def test_a_database_that_never_used_semantic_search_embeds_nothing(
    db: Database, words: Words
) -> None:
    await project_with(db, quiet="nobody asked for vectors")
    for _ in range(400):  # the one check after the first commit of the process
        if db.search.semantic._unused:
            break
        await asyncio.sleep(0.05)
    await project_with(db, again="still nobody")

    assert db.search.semantic._unused and words.calls == []
    await db.search.embedded()  # the first use embeds what was written before
    assert len(await db.search.similar("nobody", k=5)) == 2


async def test_non_latin_text_is_embedded_and_found(db: Database) -> None:
    await project_with(
        db, ja="データベース 設計 レビュー", ru="релиз сломался из-за миграции", en="english"
    )
    await db.search.embedded()

    assert (await db.search.similar("релиз миграции", k=1))[0].snippet.startswith("релиз")
    assert (await db.search.similar("データベース", k=1))[0].snippet.startswith("データ")


@pytest.mark.parametrize(
    ("query", "kwargs", "error", "match"),
    [
        ("", {}, InvalidQueryError, "may not be empty"),
        ("   \n", {}, InvalidQueryError, "may not be empty"),
        ("x" * 4001, {}, InvalidQueryError, "at most 4000"),
        ("q", {"k": 0}, InvalidQueryError, "k must be"),
        ("q", {"k": True}, InvalidQueryError, "k must be"),
        ("q", {"k": 1001}, InvalidQueryError, "k must be"),
        ("q", {"scope": "files"}, InvalidQueryError, "scope must be"),
        ("q", {"scope": "documents", "conversation_id": "0" * 32}, InvalidQueryError, "messages"),
        ("q", {"scope": "messages", "doc_type": "adr"}, InvalidQueryError, "documents"),
        ("q", {"conversation_id": "0" * 32, "doc_type": "adr"}, InvalidQueryError, "give one"),
        ("q", {"doc_type": 3}, InvalidQueryError, "doc_type must be"),
        ("q", {"project_id": "nope"}, ValidationError, "not a valid id"),
        ("q", {"since": "yesterday"}, InvalidQueryError, "since must be a datetime"),
        ([], {}, InvalidVectorError, "may not be empty"),
        ([1.0, float("nan")], {}, InvalidVectorError, "NaN"),
        (["a", "b"], {}, InvalidVectorError, "numbers only"),
        (b"bytes", {}, InvalidQueryError, "string or a sequence"),
        (42, {}, InvalidQueryError, "string or a sequence"),
    ],
)
async def test_invalid_queries_are_typed_errors(
    db: Database, query: object, kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        await db.search.similar(query, **kwargs)  # type: ignore[arg-type]


async def test_a_vector_of_the_wrong_length_is_refused(db: Database, words: Words) -> None:
    await project_with(db, a="alpha")
    await db.search.embedded()

    with pytest.raises(InvalidVectorError, match=f"has 3 numbers.*have {words.dimension}"):
        await db.search.similar([0.1, 0.2, 0.3])


async def test_a_vector_query_before_anything_was_embedded_finds_nothing(db: Database) -> None:
    assert await db.search.similar([0.5] * 64) == []


async def test_the_in_memory_matrix_and_the_sql_scan_agree(db: Database) -> None:
    atlas = await project_with(db, a="alpha beta gamma", b="beta gamma delta", c="gamma delta")
    other = await project_with(db, d="alpha delta", e="epsilon")
    conversation = await db.conversations.create({"project_id": other.id, "title": "t"})
    await db.conversations.add_message(conversation.id, {"role": "user", "content": "beta alpha"})
    await db.search.embedded()
    doc = await db.documents.get_by_path(atlas.id, "b.md")
    await db.search.similar("warm the matrix")
    await db.documents.update(doc.id, {"content": "zeta eta"})  # replaced after the load
    await db.documents.delete((await db.documents.get_by_path(other.id, "e.md")).id)
    await db.search.embedded()
    cases = [
        ("alpha gamma", {}),
        ("delta", {"project_id": atlas.id}),
        ("beta", {"scope": "messages"}),
        ("zeta", {"scope": "documents"}),
        ("epsilon", {}),
        ("alpha", {"conversation_id": conversation.id}),
        ("gamma", {"since": datetime(2000, 1, 1, tzinfo=UTC), "until": datetime(2999, 1, 1)}),
    ]

    semantic = db.search.semantic
    from_memory = [await db.search.similar(q, 3, **kw) for q, kw in cases]
    semantic.memory_vectors = False
    from_sql = [await db.search.similar(q, 3, **kw) for q, kw in cases]

    for memory, sql in zip(from_memory, from_sql, strict=True):
        assert [(h.id, h.chunk, h.version, h.snippet) for h in memory] == [
            (h.id, h.chunk, h.version, h.snippet) for h in sql
        ]
        assert [h.score for h in memory] == pytest.approx([h.score for h in sql], abs=1e-5)
    assert from_memory[3][0].snippet == "zeta eta"
    assert "epsilon" not in {h.snippet for h in from_memory[4]}  # deleted after the load


async def test_a_load_that_raced_a_drain_pass_is_not_kept(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await project_with(db, a="first")
    await db.search.embedded()
    matrix = db.search.semantic._matrices["documents"]
    matrix.clear()
    read = matrix.read

    def read_while_a_pass_commits(con: object, dimension: int) -> object:
        block = read(con, dimension)
        matrix.replace([], {}, dimension)  # a drain pass committed during the read
        return block

    monkeypatch.setattr(matrix, "read", read_while_a_pass_commits)
    hits = await db.search.similar("first")  # served from the block it read, not kept
    assert [h.snippet for h in hits] == ["first"] and matrix.block is None

    monkeypatch.setattr(matrix, "read", read)
    await db.search.similar("first")
    assert matrix.block is not None and len(matrix.block) == 1
