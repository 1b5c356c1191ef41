"""``db.search.context``: passages for an assistant within a token budget, with citations."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from project_architect_db import Database
from project_architect_db.exceptions import (
    EmbedderUnavailableError,
    InvalidQueryError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.schemas import (
    ConversationCreate,
    DocumentCreate,
    MessageCreate,
    ProjectCreate,
)
from project_architect_db.search.context import MIN_TOKEN_BUDGET, estimate_tokens
from tests.integration.semantic._hybrid_support import ConceptEmbedder, HeldEmbedder

RUNBOOK = (
    "# Deploy runbook\n\n"
    + "General notes on the team's habits and the office plants. " * 30
    + "\n\n## When a deployment failed\n\nRoll back to the previous image, then read the "
    "migration log: a timeout on a large table is the usual cause."
)
CHAT = (
    "Morning! Standup moved to 10:00.",
    "The staging database was upgraded overnight.",
    "Can someone review the pricing page copy?",
)


async def _seed(db: Database) -> dict[str, Any]:
    async with db.transaction() as tx:
        project = await tx.projects.create(ProjectCreate(name="Atlas"))
        other = await tx.projects.create(ProjectCreate(name="Borealis"))
        conv = await tx.conversations.create(ConversationCreate(project_id=project.id))
        foreign = await tx.conversations.create(ConversationCreate(project_id=other.id))
        ids = await tx.conversations.add_messages(
            conv.id, [MessageCreate(role="user", content=t) for t in CHAT]
        )
        doc = await tx.documents.create(
            DocumentCreate(project_id=project.id, path="docs/runbook.md", content=RUNBOOK)
        )
        await tx.documents.create(
            DocumentCreate(project_id=other.id, path="docs/other.md", content=RUNBOOK)
        )
    await db.search.embedded()
    return {"project": project.id, "conv": conv.id, "foreign": foreign.id, "doc": doc.id,
            "messages": ids}  # fmt: skip


@pytest.fixture
async def db(target: str, extension_directory: Path) -> AsyncIterator[Database]:
    async with Database.open(
        target, extension_directory=extension_directory, embedder=ConceptEmbedder()
    ) as database:
        yield database


async def test_context_cites_the_document_passage_and_the_recent_conversation(
    db: Database,
) -> None:
    rows = await _seed(db)
    ctx = await db.search.context(
        "why did the release break?", project_id=rows["project"],
        conversation_id=rows["conv"], token_budget=1000,
    )  # fmt: skip

    docs = [p for p in ctx.passages if p.kind == "document"]
    assert [p.id for p in docs] == [rows["doc"]]  # never the other project's copy
    assert docs[0].version == 1 and docs[0].path == "docs/runbook.md"
    assert RUNBOOK[docs[0].start : docs[0].end] == docs[0].text
    assert "deployment failed" in docs[0].text
    recent = [p for p in ctx.passages if p.source == "recent"]
    assert [p.id for p in recent] == rows["messages"]  # oldest first, each once
    assert [p.sequence for p in recent] == [1, 2, 3]
    prompt = ctx.to_prompt()
    assert prompt.startswith("Question: why did the release break?")
    assert f"[1] document: document docs/runbook.md (id {rows['doc']}, version 1" in prompt
    assert str(rows["messages"][0]) in prompt
    assert estimate_tokens(prompt) <= ctx.tokens <= ctx.token_budget


async def test_a_tight_budget_cuts_the_passages_and_stays_within_it(db: Database) -> None:
    rows = await _seed(db)
    ctx = await db.search.context(
        "why did the release break?", project_id=rows["project"], token_budget=120
    )
    assert ctx.passages
    assert estimate_tokens(ctx.to_prompt()) <= ctx.tokens <= 120
    for passage in ctx.passages:
        assert RUNBOOK[passage.start : passage.end] == passage.text or passage.kind == "message"


async def test_a_project_without_matches_gives_an_empty_context(db: Database) -> None:
    async with db.transaction() as tx:
        empty = await tx.projects.create(ProjectCreate(name="Empty"))
    ctx = await db.search.context("why did the release break?", project_id=empty.id)
    assert ctx.passages == ()
    assert "Question:" in ctx.to_prompt()


@pytest.mark.parametrize("budget", [-1, 0, MIN_TOKEN_BUDGET - 1, True, 100.0, "1000"])
async def test_a_budget_too_small_negative_or_not_an_integer_is_refused(
    db: Database, budget: Any
) -> None:
    rows = await _seed(db)
    with pytest.raises(ValidationError, match="token_budget"):
        await db.search.context("release", project_id=rows["project"], token_budget=budget)


async def test_a_question_longer_than_the_budget_is_refused(db: Database) -> None:
    rows = await _seed(db)
    with pytest.raises(ValidationError, match="no room"):
        await db.search.context("release " * 100, project_id=rows["project"], token_budget=100)


async def test_an_unknown_project_or_conversation_is_not_found(db: Database) -> None:
    rows = await _seed(db)
    with pytest.raises(NotFoundError, match="No project"):
        await db.search.context("release", project_id=uuid.uuid4())
    with pytest.raises(NotFoundError, match="No conversation"):
        await db.search.context("release", project_id=rows["project"], conversation_id=uuid.uuid4())
    with pytest.raises(ValidationError, match="another project"):
        await db.search.context(
            "release", project_id=rows["project"], conversation_id=rows["foreign"]
        )
    with pytest.raises(ValidationError, match="not a valid id"):
        await db.search.context("release", project_id="nope")


@pytest.mark.parametrize("question", ["", "x" * 5000])
async def test_an_empty_or_huge_question_is_refused(db: Database, question: str) -> None:
    rows = await _seed(db)
    with pytest.raises(InvalidQueryError):
        await db.search.context(question, project_id=rows["project"])


async def test_without_an_embedder_context_says_how_to_get_one(
    target: str, extension_directory: Path
) -> None:
    async with Database.open(target, extension_directory=extension_directory, embedder=False) as db:
        async with db.transaction() as tx:
            project = await tx.projects.create(ProjectCreate(name="Atlas"))
        with pytest.raises(EmbedderUnavailableError, match="embeddings"):
            await db.search.context("release", project_id=project.id)


async def test_a_cancelled_context_call_leaves_the_database_usable(db: Database) -> None:
    rows = await _seed(db)
    task = asyncio.create_task(db.search.context("release", project_id=rows["project"]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ctx = await db.search.context("release", project_id=rows["project"])
    assert ctx.passages


async def test_rows_not_embedded_yet_give_chunk_sized_windows_and_long_messages_are_cut(
    target: str, extension_directory: Path
) -> None:
    held = HeldEmbedder()  # passages are never embedded here: every hit comes from BM25
    async with Database.open(target, extension_directory=extension_directory, embedder=held) as db:
        async with db.transaction() as tx:
            project = await tx.projects.create(ProjectCreate(name="Atlas"))
            conv = await tx.conversations.create(ConversationCreate(project_id=project.id))
            long_chat = ["long message about nothing " * 60 for _ in range(3)]
            await tx.conversations.add_messages(
                conv.id, [MessageCreate(role="user", content=t) for t in long_chat]
            )
            doc = await tx.documents.create(
                DocumentCreate(project_id=project.id, path="docs/runbook.md", content=RUNBOOK)
            )
        ctx = await db.search.context(
            "deployment failed migration timeout", project_id=project.id,
            conversation_id=conv.id, token_budget=400,
        )  # fmt: skip
    retrieved = [p for p in ctx.passages if p.source == "retrieved"]
    assert retrieved[0].id == doc.id
    assert retrieved[0].text == RUNBOOK[retrieved[0].start : retrieved[0].end]
    assert "deployment failed" in retrieved[0].text and len(retrieved[0].text) > 200
    recent = [p for p in ctx.passages if p.source == "recent"]
    assert recent and recent[-1].end < len(long_chat[0])  # the newest, cut to its third
    assert ctx.tokens <= 400
