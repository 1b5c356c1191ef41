"""Seed a database with the evaluation passages among generated distractors.

The distractors are the data generator's own projects, conversations, messages and documents
(``generate_dataset``, seeded), written through the repositories (so every write path the
library watches sees them, as an application's writes). Each case's passage becomes a message
in its project's conversation, or one section of a generated document (so the answer sits at
an offset inside a longer text, as in real documents).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from project_architect_db import Database
from project_architect_db.datagen import generate_dataset
from project_architect_db.datagen._text._documents import document_body
from project_architect_db.datagen._text._projects import random_stack
from project_architect_db.schemas import (
    ConversationCreate,
    DocumentCreate,
    MessageCreate,
    ProjectCreate,
)

DISTRACTOR_SIZES: dict[str, Any] = {
    "projects": 16,
    "conversations_per_project": 3,
    "messages_per_conversation": 12,
    "documents_per_project": 4,
    "versions_per_document": 1,
    "repositories_per_project": 0,
}


@dataclass(frozen=True)
class Corpus:
    """What was seeded: each case's answer row, and the row counts."""

    #: case id -> (kind, row id) of the passage that answers it
    answers: dict[str, tuple[str, uuid.UUID]]
    #: case id -> project id of the answer
    projects: dict[str, uuid.UUID]
    messages: int
    documents: int


async def seed_corpus(db: Database, cases: list[dict[str, Any]], *, seed: int = 16) -> Corpus:
    """Write the distractors, then the cases' passages; return where the answers are."""
    messages, documents = await _distractors(db, seed)
    rng = random.Random(seed)
    answers: dict[str, tuple[str, uuid.UUID]] = {}
    owners: dict[str, uuid.UUID] = {}
    async with db.transaction() as tx:
        by_project: dict[str, list[dict[str, Any]]] = {}
        for case in cases:
            by_project.setdefault(case["project"], []).append(case)
        for name, group in by_project.items():
            project = await tx.projects.create(ProjectCreate(name=f"{name} Workspace"))
            conv = await tx.conversations.create(
                ConversationCreate(project_id=project.id, title="Team channel")
            )
            for case in group:
                owners[case["id"]] = project.id
                if case["kind"] == "message":
                    (mid,) = await tx.conversations.add_messages(
                        conv.id, [MessageCreate(role="user", content=case["passage"])]
                    )
                    answers[case["id"]] = ("message", mid)
                    messages += 1
                    continue
                stack = random_stack(rng)
                sections = document_body(rng, "note", "Notes", f"{name} Workspace", stack)
                sections.insert(2, f"## Notes\n\n{case['passage']}")
                doc = await tx.documents.create(
                    DocumentCreate(
                        project_id=project.id,
                        path=f"notes/{case['id']}.md",
                        title=f"Notes {len(answers):03d}",
                        doc_type="note",
                        content="\n\n".join(sections),
                    )
                )
                answers[case["id"]] = ("document", doc.id)
                documents += 1
    return Corpus(answers, owners, messages, documents)


async def _distractors(db: Database, seed: int) -> tuple[int, int]:
    data = generate_dataset(seed, **DISTRACTOR_SIZES)
    projects = {p["id"]: p for p in data.projects.to_pylist()}
    conversations = data.conversations.to_pylist()
    by_conversation: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for message in data.messages.to_pylist():
        by_conversation.setdefault(message["conversation_id"], []).append(message)
    by_project: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for document in data.documents.to_pylist():
        by_project.setdefault(document["project_id"], []).append(document)
    messages = documents = 0
    async with db.transaction() as tx:
        for old_id, row in projects.items():
            project = await tx.projects.create(ProjectCreate(name=row["name"]))
            for conv in (c for c in conversations if c["project_id"] == old_id):
                new = await tx.conversations.create(
                    ConversationCreate(project_id=project.id, title=conv["title"])
                )
                rows = by_conversation.get(conv["id"], [])
                await tx.conversations.add_messages(
                    new.id,
                    [
                        MessageCreate(role=m["role"], type=m["type"], content=m["content"])
                        for m in rows
                    ],
                )
                messages += len(rows)
            for doc in by_project.get(old_id, []):
                await tx.documents.create(
                    DocumentCreate(
                        project_id=project.id,
                        path=doc["path"],
                        title=doc["title"],
                        doc_type=doc["doc_type"],
                        content=doc["content"],
                    )
                )
                documents += 1
    return messages, documents
