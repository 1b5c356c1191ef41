"""Every model round-trips through a sync ORM Session on DuckDB (a file and :memory:)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

import project_architect_db.models as models
from project_architect_db.models import (
    Base,
    Build,
    Conversation,
    Deployment,
    DeploymentEnvironment,
    Message,
    MessageRole,
    MessageType,
    Project,
    ProjectStatus,
)

TABLES = {
    "attachments",
    "builds",
    "conversations",
    "deployments",
    "document_versions",
    "documents",
    "messages",
    "projects",
    "repositories",
}


def test_models_all_is_sorted_and_every_name_exists() -> None:
    assert models.__all__ == sorted(models.__all__)
    assert all(hasattr(models, name) for name in models.__all__)


def test_create_all_makes_every_table(engine: sa.Engine) -> None:
    assert set(sa.inspect(engine).get_table_names()) == TABLES


def test_create_all_is_idempotent(engine: sa.Engine) -> None:
    Base.metadata.create_all(engine)

    assert set(sa.inspect(engine).get_table_names()) == TABLES


def test_every_model_round_trips_a_row(session: Session, rows: dict[str, Any]) -> None:
    for row in rows.values():
        model = type(row)
        loaded = session.get(model, row.id)
        assert loaded is not None, model.__name__
        assert loaded.id == row.id
        assert loaded.id.version == 7


def test_timestamps_come_back_aware_utc(session: Session, rows: dict[str, Any]) -> None:
    build = session.get_one(Build, rows["build"].id)
    project = session.get_one(Project, rows["project"].id)

    assert build.started_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert build.started_at.tzinfo is UTC
    assert project.created_at.tzinfo is UTC
    assert project.created_at == project.updated_at
    assert abs(datetime.now(UTC) - project.created_at) < timedelta(minutes=1)


def test_timestamps_in_other_zones_are_stored_as_the_same_instant(session: Session) -> None:
    tokyo = timezone(timedelta(hours=9))
    project = Project(name="Zoned", slug="zoned", created_at=datetime(2025, 1, 1, 9, tzinfo=tokyo))
    session.add(project)
    session.commit()

    stored = session.execute(sa.text("SELECT created_at FROM projects")).scalar_one()

    assert stored == datetime(2025, 1, 1, 0, 0)  # naive UTC in the TIMESTAMP column
    assert session.get_one(Project, project.id).created_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_updated_at_and_version_move_on_update(session: Session, rows: dict[str, Any]) -> None:
    project = session.get_one(Project, rows["project"].id)
    created_at = project.created_at

    project.slug = "atlas-renamed"
    session.commit()

    assert project.version == 2
    assert project.created_at == created_at
    assert project.updated_at > created_at


def test_lists_round_trip_and_list_contains_finds_them(
    session: Session, rows: dict[str, Any]
) -> None:
    project = session.get_one(Project, rows["project"].id)
    tagged = session.scalars(
        sa.select(Project.slug).where(sa.func.list_contains(Project.tags, "saas"))
    ).all()
    untagged = session.scalars(
        sa.select(Project.slug).where(sa.func.list_contains(Project.tags, "mobile"))
    ).all()

    assert project.tags == ["api", "saas"]
    assert project.tech_stack == ["duckdb"]
    assert tagged == ["atlas"]
    assert untagged == []


def test_nested_json_round_trips(session: Session) -> None:
    architecture = {"services": [{"name": "api", "ports": [80, 443], "tls": True}], "db": None}
    project = Project(
        name="Json", slug="json", architecture=architecture, metadata_={"a": {"b": {"c": 1.5}}}
    )
    session.add(project)
    session.commit()
    session.expire_all()

    loaded = session.get_one(Project, project.id)

    assert loaded.architecture == architecture
    assert loaded.metadata_ == {"a": {"b": {"c": 1.5}}}


def test_json_column_is_named_metadata_in_the_database(engine: sa.Engine) -> None:
    columns = {column["name"] for column in sa.inspect(engine).get_columns("projects")}

    assert "metadata" in columns
    assert Project.__table__.c.metadata_.name == "metadata"


def test_defaults_fill_enums_counters_and_json(session: Session, rows: dict[str, Any]) -> None:
    project = session.get_one(Project, rows["project"].id)
    message = session.get_one(Message, rows["message"].id)
    conversation = session.get_one(Conversation, rows["conversation"].id)

    assert project.status is ProjectStatus.DRAFT
    assert project.metadata_ == {}
    assert project.architecture == {}
    assert message.type is MessageType.TEXT
    assert message.token_count == 0
    assert conversation.message_count == 0


def test_relationships_navigate_without_foreign_keys(
    session: Session, rows: dict[str, Any]
) -> None:
    project = session.scalars(
        sa.select(Project).options(
            selectinload(Project.conversations).selectinload(Conversation.messages)
        )
    ).one()
    deployment = session.get_one(Deployment, rows["deployment"].id)

    assert [c.title for c in project.conversations] == ["Kick-off"]
    assert project.conversations[0].messages[0].content == "Which database?"
    assert deployment.build is not None
    assert deployment.build.commit_sha == "abcdef1"
    assert deployment.repository.url == "https://github.com/acme/atlas"
    assert [d.environment for d in project.deployments] == [DeploymentEnvironment.PRODUCTION]


def test_relationships_support_joins(session: Session, rows: dict[str, Any]) -> None:
    slugs = session.scalars(
        sa.select(Project.slug).join(Project.messages).where(Message.role == MessageRole.USER)
    ).all()

    assert slugs == ["atlas"]


def test_ids_are_assigned_at_construction(session: Session) -> None:
    project = Project(name="Early", slug="early")
    conversation = Conversation(project_id=project.id)

    assert isinstance(project.id, uuid.UUID)
    assert conversation.project_id == project.id


def test_core_insert_without_id_gets_a_uuid7_and_timestamps(session: Session) -> None:
    session.execute(sa.insert(Project).values(name="Core", slug="core"))

    row = session.execute(sa.select(Project.id, Project.created_at, Project.updated_at)).one()

    assert row.id.version == 7
    assert row.created_at == row.updated_at
