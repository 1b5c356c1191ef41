"""Background work writing to the database: a worker pool fed by the change feed, and FastAPI.

1. **An indexing pipeline.** Documents arrive (an import in one transaction, then single
   uploads, then an edit). A listener task reads ``db.changes(aggregates="documents")`` and puts
   every created or changed document on an ``asyncio.Queue``; three workers in an
   ``asyncio.TaskGroup`` take them off, analyse the text in a worker thread (CPU work stays off
   the event loop) and store the result in the document's metadata with ``expected_version``
   (re-reading on ``ConflictError``). The content hash stored with the result makes the work
   idempotent: an event for a document already analysed (such as the workers' own writes) is
   skipped, and an edited document is analysed again.
2. **FastAPI ``BackgroundTasks``.** ``POST /conversations/{id}/messages`` stores the message,
   answers ``201`` at once, and schedules a task that refreshes the conversation's summary.

Run it::

    python examples/integration/background_tasks.py
    python examples/integration/background_tasks.py jobs.duckdb
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from fastapi import BackgroundTasks, FastAPI, Request

import project_architect_db
from project_architect_db import ConflictError, Database, ProjectArchitectDBError
from project_architect_db.repositories import Change, ChangeKind
from project_architect_db.repositories.changes import Subscription
from project_architect_db.schemas import (
    ConversationRead,
    DocumentCreate,
    MessageCreate,
    MessageRead,
)

WORKERS = 3
COMMON_WORDS = (
    "a an and are as at be by for from has in is it of on or our that the this to we with "
    "will should must can could would per each one when which instead into"
)
STOPWORDS = frozenset(COMMON_WORDS.split())
TOPICS = {
    "auth": "Users sign in with passkeys; sessions expire after 30 minutes of inactivity.",
    "billing": "Invoices are issued monthly; failed payments retry three times over a week.",
    "search": "Search indexes documents and messages; results rank by BM25 relevance.",
    "sync": "Devices sync work orders offline and merge conflicts on reconnect by version.",
    "audit": "Every change is appended to an audit log kept for seven years.",
    "exports": "Reports export to Parquet nightly; large exports stream in batches.",
}


@contextlib.contextmanager
def database_path() -> Iterator[str]:
    """The database file: the first command-line argument, or one in a temporary folder."""
    if len(sys.argv) > 1:
        yield sys.argv[1]
        return
    with tempfile.TemporaryDirectory(prefix="padb-example-") as folder:
        yield os.path.join(folder, "example.duckdb")


def analyse(text: str) -> dict[str, Any]:
    """Word count, top keywords and a one-line summary (blocking CPU work: run it in a thread)."""
    words = re.findall(r"[a-z][a-z0-9-]+", text.lower())
    keywords = Counter(w for w in words if w not in STOPWORDS and len(w) > 3)
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    first_sentence = body[0].split(". ")[0].rstrip(".") if body else ""
    return {
        "indexed": True,
        "words": len(words),
        "keywords": [word for word, _ in keywords.most_common(3)],
        "summary": first_sentence[:120],
    }


# -- 1. a change-feed-driven worker pool ---------------------------------------------------------
async def indexing_pipeline(db: Database) -> None:
    project = await db.projects.create({"name": "Service Desk"})
    imported = [
        DocumentCreate(
            project_id=project.id,
            path=f"docs/spec/{topic}.md",
            doc_type="spec",
            content=f"# {topic.title()} spec\n\n{text}\n\nThe {topic} service owns its data.\n",
        )
        for topic, text in list(TOPICS.items())[:4]
    ]
    uploads = [
        DocumentCreate(
            project_id=project.id,
            path=f"docs/notes/{topic}.md",
            doc_type="note",
            content=f"# {topic.title()} notes\n\n{text}\n",
        )
        for topic, text in list(TOPICS.items())[4:]
    ]
    queue: asyncio.Queue[uuid.UUID | None] = asyncio.Queue()
    stats: Counter[str] = Counter()
    per_worker: Counter[str] = Counter()

    async def listener(feed: Subscription) -> None:
        # every created or edited document goes on the queue, until the feed is closed
        async for event in feed:
            if isinstance(event, Change) and event.kind is not ChangeKind.DELETED:
                await queue.put(event.id)
        for _ in range(WORKERS):
            await queue.put(None)  # one stop signal per worker

    async def worker(name: str) -> None:
        while (document_id := await queue.get()) is not None:
            while True:
                document = await db.documents.get(document_id)
                if document.metadata_.get("analysed_hash") == document.content_hash:
                    stats["already up to date"] += 1  # e.g. the event of our own write
                    break
                result = await asyncio.to_thread(analyse, document.content)
                result["analysed_hash"] = document.content_hash
                try:
                    await db.documents.update(
                        document_id,
                        {"metadata": {**document.metadata_, **result}},
                        expected_version=document.version,
                    )
                except ConflictError:
                    stats["ConflictError retries"] += 1  # changed meanwhile: read it again
                    continue
                stats["analysed"] += 1
                per_worker[name] += 1
                break

    started = time.perf_counter()
    async with (
        db.changes(aggregates="documents", project_id=project.id) as feed,
        asyncio.TaskGroup() as group,
    ):
        group.create_task(listener(feed))
        for number in range(1, WORKERS + 1):
            group.create_task(worker(f"worker-{number}"))
        # the producer: an import in one unit of work, then uploads trickling in
        async with db.transaction() as tx:
            for record in imported:
                await tx.documents.create(record)
        for record in uploads:
            await asyncio.sleep(0.02)
            await db.documents.create(record)
        # an edit while the workers are busy: the document is analysed again
        auth = await db.documents.get_by_path(project.id, "docs/spec/auth.md")
        await db.documents.update(
            auth.id,
            {"content": auth.content + "\nRecovery: recovery codes allow account recovery.\n"},
        )
        feed.close()  # the listener drains what was published so far, then stops the workers
    elapsed = time.perf_counter() - started

    print(f"pipeline finished in {elapsed:.2f} s: {dict(sorted(stats.items()))}")
    print(f"documents analysed per worker: {dict(sorted(per_worker.items()))}")
    page = await db.documents.list(project_id=project.id, order_by="path")
    for document in page.items:
        meta = document.metadata_
        fresh = meta.get("analysed_hash") == document.content_hash
        print(
            f"  {document.path:<22} v{document.version} {meta['words']:>3} words, "
            f"keywords {meta['keywords']}, fresh: {fresh}"
        )
    indexed = await db.documents.count(project_id=project.id, metadata__indexed=True)
    print(f"documents with metadata.indexed = true: {indexed} of {len(page.items)}")


# -- 2. FastAPI BackgroundTasks ------------------------------------------------------------------
async def refresh_summary(db: Database, conversation_id: uuid.UUID) -> None:
    """Summarise the conversation's latest messages into its ``summary`` (a background task)."""
    page = await db.conversations.messages(conversation_id, limit=20, order="desc")
    questions = [m.content for m in page.items if m.role == "user"]
    words = Counter(
        w
        for text in questions
        for w in re.findall(r"[a-z]{4,}", text.lower())
        if w not in STOPWORDS
    )
    topics = ", ".join(word for word, _ in words.most_common(3))
    summary = f"{len(page.items)} recent messages; the user asks about {topics}."
    await db.conversations.update(conversation_id, {"summary": summary})


def create_app(database: str | None = None) -> FastAPI:
    """A small app whose message endpoint schedules a background summary."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Database.open(database) as db:
            app.state.db = db
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/conversations/{conversation_id}/messages", status_code=201)
    async def add_message(
        conversation_id: uuid.UUID,
        body: MessageCreate,
        request: Request,
        background: BackgroundTasks,
    ) -> MessageRead:
        db: Database = request.app.state.db
        message = await db.conversations.add_message(conversation_id, body)
        background.add_task(refresh_summary, db, conversation_id)  # runs after the response
        return message

    @app.get("/conversations/{conversation_id}")
    async def get_conversation(conversation_id: uuid.UUID, request: Request) -> ConversationRead:
        db: Database = request.app.state.db
        return await db.conversations.get(conversation_id)

    return app


async def fastapi_background(path: str) -> None:
    api = create_app(path)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://testserver"
        ) as client,
    ):
        db: Database = api.state.db
        project = await db.projects.create({"name": "Help Center"})
        conversation = await db.conversations.create({"project_id": project.id, "title": "Triage"})
        for text in (
            "Customers cannot reset passwords from mobile.",
            "Password reset emails arrive late on mobile.",
            "Could the reset flow use passkeys instead?",
        ):
            response = await client.post(
                f"/conversations/{conversation.id}/messages", json={"role": "user", "content": text}
            )
            print(f"POST .../messages -> {response.status_code} (#{response.json()['sequence']})")
        # ASGITransport runs the app, background tasks included, before returning the response;
        # behind a real server the summary would appear moments after the 201.
        stored = (await client.get(f"/conversations/{conversation.id}")).json()
        print(f"summary written by the background task: {stored['summary']!r}")


async def main() -> None:
    with database_path() as path:
        print("== 1. change feed -> queue -> worker pool")
        async with Database.open(path) as db:
            await indexing_pipeline(db)
        print("\n== 2. FastAPI BackgroundTasks")
        await fastapi_background(path)  # the same file, opened again by the app's lifespan


if __name__ == "__main__":
    try:
        project_architect_db.run(main())
    except ProjectArchitectDBError as error:
        sys.exit(f"error: {type(error).__name__}: {error}")
