"""Fixtures for the model tests: a DuckDB engine per test (file and :memory:) and sample rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from project_architect_db.models import (
    Attachment,
    Base,
    Build,
    BuildStatus,
    Conversation,
    Deployment,
    DeploymentEnvironment,
    Document,
    DocumentVersion,
    Message,
    MessageRole,
    Project,
    Repository,
)


@pytest.fixture(params=["file", "memory"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        f"duckdb:///{tmp_path / 'models.duckdb'}"
        if request.param == "file"
        else "duckdb:///:memory:"
    )
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def rows(session: Session) -> dict[str, Any]:
    """One committed row of every model, linked as the repositories would link them."""
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    project = Project(name="Atlas", slug="atlas", tags=["api", "saas"], tech_stack=["duckdb"])
    conversation = Conversation(project_id=project.id, title="Kick-off")
    message = Message(
        conversation_id=conversation.id,
        project_id=project.id,
        sequence=1,
        role=MessageRole.USER,
        content="Which database?",
    )
    attachment = Attachment(
        message_id=message.id,
        conversation_id=conversation.id,
        project_id=project.id,
        url="https://files.example.com/a.png",
        file_type="image/png",
        size_bytes=3_000_000_000,  # > 2**31: the column is BIGINT
    )
    document = Document(
        project_id=project.id,
        path="docs/adr/0001.md",
        title="Use DuckDB",
        content="# ADR",
        content_hash="0" * 64,
        size_bytes=5,
    )
    version = DocumentVersion(
        document_id=document.id,
        project_id=project.id,
        version=1,
        title="Use DuckDB",
        content="# ADR",
        content_hash="0" * 64,
        size_bytes=5,
    )
    repository = Repository(
        project_id=project.id, owner="acme", name="atlas", url="https://github.com/acme/atlas"
    )
    build = Build(
        repository_id=repository.id,
        project_id=project.id,
        status=BuildStatus.SUCCESS,
        commit_sha="abcdef1",
        branch="main",
        started_at=at,
        finished_at=at + timedelta(seconds=90),
        duration_seconds=90.0,
    )
    deployment = Deployment(
        repository_id=repository.id,
        project_id=project.id,
        build_id=build.id,
        environment=DeploymentEnvironment.PRODUCTION,
        commit_sha="abcdef1",
        commit_at=at - timedelta(hours=3),
        caused_incident=True,
        restored_at=at + timedelta(hours=1),
    )
    rows = {
        "project": project,
        "conversation": conversation,
        "message": message,
        "attachment": attachment,
        "document": document,
        "version": version,
        "repository": repository,
        "build": build,
        "deployment": deployment,
    }
    session.add_all(rows.values())
    session.commit()
    session.expire_all()
    return rows
