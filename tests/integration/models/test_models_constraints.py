"""What the database itself refuses: bad enums, negative counts, duplicates, stale versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from project_architect_db.exceptions import ValidationError
from project_architect_db.models import (
    NAMING_CONVENTION,
    Base,
    Document,
    DocumentVersion,
    Message,
    MessageRole,
    Project,
    Repository,
)


def test_naive_datetime_is_refused_on_bind(session: Session) -> None:
    session.add(Project(name="Naive", slug="naive", created_at=datetime(2025, 1, 1)))

    with pytest.raises(sa_exc.StatementError) as caught:
        session.flush()

    assert isinstance(caught.value.orig, ValidationError)
    assert "timezone-aware" in str(caught.value.orig)


def test_schema_has_no_foreign_keys(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)

    assert all(not inspector.get_foreign_keys(table) for table in Base.metadata.tables)
    assert all(not table.foreign_keys for table in Base.metadata.tables.values())


def test_check_constraint_rejects_a_bad_enum_value_from_raw_sql(engine: sa.Engine) -> None:
    with engine.connect() as connection, pytest.raises(sa_exc.IntegrityError, match="CHECK"):
        connection.execute(
            sa.text(
                "INSERT INTO messages (id, conversation_id, project_id, sequence, role, content, "
                "type, token_count, metadata, created_at) VALUES (uuid(), uuid(), uuid(), 1, "
                "'robot', 'hi', 'text', 0, '{}', TIMESTAMP '2025-01-01')"
            )
        )


def test_check_constraint_rejects_a_negative_count_from_raw_sql(engine: sa.Engine) -> None:
    with engine.connect() as connection, pytest.raises(sa_exc.IntegrityError, match="CHECK"):
        connection.execute(
            sa.text(
                "INSERT INTO messages (id, conversation_id, project_id, sequence, role, content, "
                "type, token_count, metadata, created_at) VALUES (uuid(), uuid(), uuid(), 1, "
                "'user', 'hi', 'text', -1, '{}', TIMESTAMP '2025-01-01')"
            )
        )


def test_orm_refuses_an_unknown_enum_value_before_sql(session: Session) -> None:
    session.add(Project(name="Bad", slug="bad", status="bogus"))

    with pytest.raises(sa_exc.StatementError, match="bogus"):
        session.flush()


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (Project, lambda rows: Project(name="Other", slug="atlas")),
        (
            Document,
            lambda rows: Document(
                project_id=rows["project"].id,
                path="docs/adr/0001.md",
                title="Copy",
                content="",
                content_hash="0" * 64,
                size_bytes=0,
            ),
        ),
        (
            Message,
            lambda rows: Message(
                conversation_id=rows["conversation"].id,
                project_id=rows["project"].id,
                sequence=1,
                role=MessageRole.ASSISTANT,
                content="duplicate sequence",
            ),
        ),
        (
            DocumentVersion,
            lambda rows: DocumentVersion(
                document_id=rows["document"].id,
                project_id=rows["project"].id,
                version=1,
                title="t",
                content="",
                content_hash="0" * 64,
                size_bytes=0,
            ),
        ),
        (
            Repository,
            lambda rows: Repository(
                project_id=rows["project"].id,
                owner="acme",
                name="fork",
                url="https://github.com/acme/atlas",
            ),
        ),
    ],
    ids=["project-slug", "document-path", "message-sequence", "document-version", "repo-url"],
)
def test_unique_indexes_reject_duplicates(
    session: Session, rows: dict[str, Any], model: type[Base], make: Any
) -> None:
    session.add(make(rows))

    with pytest.raises(sa_exc.IntegrityError, match="Duplicate key"):
        session.commit()


def test_same_document_path_is_allowed_in_another_project(
    session: Session, rows: dict[str, Any]
) -> None:
    other = Project(name="Other", slug="other")
    session.add_all(
        [
            other,
            Document(
                project_id=other.id,
                path=rows["document"].path,
                title="Same path",
                content="",
                content_hash="0" * 64,
                size_bytes=0,
            ),
        ]
    )

    session.commit()

    assert session.scalar(sa.select(sa.func.count()).select_from(Document)) == 2


def test_a_stale_version_raises_stale_data_error(engine: sa.Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        project = Project(name="Locked", slug="locked")
        session.add(project)
        session.commit()
        with engine.begin() as other:  # another writer commits version 2 first
            other.execute(sa.text("UPDATE projects SET version = version + 1"))

        project.name = "Mine"
        with pytest.raises(StaleDataError):
            session.commit()


def test_reflected_constraint_names_match_the_metadata(engine: sa.Engine) -> None:
    # DuckDB ignores CONSTRAINT names and generates <table>_<columns>_<kind>; the naming
    # convention produces the same names, so Alembic's autogenerate sees no difference.
    inspector = sa.inspect(engine)
    # An enum's CHECK is named by the convention only when DDL is compiled: ask the compiler.
    name_of = engine.dialect.identifier_preparer.format_constraint
    assert NAMING_CONVENTION["ck"] == "%(table_name)s_%(column_0_N_name)s_check"

    for table in Base.metadata.sorted_tables:
        expected_checks = {
            name_of(c) for c in table.constraints if isinstance(c, sa.CheckConstraint)
        }
        reflected_checks = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert reflected_checks == expected_checks, table.name
        assert inspector.get_pk_constraint(table.name)["name"] == table.primary_key.name
        assert {i["name"] for i in inspector.get_indexes(table.name)} == {
            str(i.name) for i in table.indexes
        }
