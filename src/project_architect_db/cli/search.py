"""``project-architect-db search "question"``: BM25 (default), ``--semantic`` or ``--hybrid``.

Semantic and hybrid search need an embedder: the ``[embeddings]`` extra. Without it they
exit with the library's ``EmbedderUnavailableError`` (exit code 2), whose message says what to
install; BM25 needs nothing more.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from project_architect_db.cli._common import (
    DatabaseOption,
    ExitCode,
    JsonOption,
    console,
    fail,
    print_json,
    require_file,
    run,
)

__all__ = ["search"]


def search(
    question: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    database: DatabaseOption = "architect.duckdb",
    semantic: Annotated[
        bool, typer.Option("--semantic", help="Closest in meaning (vectors; the embeddings extra).")
    ] = False,
    hybrid: Annotated[
        bool, typer.Option("--hybrid", help="BM25 and vectors fused (the embeddings extra).")
    ] = False,
    k: Annotated[int, typer.Option("-k", "--limit", help="How many hits.", min=1, max=100)] = 10,
    project: Annotated[str | None, typer.Option(help="Only this project (its id).")] = None,
    conversation: Annotated[
        str | None, typer.Option(help="Only this conversation's messages (its id).")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="First embed every row written so far (long on a big file the first time).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Search documents and messages: by words (BM25), by meaning, or both.

    Example: project-architect-db search "why did the release break?" --hybrid
    """
    if semantic and hybrid:
        fail("choose one of --semantic and --hybrid (or neither, for BM25)", ExitCode.USAGE)
    require_file(database)
    mode = "semantic" if semantic else "hybrid" if hybrid else "bm25"
    rows = run(lambda: _search(database, question, mode, k, project, conversation, wait))
    if as_json:
        print_json({"mode": mode, "question": question, "hits": rows})
        return
    _print(mode, question, rows)


async def _search(
    database: str,
    question: str,
    mode: str,
    k: int,
    project: str | None,
    conversation: str | None,
    wait: bool,
) -> list[dict[str, Any]]:
    from project_architect_db import Database

    filters: dict[str, Any] = {"project_id": project, "conversation_id": conversation}
    async with Database.open(database) as db:
        if mode != "bm25" and wait:
            await db.search.embedded()
        if mode == "hybrid":
            hits: list[Any] = await db.search.hybrid(question, k, **filters)
        elif mode == "semantic":
            hits = await db.search.similar(question, k, **filters)
        else:
            hits = await _bm25(db, question, k, project, conversation)
        return [_row(hit) for hit in hits]


async def _bm25(
    db: Any, question: str, k: int, project: str | None, conversation: str | None
) -> list[Any]:
    hits: list[Any] = []
    if conversation is None:
        hits += await db.search.documents(question, project_id=project, limit=k)
    hits += await db.search.messages(
        question, project_id=project, conversation_id=conversation, limit=k
    )
    return sorted(hits, key=lambda hit: -hit.score)[:k]


def _row(hit: Any) -> dict[str, Any]:
    row: dict[str, Any] = hit.model_dump(mode="json")
    row.setdefault("kind", "document" if "path" in row else "message")
    return row


def _print(mode: str, question: str, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from project_architect_db.cli._render import cell, plain

    out = console()
    title = {"bm25": "BM25", "semantic": "semantic", "hybrid": "hybrid"}[mode]
    table = Table(title=Text(f"{title} search: {question}"), title_justify="left")
    if not rows:
        table.add_column("(no hits)")
        out.print(table)
        return
    for heading in ("score", "kind", "id", "where", "snippet"):
        table.add_column(heading, overflow="fold", max_width=60 if heading == "snippet" else None)
    for row in rows:
        where = row.get("path") or f"conversation {row.get('conversation_id')}"
        table.add_row(
            cell(round(row["score"], 4)),
            plain(row["kind"]),
            plain(str(row["id"])),
            plain(str(where)),
            plain(" ".join(str(row.get("snippet", "")).split())),
        )
    out.print(table)
