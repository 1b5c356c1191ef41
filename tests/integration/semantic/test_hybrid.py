"""``db.search.hybrid``: BM25 and vectors fused, on real DuckDB (file and memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    EmbedderUnavailableError,
    EmbeddingError,
    InvalidQueryError,
)
from project_architect_db.schemas import (
    ConversationCreate,
    DocumentCreate,
    MessageCreate,
    ProjectCreate,
)
from tests.integration.semantic._hybrid_support import ConceptEmbedder, HeldEmbedder

ANSWER = "Deployment to production failed: the migration timed out on the invoices table."
NOISE = (
    "Lunch is at noon on Friday; the team pays.",
    "We renamed the staging bucket last week.",
    "Why did the release notes move to the wiki? Because the old page was hard to find.",
    "The dashboard shows weekly active users by region.",
)
QUESTION = "why did the rollout break?"


async def _seed(db: Database) -> dict[str, Any]:
    async with db.transaction() as tx:
        project = await tx.projects.create(ProjectCreate(name="Atlas"))
        other = await tx.projects.create(ProjectCreate(name="Borealis"))
        conv = await tx.conversations.create(ConversationCreate(project_id=project.id))
        ids = await tx.conversations.add_messages(
            conv.id, [MessageCreate(role="user", content=t) for t in (*NOISE, ANSWER)]
        )
        doc = await tx.documents.create(
            DocumentCreate(
                project_id=other.id,
                path="docs/runbook.md",
                doc_type="note",
                content="# Runbook\n\n" + "Filler words about nothing much. " * 40
                + "\n\nTo undo a bad rollout, redeploy the previous image.",
            )
        )  # fmt: skip
    return {"project": project.id, "other": other.id, "conv": conv.id, "answer": ids[-1],
            "doc": doc.id, "noise": ids[:-1]}  # fmt: skip


@pytest.fixture
async def db(target: str, extension_directory: Path) -> AsyncIterator[Database]:
    async with Database.open(
        target, extension_directory=extension_directory, embedder=ConceptEmbedder()
    ) as database:
        yield database


async def test_hybrid_finds_an_answer_that_shares_no_word_with_the_question(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    bm25 = await db.search.messages(QUESTION)
    assert rows["answer"] not in [h.id for h in bm25]  # BM25 has no word to match

    hits = await db.search.hybrid(QUESTION, k=5)

    assert rows["answer"] in [h.id for h in hits[:2]]
    hit = next(h for h in hits if h.id == rows["answer"])
    assert (hit.kind, hit.project_id, hit.conversation_id) == ("message", rows["project"],
                                                               rows["conv"])  # fmt: skip
    assert hit.vector_rank is not None and hit.vector_score is not None
    assert hit.bm25_rank is None and hit.bm25_score is None
    assert hit.chunk == 0 and ANSWER[hit.start : hit.end] == ANSWER
    assert hit.score > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_a_row_found_by_both_lists_carries_both_ranks_and_ranks_first(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    hits = await db.search.hybrid("invoices migration deployment failed", k=3)
    assert hits[0].id == rows["answer"]
    assert hits[0].bm25_rank == 1 and hits[0].vector_rank == 1
    assert hits[0].bm25_score is not None and hits[0].bm25_score > 0


async def test_a_document_hit_has_its_version_and_the_chunk_offsets(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    content = (await db.documents.get(rows["doc"])).content
    hits = await db.search.hybrid("undo a bad rollout", k=3, scope="documents")
    assert [h.id for h in hits] == [rows["doc"]]
    hit = hits[0]
    assert hit.version == 1 and hit.conversation_id is None
    assert 0 <= hit.start < hit.end <= len(content)
    assert "rollout" in content[hit.start : hit.end]


async def test_filters_keep_other_projects_conversations_and_times_out(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    only_other = await db.search.hybrid("rollout", k=10, project_id=rows["other"])
    assert {h.project_id for h in only_other} == {rows["other"]}
    in_conv = await db.search.hybrid("rollout", k=10, conversation_id=rows["conv"])
    assert in_conv and {h.conversation_id for h in in_conv} == {rows["conv"]}
    notes = await db.search.hybrid("rollout", k=10, doc_type="note")
    assert [h.id for h in notes] == [rows["doc"]]
    future = datetime.now(UTC) + timedelta(days=1)
    assert await db.search.hybrid("rollout", k=10, since=future) == []
    assert await db.search.hybrid("rollout", k=10, until=future)


async def test_a_row_not_embedded_yet_is_found_through_bm25(
    target: str, extension_directory: Path
) -> None:
    held = HeldEmbedder()
    async with Database.open(target, extension_directory=extension_directory, embedder=held) as db:
        rows = await _seed(db)
        hits = await db.search.hybrid("invoices migration", k=5)
        assert hits[0].id == rows["answer"]
        assert hits[0].vector_rank is None and hits[0].chunk is None
        assert hits[0].bm25_rank == 1
        assert "invoices" in ANSWER[hits[0].start : hits[0].end]
        held.release.set()
        await db.search.embedded()
        again = await db.search.hybrid("invoices migration", k=5)
        assert again[0].id == rows["answer"] and again[0].vector_rank is not None


@pytest.mark.parametrize("query", ["", "   ", "x" * 5000])
async def test_an_empty_or_huge_query_is_refused(db: Database, query: str) -> None:
    with pytest.raises(InvalidQueryError):
        await db.search.hybrid(query)


@pytest.mark.parametrize("k", [0, -1, 101, True, 2.5])
async def test_k_outside_1_to_100_is_refused(db: Database, k: Any) -> None:
    with pytest.raises(InvalidQueryError, match="k must be"):
        await db.search.hybrid("rollout", k=k)


async def test_an_unknown_scope_is_refused(db: Database) -> None:
    with pytest.raises(InvalidQueryError, match="scope"):
        await db.search.hybrid("rollout", scope="builds")  # type: ignore[arg-type]


async def test_without_an_embedder_hybrid_says_how_to_get_one(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(target, extension_directory=extension_directory, embedder=False) as db:
        with pytest.raises(EmbedderUnavailableError, match=r"project-architect-db\[embeddings\]"):
            await db.search.hybrid("why did the release break?")
        assert await db.search.messages("release") == []  # BM25 still works


async def test_a_cancelled_hybrid_search_leaves_the_database_usable(
    target: str, extension_directory: Path
) -> None:
    held = HeldEmbedder()
    slow_query = asyncio.Event()

    class SlowQueries(HeldEmbedder):
        async def embed(self, texts: Any, *, kind: Any) -> list[list[float]]:
            if kind == "query":
                slow_query.set()
                await asyncio.sleep(30)
            return await super().embed(texts, kind=kind)

    held = SlowQueries()
    held.release.set()
    async with Database.open(target, extension_directory=extension_directory, embedder=held) as db:
        rows = await _seed(db)
        task = asyncio.create_task(db.search.hybrid("rollout"))
        await asyncio.wait_for(slow_query.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        hits = await db.search.messages("invoices")
        assert [h.id for h in hits] == [rows["answer"]]


async def test_a_vector_hit_snippet_is_its_chunk_read_after_the_fusion(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    hits = await db.search.hybrid(QUESTION, k=5)
    hit = next(h for h in hits if h.id == rows["answer"])
    assert hit.snippet == ANSWER[hit.start : hit.end][: db.search.semantic.snippet_chars]
    similar = await db.search.similar(QUESTION, k=5)
    assert hit.snippet == next(h.snippet for h in similar if h.id == rows["answer"])


async def test_inside_a_transaction_hybrid_sees_its_uncommitted_rows(db: Database) -> None:
    rows = await _seed(db)
    await db.search.embedded()
    async with db.transaction() as tx:
        [new] = await tx.conversations.add_messages(
            rows["conv"], [MessageCreate(role="user", content="Wombats chewed the cables.")]
        )
        hits = await db.search.hybrid("wombats", k=3)
        assert hits[0].id == new and hits[0].bm25_rank == 1  # BM25 ran on the caller's connection
        assert hits[0].vector_rank is None and "Wombats" in hits[0].snippet
    assert (await db.search.hybrid("wombats", k=3))[0].id == new  # and after its commit


async def test_a_query_that_is_not_a_string_is_refused(db: Database) -> None:
    with pytest.raises(InvalidQueryError, match="must be a string"):
        await db.search.hybrid([0.1] * 64)  # type: ignore[arg-type]


async def test_conversation_and_doc_type_together_are_refused_before_any_search(
    db: Database,
) -> None:
    rows = await _seed(db)
    with pytest.raises(InvalidQueryError, match="exclude each other"):
        await db.search.hybrid("rollout", conversation_id=rows["conv"], doc_type="note")


async def test_a_failing_query_embedding_leaves_no_bm25_work_behind(
    target: str, extension_directory: Path
) -> None:
    class FailingQueries(HeldEmbedder):
        async def embed(self, texts: Any, *, kind: Any) -> list[list[float]]:
            if kind == "query":
                raise RuntimeError("model crashed")
            return await super().embed(texts, kind=kind)

    failing = FailingQueries()
    failing.release.set()
    async with Database.open(
        target, extension_directory=extension_directory, embedder=failing
    ) as db:
        rows = await _seed(db)
        with pytest.raises(EmbeddingError, match="model crashed"):
            await db.search.hybrid("invoices")
        assert [h.id for h in await db.search.messages("invoices")] == [rows["answer"]]
