"""A small generated dataset, inserted with plain Core inserts, and the rows it was made from."""

from __future__ import annotations

import importlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, text

from project_architect_db import Database
from project_architect_db.models import (
    Build,
    Conversation,
    Deployment,
    Document,
    DocumentVersion,
    Message,
    Project,
    Repository,
)

REPLY_LINKS = importlib.import_module(
    "project_architect_db.migration.versions.20261207_0002_reply_links"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Dataset:
    projects: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    repositories: list[dict[str, Any]] = field(default_factory=list)
    builds: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)


def _at(rng: random.Random, span_days: int = 58) -> datetime:
    return START + timedelta(seconds=rng.randrange(span_days * 86_400))


def generate(seed: int = 7) -> Dataset:
    rng = random.Random(seed)
    data = Dataset()
    statuses = ["draft", "active", "paused", "completed"]
    phases = ["requirements", "architecture", "design", "implementation"]
    for p in range(6):
        created = _at(rng)
        project = {
            "id": uuid.uuid4(),
            "name": f"Project {p}",
            "slug": f"project-{p}",
            "status": statuses[p % 4],
            "phase": phases[(p * 3) % 4],
            "tags": [],
            "tech_stack": [],
            "architecture": {"database": ["postgresql", "duckdb"][p % 2], "cloud": "aws"},
            "metadata_": {},
            "created_at": created,
            "updated_at": created,
            "version": 1,
        }
        data.projects.append(project)
        for c in range(rng.randrange(1, 4)):
            conv_created = _at(rng)
            conv = {
                "id": uuid.uuid4(),
                "project_id": project["id"],
                "title": f"c{c}",
                "phase": rng.choice(phases),
                "status": "active",
                "message_count": 0,
                "metadata_": {},
                "created_at": conv_created,
                "updated_at": conv_created,
            }
            at = conv_created
            n = rng.randrange(2, 12)
            for seq in range(1, n + 1):
                at = at + timedelta(seconds=rng.randrange(5, 4000))
                data.messages.append(
                    {
                        "id": uuid.uuid4(),
                        "conversation_id": conv["id"],
                        "project_id": project["id"],
                        "sequence": seq,
                        "role": rng.choice(["user", "assistant", "assistant", "system"]),
                        "content": "x",
                        "type": "text",
                        "token_count": rng.randrange(0, 500),
                        "metadata_": {},
                        "created_at": at,
                    }
                )
            conv["message_count"] = n
            conv["last_message_at"] = at
            data.conversations.append(conv)
        for d in range(rng.randrange(1, 4)):
            created = _at(rng, 30)
            versions = rng.randrange(1, 5)
            doc_id = uuid.uuid4()
            updated = created
            for v in range(1, versions + 1):
                previous = None if v == 1 else updated  # the writes keep the one before's
                updated = updated + timedelta(days=rng.randrange(0, 8), seconds=rng.randrange(999))
                data.versions.append(
                    {
                        "id": uuid.uuid4(),
                        "document_id": doc_id,
                        "project_id": project["id"],
                        "version": v,
                        "title": "t",
                        "content": "c",
                        "content_hash": "0" * 64,
                        "size_bytes": rng.randrange(10, 5000),
                        "created_at": updated,
                        "previous_created_at": previous,
                    }
                )
            data.documents.append(
                {
                    "id": doc_id,
                    "project_id": project["id"],
                    "path": f"docs/{d}.md",
                    "title": "t",
                    "doc_type": rng.choice(["spec", "adr", "readme"]),
                    "content": "c",
                    "content_hash": "0" * 64,
                    "size_bytes": rng.randrange(10, 100_000),
                    "metadata_": {},
                    "created_at": created,
                    "updated_at": updated,
                    "version": versions,
                }
            )
        for r in range(rng.randrange(0, 3)):
            repo = {
                "id": uuid.uuid4(),
                "project_id": project["id"],
                "provider": "github",
                "owner": "o",
                "name": f"r{p}{r}",
                "url": f"https://github.com/o/r{p}{r}",
                "default_branch": "main",
                "visibility": "private",
                "stars": 0,
                "forks": 0,
                "open_issues": 0,
                "metadata_": {},
                "created_at": START,
                "updated_at": START,
                "version": 1,
            }
            data.repositories.append(repo)
            for _ in range(rng.randrange(3, 15)):
                started = _at(rng)
                status = rng.choice(["success", "success", "failure", "cancelled", "running"])
                dur = None if status == "running" else float(rng.randrange(30, 900))
                data.builds.append(
                    {
                        "id": uuid.uuid4(),
                        "repository_id": repo["id"],
                        "project_id": project["id"],
                        "status": status,
                        "commit_sha": "abcdef1",
                        "branch": "main",
                        "started_at": started,
                        "finished_at": None if dur is None else started + timedelta(seconds=dur),
                        "duration_seconds": dur,
                        "trigger": "push",
                        "created_at": started,
                    }
                )
            for _ in range(rng.randrange(1, 8)):
                started = _at(rng)
                finished = started + timedelta(seconds=rng.randrange(10, 600))
                incident = rng.random() < 0.3
                status = rng.choice(["success", "success", "failure"])
                data.deployments.append(
                    {
                        "id": uuid.uuid4(),
                        "repository_id": repo["id"],
                        "project_id": project["id"],
                        "build_id": None,
                        "environment": rng.choice(["staging", "production"]),
                        "status": status,
                        "commit_sha": "abcdef1",
                        "started_at": started,
                        "finished_at": finished,
                        "duration_seconds": None,
                        "commit_at": started - timedelta(seconds=rng.randrange(60, 90_000)),
                        "caused_incident": incident,
                        "restored_at": finished + timedelta(seconds=rng.randrange(60, 9000))
                        if incident and rng.random() < 0.8
                        else None,
                        "created_at": started,
                    }
                )
    return data


async def load(db: Database, data: Dataset) -> None:
    async with db.transaction() as tx:
        for model, rows in (
            (Project, data.projects),
            (Conversation, data.conversations),
            (Message, data.messages),
            (Document, data.documents),
            (DocumentVersion, data.versions),
            (Repository, data.repositories),
            (Build, data.builds),
            (Deployment, data.deployments),
        ):
            if rows:
                # the table, not the model: ORM inserts would reset version columns to 1
                table = model.__table__
                assert isinstance(table, Table)
                await tx.session.execute(insert(table), rows)
        # rows inserted past the repositories: fill the reply links as a bulk load must
        for statement in (REPLY_LINKS.BACKFILL_ASKED_AT, REPLY_LINKS.BACKFILL_AWAITING):
            await tx.session.execute(text(statement))


@pytest.fixture
async def loaded(database: Database) -> tuple[Database, Dataset]:
    data = generate()
    await load(database, data)
    return database, data
